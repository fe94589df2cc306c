// Benchmark: time from ACCEPT (LAUNCH) to TASK_RUNNING for host-network tasks through the whole
// control plane (scheduler library -> master -> agent -> Mesos containerizer -> supervisor ->
// task), beside the raw floor (spawning the same command and waiting until it runs), p50 and p95
// over sequential launches, and 20 launches at once. Prints figures; asserts nothing.
//
//   npm run bench -w @ippc/master            (N=50 by default; BENCH_N=100 to change)
import { spawn } from 'node:child_process';
import { connectScheduler, type Scheduler } from '@ippc/scheduler';
import { startBenchCluster } from './cluster.js';

const N = Number(process.env.BENCH_N ?? 50);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

async function floor(): Promise<number> {
  const t0 = performance.now();
  const child = spawn('/bin/sh', ['-c', 'echo ready; exec sleep 600'], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  const ms = performance.now() - t0;
  child.kill('SIGKILL');
  return ms;
}

async function launchOne(s: Scheduler, name: string): Promise<{ ms: number; id: string }> {
  const [offer] = await s.awaitOffers({ timeoutMs: 30_000 });
  const task = s.taskFromOffer(offer!, { name, command: 'exec sleep 600', cpus: 0.01, mem: 1 });
  const t0 = performance.now();
  await s.launch(offer!, [task], { refuseSeconds: 0 });
  await s.waitForState(task.taskId!.value!, 'TASK_RUNNING', 30_000);
  return { ms: performance.now() - t0, id: task.taskId!.value! };
}

const cluster = await startBenchCluster();
let s: Scheduler | undefined;
try {
  const { address, token } = cluster;
  s = await connectScheduler({ master: address, auth: { token }, framework: { name: 'bench' } });

  const floors: number[] = [];
  for (let i = 0; i < N; i++) floors.push(await floor());
  const plane: number[] = [];
  for (let i = 0; i < N; i++) {
    const { ms, id } = await launchOne(s, `seq-${i}`);
    plane.push(ms);
    await s.kill(id);
    await s.waitForState(id, 'TASK_KILLED', 30_000);
  }
  // Every outstanding offer (they are all of the one agent) in one ACCEPT; each task takes a slice.
  await new Promise((r) => setTimeout(r, 500));
  const offers = await s.awaitOffers({ timeoutMs: 30_000 });
  const pool = offers.flatMap((o) => o.resources);
  const tasks = Array.from({ length: 20 }, (_, i) => s!.taskFromOffer(offers[0]!, { name: `par-${i}`, command: 'exec sleep 600', cpus: 0.01, mem: 1 }, pool));
  const t0 = performance.now();
  await s.launch(offers, tasks, { refuseSeconds: 0 });
  await Promise.all(tasks.map((t) => s!.waitForState(t.taskId!.value!, 'TASK_RUNNING', 60_000)));
  const parallel = performance.now() - t0;
  const t1 = performance.now();
  await Promise.all(Array.from({ length: 20 }, () => floor()));
  const parallelFloor = performance.now() - t1;
  for (const t of tasks) await s.kill(t.taskId!.value!);

  console.log(`launch -> TASK_RUNNING, host-network task, ${N} sequential launches`);
  console.log(`                        p50          p95`);
  console.log(`  control plane     ${fmt(pct(plane, 50)).padStart(10)}   ${fmt(pct(plane, 95)).padStart(10)}`);
  console.log(`  raw spawn floor   ${fmt(pct(floors, 50)).padStart(10)}   ${fmt(pct(floors, 95)).padStart(10)}`);
  console.log(
    `  ratio             ${(pct(plane, 50) / pct(floors, 50)).toFixed(1).padStart(9)}x   ${(pct(plane, 95) / pct(floors, 95)).toFixed(1).padStart(9)}x`,
  );
  console.log(`20 launches at once: control plane ${fmt(parallel)}, raw spawn ${fmt(parallelFloor)} (${(parallel / parallelFloor).toFixed(1)}x)`);
} finally {
  await s?.close();
  await cluster.stop();
}
