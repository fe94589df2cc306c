import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuthConfig } from '@ippc/core';
import { AGENT_BIN, eventually, getJson, MASTER_BIN, run, waitForLog } from '../testing/processes.js';

// The benches' cluster: the real `ippc-master` and one real `ippc-agent` (host-network tasks) as
// processes on loopback with a fresh token, their logs in a scratch folder removed by `stop()`
// (kept with BENCH_KEEP=1).

export interface BenchCluster {
  /** `host:port` (gRPC and HTTP). */
  address: string;
  url: string;
  token: string;
  auth: AuthConfig;
  masterPid: number;
  stop(): Promise<void>;
}

export async function startBenchCluster(options: { heartbeat?: string } = {}): Promise<BenchCluster> {
  const dir = mkdtempSync('/tmp/cp-bench-');
  const token = randomBytes(16).toString('hex');
  writeFileSync(join(dir, 'token'), token);
  const master = run(
    MASTER_BIN,
    [
      '--port=0',
      `--token_file=${join(dir, 'token')}`,
      '--allocation_interval=100ms',
      ...(options.heartbeat ? [`--framework_heartbeat_interval=${options.heartbeat}`] : []),
    ],
    join(dir, 'master.log'),
  );
  let agent: ReturnType<typeof run> | undefined;
  const stop = async () => {
    agent?.proc.kill('SIGUSR1');
    await Promise.race([agent?.exited, new Promise((r) => setTimeout(r, 10_000))]);
    agent?.proc.kill('SIGKILL');
    master.proc.kill('SIGKILL');
    if (process.env.BENCH_KEEP) console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  };
  try {
    const address = (await waitForLog(master, /"address":"(127\.0\.0\.1:\d+)"/))[1]!;
    agent = run(
      AGENT_BIN,
      [
        `--master=${address}`,
        '--ip=127.0.0.2',
        '--port=0',
        `--work_dir=${join(dir, 'a')}`,
        '--resources=cpus:8;mem:4096;ports:[31000-31099]',
        `--token_file=${join(dir, 'token')}`,
        '--executor_shutdown_grace_period=0secs',
      ],
      join(dir, 'agent.log'),
    );
    await eventually(
      async () => ((await getJson<{ activated_slaves: number }>(`http://${address}/master/state`)).activated_slaves === 1 ? true : undefined),
      'the agent',
    );
    return { address, url: `http://${address}`, token, auth: { token }, masterPid: master.proc.pid!, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
