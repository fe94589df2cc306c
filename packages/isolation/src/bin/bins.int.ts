// ippc-isolation-server as a real process: readiness line, gRPC on a unix socket, metrics and
// health over HTTP, state kept across a restart, refusal to start without a token.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createIsolationClient } from '../client.js';
import { packageBin } from '@ippc/core/testing';
import { PACKAGE_DIR } from '../testing/paths.js';

const SERVER_BIN_PATH = packageBin('@ippc/isolation', 'ippc-isolation-server');

function start(args: string[]): { child: ChildProcess; ready: Promise<{ port: number; metricsPort: number }>; output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER_BIN_PATH, ...args], { cwd: PACKAGE_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const ready = new Promise<{ port: number; metricsPort: number }>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{"ready":true'));
      if (line) resolve(JSON.parse(line) as { port: number; metricsPort: number });
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
  });
  return { child, ready, output: () => out };
}

const stop = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });

describe('ippc-isolation-server (process)', () => {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('serves gRPC, metrics and health, keeps its state across a restart, stops on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iso-bin-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const address = `unix:${join(dir, 'isolation.sock')}`;
    const args = ['--listen', address, '--metrics-listen', '127.0.0.1:0', '--data-file', join(dir, 'state.json'), '--token', 'sekret'];
    const first = start(args);
    cleanups.push(() => stop(first.child));
    const { metricsPort } = await first.ready;
    const client = createIsolationClient({ address, auth: { token: 'sekret' } });
    cleanups.push(() => client.close());
    await client.registerAgent({ id: 'a1', nodeAddresses: ['10.240.0.11'], subnets: ['10.240.1.0/24'] });
    await client.addRule({ id: 'kept', from: 'web', to: 'db', ports: [5432] });
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(metrics, /ippc_isolation_rules\{component="isolation"\} 1/);
    assert.match(metrics, /ippc_isolation_agents\{connected="false",component="isolation"\} 1/);
    const health = (await (await fetch(`http://127.0.0.1:${metricsPort}/health`)).json()) as { status: string; revision: number };
    assert.deepEqual([health.status, health.revision], ['ok', 2]);
    assert.equal(await stop(first.child), 0);
    const second = start(args);
    cleanups.push(() => stop(second.child));
    await second.ready;
    assert.deepEqual((await client.listRules()).map((r) => r.id), ['kept']);
    assert.deepEqual((await client.listAgents()).agents.map((a) => a.id), ['a1']);
  });

  it('refuses to start without a token, saying how to give one', async () => {
    const env = { ...process.env };
    delete env.IPPC_TOKEN;
    const child = spawn(process.execPath, ['--import', 'tsx', SERVER_BIN_PATH, '--listen', '127.0.0.1:0', '--metrics-listen', 'off'], { cwd: PACKAGE_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 1);
    assert.match(err, /no cluster token: pass --token, set IPPC_TOKEN, or --no-auth/);
  });
});
