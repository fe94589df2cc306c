// Benchmark of executors through the real master and agent (issue 16), sides interleaved in one
// run. Prints figures and ratios; asserts nothing.
//
//   cd packages/node && npm run bench:executors -- [--runs 30] [--cycles 200] [--group 5]
//
// Sides (the order rotates every run so machine noise hits all alike):
//   one task + IP     : LAUNCH of one command task on ippc-bridge -> TASK_RUNNING with its address;
//   group of N + IP   : LAUNCH_GROUP of N tasks on the default executor, the pod on ippc-bridge ->
//                       every task TASK_RUNNING with the pod's one address;
//   2nd group, pod    : LAUNCH_GROUP of one task on a pod that already runs (a nested container:
//                       no network work) -> TASK_RUNNING;
//   2nd task, custom  : LAUNCH of one task on a custom executor that already runs (the shell
//                       executor of @ippc/agent, over the executor API) -> TASK_RUNNING.
// Then `--cycles` pod launch/kill cycles (a group of two each) with a census of the node before
// and after: namespaces, veths, IPAM leases, checkpoints, processes.
//
// Uses node-world (namespace anhost-*, 10.236.0.0/16); removes everything, also on failure.

import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { summarize as stats, type SampleStats } from '@ippc/core';
import { addResources, allocateResources, parseResources, subtractResources } from '@ippc/mesos';
import { ContainerInfo_Type, NetworkInfo_Protocol, type ExecutorInfo, type NetworkInfo, type Offer, type Resource, type TaskStatus } from '@ippc/proto';
import type { Scheduler } from '@ippc/scheduler';
import { createNodeWorld, eventually, type NodeWorld } from '../src/testing/node-world.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '30' },
    cycles: { type: 'string', default: '200' },
    group: { type: 'string', default: '5' },
  },
});
const RUNS = Math.max(10, Number(values.runs));
const CYCLES = Number(values.cycles);
const GROUP = Math.max(2, Number(values.group));
const NETWORK = 'ippc-bridge';
const SHELL_EXECUTOR = join(import.meta.dirname, '..', '..', 'agent', 'executors', 'shell-executor.mjs');

const f = (x: number) => x.toFixed(1).padStart(8);
const row = (label: string, x: SampleStats) => `${label.padEnd(34)}${f(x.p50)}${f(x.p95)}${f(x.mean)}${f(x.min)}${f(x.max)}${String(x.n).padStart(6)}`;
const header = () => `${''.padEnd(34)}${'p50'.padStart(8)}${'p95'.padStart(8)}${'mean'.padStart(8)}${'min'.padStart(8)}${'max'.padStart(8)}${'n'.padStart(6)}`;
const net = (name: string): NetworkInfo => ({ name, groups: [], ipAddresses: [], portMappings: [] });
const v4Of = (st: TaskStatus) =>
  (st.containerStatus?.networkInfos ?? []).flatMap((n) => n.ipAddresses.filter((a) => a.protocol !== NetworkInfo_Protocol.IPv6).map((a) => a.ipAddress!))[0];

interface Bench {
  w: NodeWorld;
  s: Scheduler;
}

/** Every outstanding offer (one agent) and their resources together: freed resources come back in pieces. */
async function offers(b: Bench): Promise<{ offers: Offer[]; first: Offer; resources: Resource[] }> {
  await b.s.awaitOffers({ timeoutMs: 30_000 });
  const all = [...b.s.offers.values()];
  return { offers: all, first: all[0]!, resources: all.reduce<Resource[]>((acc, o) => addResources(acc, o.resources), []) };
}

/** Waits until every id is TASK_RUNNING; resolves the time since `t0` and the addresses they report. */
async function running(b: Bench, ids: string[], t0: number): Promise<{ ms: number; ips: string[] }> {
  const sts = await Promise.all(ids.map((id) => b.s.waitForState(id, 'TASK_RUNNING', 60_000)));
  return { ms: performance.now() - t0, ips: sts.map((st) => v4Of(st) ?? '') };
}

async function killAll(b: Bench, ids: string[]): Promise<void> {
  await Promise.all(ids.map((id) => b.s.kill(id).catch(() => undefined)));
  await Promise.all(ids.map((id) => b.s.waitForState(id, ['TASK_KILLED', 'TASK_FAILED', 'TASK_LOST'], 60_000).catch(() => undefined)));
}

async function oneTask(b: Bench, name: string): Promise<number> {
  const o = await offers(b);
  const t = b.s.taskFromOffer(o.first, { name, command: 'exec sleep 600', cpus: 0.01, mem: 1, networks: [net(NETWORK)] }, o.resources);
  const t0 = performance.now();
  await b.s.launch(o.offers, [t], { refuseSeconds: 0 });
  const r = await running(b, [t.taskId!.value!], t0);
  if (!r.ips[0]) throw new Error(`${name}: TASK_RUNNING without an address`);
  await killAll(b, [t.taskId!.value!]);
  return r.ms;
}

/** A group of `n` on a new pod; returns its time to all RUNNING (with one shared address), then ends it. */
async function group(b: Bench, name: string, n: number): Promise<number> {
  const o = await offers(b);
  const { executor, tasks } = b.s.groupFromOffer(
    o.first,
    {
      executor: { id: `${name}-pod`, networks: [net(NETWORK)], cpus: 0.01, mem: 32, disk: 1 },
      tasks: Array.from({ length: n }, (_, i) => ({ name: `${name}-${i}`, command: 'exec sleep 600', cpus: 0.01, mem: 1 })),
    },
    o.resources,
  );
  const t0 = performance.now();
  await b.s.launchGroup(o.offers, executor, tasks, { refuseSeconds: 0 });
  const ids = tasks.map((t) => t.taskId!.value!);
  const r = await running(b, ids, t0);
  if (new Set(r.ips).size !== 1 || !r.ips[0]) throw new Error(`${name}: the group does not share one address: ${r.ips.join(',')}`);
  await killAll(b, [ids[0]!]); // one kill takes the group down, and the pod with it
  await Promise.all(ids.map((id) => b.s.waitForState(id, 'TASK_KILLED', 60_000)));
  return r.ms;
}

/** A pod that stays up (one long task), and a function that adds a group of one to it and times it. */
async function podSide(b: Bench): Promise<{ add(name: string): Promise<number>; end(): Promise<void> }> {
  const o = await offers(b);
  const { executor, tasks } = b.s.groupFromOffer(
    o.first,
    {
      executor: { id: 'bench-pod', networks: [net(NETWORK)], cpus: 0.01, mem: 32, disk: 1 },
      tasks: [{ name: 'anchor', command: 'exec sleep 3600', cpus: 0.01, mem: 1 }],
    },
    o.resources,
  );
  await b.s.launchGroup(o.offers, executor, tasks, { refuseSeconds: 0 });
  await b.s.waitForState(tasks[0]!.taskId!.value!, 'TASK_RUNNING', 60_000);
  const fullExecutor = { ...executor, frameworkId: { value: b.s.frameworkId! } };
  return {
    add: async (name) => {
      const o2 = await offers(b);
      const t = b.s.taskFromOffer(o2.first, { name, command: 'exec sleep 600', cpus: 0.01, mem: 1 }, o2.resources);
      const t0 = performance.now();
      await b.s.launchGroup(o2.offers, fullExecutor, [t], { refuseSeconds: 0 });
      const r = await running(b, [t.taskId!.value!], t0);
      await killAll(b, [t.taskId!.value!]);
      return r.ms;
    },
    end: () => killAll(b, [tasks[0]!.taskId!.value!]),
  };
}

/** A custom executor (the shell executor) that stays up, and a function that runs one more task on it and times it. */
async function customSide(b: Bench): Promise<{ add(name: string): Promise<number>; end(): Promise<void> }> {
  const executor: ExecutorInfo = {
    executorId: { value: 'bench-shell' },
    frameworkId: { value: b.s.frameworkId! },
    command: { shell: true, value: `exec ${process.execPath} ${SHELL_EXECUTOR}`, uris: [], arguments: [] },
    resources: allocateResources(parseResources('cpus:0.01;mem:32'), '*'),
    container: { type: ContainerInfo_Type.MESOS, networkInfos: [net(NETWORK)] },
  };
  const launchOne = async (name: string, data: string) => {
    const o = await offers(b);
    // A new executor's resources come from the offer too.
    const t = b.s.taskFromOffer(o.first, { name, executor, data, cpus: 0.01, mem: 1 }, subtractResources(o.resources, executor.resources ?? []));
    const t0 = performance.now();
    await b.s.launch(o.offers, [t], { refuseSeconds: 0 });
    return { id: t.taskId!.value!, ...(await running(b, [t.taskId!.value!], t0)) };
  };
  const anchor = await launchOne('shell-anchor', 'exec sleep 3600');
  return {
    add: async (name) => {
      const r = await launchOne(name, 'exec sleep 600');
      if (r.ips[0] !== anchor.ips[0]) throw new Error(`${name}: ${r.ips[0]} is not the executor's address ${anchor.ips[0]}`);
      await killAll(b, [r.id]);
      return r.ms;
    },
    end: async () => {
      await b.s.shutdownExecutor((await b.s.waitForState(anchor.id, 'TASK_RUNNING')).agentId!.value!, 'bench-shell');
      await b.s.waitForState(anchor.id, ['TASK_KILLED', 'TASK_FAILED'], 60_000).catch(() => undefined);
    },
  };
}

async function main(): Promise<void> {
  const w = await createNodeWorld({ cooldownMs: 500 });
  try {
    await w.startAgent();
    await w.waitForAgents(1);
    const b: Bench = { w, s: await w.scheduler('executor-bench') };
    // Warm-up: the bridge is made by the first ADD; page cache for binaries and plugins.
    for (let i = 0; i < 2; i++) {
      await oneTask(b, `warm-one-${i}`);
      await group(b, `warm-group-${i}`, GROUP);
    }
    const pod = await podSide(b);
    const custom = await customSide(b);
    await pod.add('warm-add');
    await custom.add('warm-custom');

    console.error(`sequential: ${RUNS} runs per side...`);
    const times = { one: [] as number[], group: [] as number[], pod: [] as number[], custom: [] as number[] };
    const sides = ['one', 'group', 'pod', 'custom'] as const;
    for (let i = 0; i < RUNS; i++) {
      for (let k = 0; k < sides.length; k++) {
        const side = sides[(i + k) % sides.length]!;
        if (side === 'one') times.one.push(await oneTask(b, `one-${i}`));
        else if (side === 'group') times.group.push(await group(b, `grp-${i}`, GROUP));
        else if (side === 'pod') times.pod.push(await pod.add(`add-${i}`));
        else times.custom.push(await custom.add(`cus-${i}`));
      }
    }
    await pod.end();
    await custom.end();

    console.error(`leftovers: ${CYCLES} pod launch/kill cycles...`);
    await new Promise((r) => setTimeout(r, 1500));
    const before = await w.census();
    const cycleTimes: number[] = [];
    for (let i = 0; i < CYCLES; i++) cycleTimes.push(await group(b, `cyc-${i}`, 2));
    let after = await w.census();
    await eventually(
      async () => {
        after = await w.census();
        return JSON.stringify(after) === JSON.stringify(before) ? true : undefined;
      },
      'the census to return to the baseline',
      30_000,
    ).catch(() => undefined);

    const one = stats(times.one);
    const grp = stats(times.group);
    const pd = stats(times.pod);
    const cu = stats(times.custom);
    console.log(`\nExecutors through the real master and agent — ${NETWORK}, ${RUNS} runs per side, interleaved (ms)`);
    console.log(`machine: ${(await import('node:os')).cpus().length} cores`);
    console.log(header());
    console.log(row('one task + IP -> RUNNING', one));
    console.log(row(`group of ${GROUP} + one IP -> all RUNNING`, grp));
    console.log(row('2nd group on a running pod', pd));
    console.log(row('2nd task on a running custom exec.', cu));
    const ratio = grp.p50 / one.p50;
    console.log(`group of ${GROUP} / one task, p50: ${ratio.toFixed(2)}x  (target <= 1.30x: ${ratio <= 1.3 ? 'MET' : 'NOT MET'})`);
    console.log(`2nd group on a running pod, p50: ${pd.p50.toFixed(1)} ms  (target < 20 ms: ${pd.p50 < 20 ? 'MET' : 'NOT MET'})`);
    console.log(`2nd task on a running custom executor, p50: ${cu.p50.toFixed(1)} ms  (target < 20 ms: ${cu.p50 < 20 ? 'MET' : 'NOT MET'})`);
    console.log(
      `\n${CYCLES} pod launch/kill cycles (a group of 2 each): p50 ${stats(cycleTimes).p50.toFixed(1)} ms, p95 ${stats(cycleTimes).p95.toFixed(1)} ms`,
    );
    console.log(`census before ${JSON.stringify(before)}`);
    console.log(`census after  ${JSON.stringify(after)}`);
    console.log(`leftovers: ${JSON.stringify(after) === JSON.stringify(before) ? 'NONE' : 'FOUND'}`);
  } finally {
    await w.dispose();
  }
}

await main();
