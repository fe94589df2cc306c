// Benchmark of Mesos's scheduler HTTP API beside ippc's gRPC framework API, on one master process
// in one run. Prints figures and ratios; asserts nothing.
//
//   npm run bench:http -w @ippc/master      (BENCH_N=50 launches per side, BENCH_UPDATES=20000, BENCH_FRAMEWORKS=50)
//
// 1. ACCEPT (LAUNCH) -> TASK_RUNNING of a host-network task through a real agent, the two APIs
//    interleaved launch by launch (so machine noise hits both alike): p50, p95 and the ratio.
// 2. UPDATE events to one framework: a stand-in agent on the agents' gRPC channel sends
//    BENCH_UPDATES status updates as fast as the stream takes them; events per second received by
//    an HTTP framework and by a gRPC framework (one after the other), and how many were lost.
// 3. BENCH_FRAMEWORKS HTTP frameworks subscribed at once with 1 s heartbeats for 10 s: heartbeats
//    each received, and the master's RSS and CPU over those 10 s.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { clientOptions, summarize, type AuthConfig } from '@ippc/core';
import { parseResources, subtractResources } from '@ippc/mesos';
import { agentv1, TaskState, TaskStatus_Source, type Offer, type TaskInfo } from '@ippc/proto';
import { connectScheduler, taskFromOffer, type Scheduler } from '@ippc/scheduler';
import { subscribeHttpFramework, type HttpFramework } from '../testing/http-framework.js';
import { startBenchCluster, type BenchCluster } from './cluster.js';

const N = Number(process.env.BENCH_N ?? 50);
const UPDATES = Number(process.env.BENCH_UPDATES ?? 20_000);
const FRAMEWORKS = Number(process.env.BENCH_FRAMEWORKS ?? 50);
const f1 = (x: number) => x.toFixed(1).padStart(9);

async function httpLaunch(fw: HttpFramework, name: string): Promise<{ ms: number; id: string }> {
  const offer = await fw.takeOffer();
  const task = taskFromOffer(offer, { name, command: 'exec sleep 600', cpus: 0.01, mem: 1 });
  const id = task.taskId!.value!;
  const running = fw.next((e) => e.type === 'UPDATE' && e.update.status.task_id.value === id && e.update.status.state === 'TASK_RUNNING');
  const t0 = performance.now();
  await fw.launch([offer], [task]);
  await running;
  return { ms: performance.now() - t0, id };
}

async function grpcLaunch(s: Scheduler, name: string): Promise<{ ms: number; id: string }> {
  const [offer] = await s.awaitOffers({ timeoutMs: 30_000 });
  const task = s.taskFromOffer(offer!, { name, command: 'exec sleep 600', cpus: 0.01, mem: 1 });
  const t0 = performance.now();
  await s.launch(offer!, [task], { refuseSeconds: 0 });
  await s.waitForState(task.taskId!.value!, 'TASK_RUNNING', 30_000);
  return { ms: performance.now() - t0, id: task.taskId!.value! };
}

/** Part 1: launches through both APIs, interleaved. */
async function launches(fw: HttpFramework, s: Scheduler): Promise<void> {
  const http: number[] = [];
  const rpc: number[] = [];
  for (let i = 0; i < N; i++) {
    for (const side of i % 2 === 0 ? ['http', 'grpc'] : ['grpc', 'http']) {
      const r = side === 'http' ? await httpLaunch(fw, `h-${i}`) : await grpcLaunch(s, `g-${i}`);
      (side === 'http' ? http : rpc).push(r.ms);
      if (side === 'http') await fw.call({ type: 'KILL', kill: { task_id: { value: r.id } } });
      else await s.kill(r.id);
    }
  }
  const h = summarize(http);
  const g = summarize(rpc);
  console.log(`\n1. ACCEPT -> TASK_RUNNING, host-network task, real agent, ${N} launches per API, interleaved`);
  console.log(`${''.padEnd(24)}${'p50 ms'.padStart(9)}${'p95 ms'.padStart(9)}`);
  console.log(`${'scheduler HTTP API'.padEnd(24)}${f1(h.p50)}${f1(h.p95)}`);
  console.log(`${'gRPC framework API'.padEnd(24)}${f1(g.p50)}${f1(g.p95)}`);
  console.log(
    `${'ratio HTTP / gRPC'.padEnd(24)}${(h.p50 / g.p50).toFixed(2).padStart(8)}x${(h.p95 / g.p95).toFixed(2).padStart(8)}x   (target: p50 at most 1.10x)`,
  );
}

/** A stand-in agent on the master's agents channel: registers, then sends what it is told. */
async function standInAgent(address: string, auth: AuthConfig) {
  const client = new agentv1.AgentsClient(address, grpc.credentials.createInsecure(), clientOptions(auth));
  const stream = client.connect();
  const registered = new Promise<string>((resolve) =>
    stream.on('data', (m: agentv1.MasterMessage) => m.message?.$case === 'agentRegistered' && resolve(m.message.value.agentId!.value!)),
  );
  stream.write({
    message: {
      $case: 'registerAgent',
      value: {
        agent: { hostname: 'stand-in', resources: parseResources('cpus:1000;mem:1000000'), attributes: [] },
        version: 'bench',
        pid: 'slave(1)@127.0.0.9:5051',
      },
    },
  });
  const agentId = await registered;
  /** Sends `n` RUNNING updates round robin over `tasks`, waiting for the stream to drain when it asks. */
  const pump = async (frameworkId: string, tasks: string[], n: number) => {
    for (let i = 0; i < n; i++) {
      const ok = stream.write({
        message: {
          $case: 'statusUpdate',
          value: {
            frameworkId: { value: frameworkId },
            status: {
              taskId: { value: tasks[i % tasks.length]! },
              state: TaskState.TASK_RUNNING,
              source: TaskStatus_Source.SOURCE_EXECUTOR,
              uuid: randomBytes(16),
              timestamp: Date.now() / 1000,
            },
          },
        },
      });
      if (!ok) await new Promise((r) => stream.once('drain', r));
    }
  };
  return { agentId, pump, close: () => (stream.end(), client.close()) };
}

/** One small task per id on `offer`, each taking its slice of what is left. */
function taskSlices(offer: Offer, ids: string[]): TaskInfo[] {
  let left = offer.resources;
  return ids.map((id) => {
    const t = taskFromOffer(offer, { name: id, id, command: 'true', cpus: 0.01, mem: 1 }, left);
    left = subtractResources(left, t.resources);
    return t;
  });
}

/** Events per second one framework receives; `received` counts UPDATEs so far. */
async function measureUpdates(label: string, pump: () => Promise<void>, received: () => number): Promise<void> {
  const start = received();
  const t0 = performance.now();
  await pump();
  const end = performance.now() + 60_000;
  while (received() - start < UPDATES && performance.now() < end) await new Promise((r) => setTimeout(r, 5));
  const seconds = (performance.now() - t0) / 1000;
  const got = received() - start;
  console.log(`${label.padEnd(24)}${f1(got / seconds)} events/s   ${got} of ${UPDATES} in ${seconds.toFixed(2)} s, lost ${UPDATES - got}`);
}

/**
 * Part 2: UPDATE throughput to one HTTP and one gRPC framework of their own that do not acknowledge
 * (the stand-in agent does not wait for acknowledgements), the other frameworks suppressed.
 */
async function updates(cluster: BenchCluster, others: { fw: HttpFramework; s: Scheduler }): Promise<void> {
  const agent = await standInAgent(cluster.address, cluster.auth);
  const fw = await subscribeHttpFramework(cluster.url, 'updates-http', cluster.token, { acknowledge: false });
  const s = await connectScheduler({ master: cluster.address, auth: cluster.auth, framework: { name: 'updates-grpc' }, implicitAcknowledgements: false });
  try {
    await others.s.suppress();
    await others.s.decline([...others.s.offers.keys()], 0);
    await others.fw.call({ type: 'SUPPRESS' });
    await others.fw.declineAll();
    console.log(`\n2. UPDATE events to one framework, ${UPDATES} status updates from a stand-in agent as fast as it can send`);
    // Each framework launches 100 tasks on the stand-in agent, so the master knows them; offers
    // go to one framework at a time, so the gRPC one steps aside while the HTTP one takes its offer.
    await s.suppress();
    await s.decline([...s.offers.keys()], 0);
    const offer = await fw.takeOffer((o) => o.agentId?.value === agent.agentId);
    const ids = Array.from({ length: 100 }, () => `u-${randomUUID().slice(0, 8)}`);
    await fw.launch([offer], taskSlices(offer, ids));
    let httpUpdates = 0;
    fw.onEvent((e) => e.type === 'UPDATE' && httpUpdates++);
    await measureUpdates(
      'scheduler HTTP API',
      () => agent.pump(fw.frameworkId, ids, UPDATES),
      () => httpUpdates,
    );
    await fw.call({ type: 'SUPPRESS' });
    await fw.declineAll();
    await s.revive();
    const [gOffer] = await s.awaitOffers({ timeoutMs: 30_000, filter: (o) => o.agentId?.value === agent.agentId });
    const gIds = Array.from({ length: 100 }, () => `v-${randomUUID().slice(0, 8)}`);
    await s.launch(gOffer!, taskSlices(gOffer!, gIds));
    let grpcUpdates = 0;
    s.on((e) => e.type === 'UPDATE' && grpcUpdates++);
    await measureUpdates(
      'gRPC framework API',
      () => agent.pump(s.frameworkId!, gIds, UPDATES),
      () => grpcUpdates,
    );
  } finally {
    fw.close();
    await s.close();
    agent.close();
  }
}

/** The master's RSS (MiB) and CPU seconds so far, from /proc. */
function masterUsage(pid: number): { rssMiB: number; cpuSeconds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { rssMiB: rssKiB / 1024, cpuSeconds: (Number(stat[11]) + Number(stat[12])) / 100 };
}

/** Part 3: many HTTP frameworks subscribed at once, with heartbeats. */
async function manyFrameworks(cluster: BenchCluster): Promise<void> {
  const before = masterUsage(cluster.masterPid);
  const fws = await Promise.all(Array.from({ length: FRAMEWORKS }, (_, i) => subscribeHttpFramework(cluster.url, `many-${i}`, cluster.token)));
  const beats = fws.map(() => 0);
  fws.forEach((fw, i) => fw.onEvent((e) => e.type === 'HEARTBEAT' && beats[i]!++));
  const t0 = masterUsage(cluster.masterPid);
  await new Promise((r) => setTimeout(r, 10_000));
  const t1 = masterUsage(cluster.masterPid);
  for (const fw of fws) fw.close();
  const b = summarize(beats);
  console.log(`\n3. ${FRAMEWORKS} HTTP frameworks subscribed at once, heartbeats every 1 s, for 10 s`);
  console.log(`  heartbeats received per framework: min ${b.min}, p50 ${b.p50}, max ${b.max}`);
  console.log(
    `  master RSS ${before.rssMiB.toFixed(1)} MiB before, ${t1.rssMiB.toFixed(1)} MiB with them; CPU ${(((t1.cpuSeconds - t0.cpuSeconds) / 10) * 100).toFixed(1)} % of a core`,
  );
}

const cluster = await startBenchCluster({ heartbeat: '1secs' });
let fw: HttpFramework | undefined;
let s: Scheduler | undefined;
try {
  fw = await subscribeHttpFramework(cluster.url, 'bench-http', cluster.token);
  s = await connectScheduler({ master: cluster.address, auth: cluster.auth, framework: { name: 'bench-grpc' } });
  await launches(fw, s);
  await updates(cluster, { fw, s });
  await manyFrameworks(cluster);
} finally {
  fw?.close();
  await s?.close();
  await cluster.stop();
}
