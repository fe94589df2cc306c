import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_ETCD_PORTS } from './resources.js';

// A throwaway etcd (Debian's etcd-server) for tests: ports from the ranges this package may use
// (client 127.0.0.1:23790-23799, peer 23800-23809 unless IPPC_TEST_ETCD_PORTS says otherwise; see
// resources.ts), data in a temp dir, killed and removed after.

export interface TestEtcd {
  endpoint: string;
  stop(): Promise<void>;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

export async function startEtcd(): Promise<TestEtcd> {
  const { client: clients, peer: peers } = TEST_ETCD_PORTS;
  for (let i = 0; i < clients.length; i++) {
    const client = clients[i]!;
    const peer = peers[i]!;
    if (!(await portFree(client)) || !(await portFree(peer))) continue;
    const dir = mkdtempSync(join(tmpdir(), 'ipam-etcd-'));
    const child: ChildProcess = spawn(
      'etcd',
      [
        '--name',
        'ipam-test',
        '--data-dir',
        join(dir, 'data'),
        '--listen-client-urls',
        `http://127.0.0.1:${client}`,
        '--advertise-client-urls',
        `http://127.0.0.1:${client}`,
        '--listen-peer-urls',
        `http://127.0.0.1:${peer}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${peer}`,
        '--initial-cluster',
        `ipam-test=http://127.0.0.1:${peer}`,
        '--log-level',
        'error',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const stop = async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    };
    const endpoint = `http://127.0.0.1:${client}`;
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && child.exitCode === null) {
      try {
        const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
        if (res.ok && ((await res.json()) as { health?: string }).health === 'true') return { endpoint, stop };
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await stop();
    if (stderr.includes('address already in use')) continue; // lost a race for the port: next pair
    throw new Error(`etcd did not become healthy on ${endpoint}: ${stderr}`);
  }
  throw new Error(
    `no free etcd port pair in 127.0.0.1:${clients[0]}-${clients.at(-1)} / ${peers[0]}-${peers.at(-1)}: set IPPC_TEST_ETCD_PORTS to a free range`,
  );
}
