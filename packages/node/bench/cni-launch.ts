// Benchmark of IP-per-container through the real master and agent (issue 5), side by side in one
// run with the raw floor. Prints figures and ratios; asserts nothing.
//
//   cd packages/node && npm run bench -- [--runs 60] [--parallel 20] [--cycles 200] [--batch 10]
//
// Sides, interleaved (the order rotates every run so machine noise hits all alike):
//   agent, ippc-bridge : ACCEPT (LAUNCH) -> TASK_RUNNING whose container_status carries the
//                        task's address on ippc-bridge (scheduler library -> master -> agent ->
//                        Mesos containerizer -> network/cni isolator -> Debian bridge + ippc-ipam
//                        -> task), the status back through the master to the framework;
//   agent, host network: the same launch without a network (the control plane alone), so the
//                        network's share can be told apart from the control plane's;
//   raw floor          : `ip netns add` + the CNI ADD of the same conflist file the agent uses (the
//                        Debian bridge plugin with ippc-ipam, through the same IPAM node daemon
//                        and central IPAM service), run directly in the node namespace.
// Then `--parallel` launches in one ACCEPT (all unique, all reachable by TCP from the node
// namespace) beside as many raw ADDs at once; then `--cycles` launch/kill cycles (`--batch` at a
// time) with a census of the node before and after: namespaces, veths, IPAM leases, checkpoints,
// iptables rules and nftables rules. Last, where the agent's time goes: the isolator's own timing
// (`ippc_agent_isolator_seconds` on /metrics and the `isolated` log lines).
//
// Uses node-world (namespace anhost-*, 10.236.0.0/16); removes everything, also on failure.

import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { summarize as stats, type SampleStats } from '@ippc/core';
import { NetworkInfo_Protocol, type NetworkInfo, type Offer, type Resource, type TaskStatus } from '@ippc/proto';
import { addResources, subtractResources } from '@ippc/mesos';
import { type Scheduler, type TaskSpec } from '@ippc/scheduler';
import { createNodeWorld, eventually, waitForLog, type Census, type NodeWorld } from '../src/testing/node-world.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '60' },
    parallel: { type: 'string', default: '20' },
    cycles: { type: 'string', default: '200' },
    batch: { type: 'string', default: '10' },
  },
});
const RUNS = Math.max(50, Number(values.runs));
const PARALLEL = Number(values.parallel);
const CYCLES = Number(values.cycles);
const BATCH = Math.max(1, Number(values.batch));
const NETWORK = 'ippc-bridge';

const f = (x: number) => x.toFixed(1).padStart(8);
const row = (label: string, x: SampleStats) => `${label.padEnd(36)}${f(x.p50)}${f(x.p95)}${f(x.mean)}${f(x.min)}${f(x.max)}${String(x.n).padStart(6)}`;
const header = () => `${''.padEnd(36)}${'p50'.padStart(8)}${'p95'.padStart(8)}${'mean'.padStart(8)}${'min'.padStart(8)}${'max'.padStart(8)}${'n'.padStart(6)}`;

const net = (name: string): NetworkInfo => ({ name, groups: [], ipAddresses: [], portMappings: [] });
const v4Of = (st: TaskStatus) =>
  (st.containerStatus?.networkInfos ?? [])
    .filter((n) => n.name === NETWORK)
    .flatMap((n) => n.ipAddresses.filter((a) => a.protocol !== NetworkInfo_Protocol.IPv6).map((a) => a.ipAddress!))[0];

/** A task that answers `hello <task id>` on TCP 8080 (v4 and v6). */
const SERVE = `exec ${process.execPath} -e "require('net').createServer((c) => c.end('hello ' + process.env.MESOS_TASK_ID + '\\\\n')).listen(8080, '::')"`;

/** The raw floor's runner in the node namespace (bench/raw-floor.ts). */
interface RawFloor {
  add(id: string): Promise<{ ms: number; ip: string }>;
  del(id: string): Promise<{ ms: number }>;
  close(): Promise<void>;
}
function startRawFloor(w: NodeWorld, conflist: string): RawFloor {
  const child: ChildProcess = spawn(
    'nsenter',
    [`--net=${w.hostNsPath}`, '--', process.execPath, '--import', 'tsx', join(import.meta.dirname, 'raw-floor.ts'), conflist, w.pluginPath, `anraw-${w.id}-`],
    { stdio: ['pipe', 'pipe', 'inherit'], cwd: import.meta.dirname },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const waiting = new Map<number, (v: { ok: boolean; error?: string; ms: number; ip?: string }) => void>();
  let seq = 0;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const msg = JSON.parse(line) as { seq: number; ok: boolean; error?: string; ms: number; ip?: string };
    waiting.get(msg.seq)?.(msg);
    waiting.delete(msg.seq);
  });
  const call = async (op: string, id: string) => {
    const n = ++seq;
    const answer = new Promise<{ ok: boolean; error?: string; ms: number; ip?: string }>((resolve, reject) => {
      waiting.set(n, resolve);
      setTimeout(() => reject(new Error(`raw floor: no answer to ${op} ${id} in 30 s`)), 30_000).unref();
    });
    child.stdin!.write(`${JSON.stringify({ op, id, seq: n })}\n`);
    const a = await answer;
    if (!a.ok) throw new Error(`raw floor ${op} ${id}: ${a.error}`);
    return a;
  };
  return {
    add: async (id) => {
      const a = await call('add', id);
      return { ms: a.ms, ip: a.ip! };
    },
    del: async (id) => ({ ms: (await call('del', id)).ms }),
    close: async () => {
      child.stdin!.end(`${JSON.stringify({ op: 'exit' })}\n`);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
      child.kill('SIGKILL');
    },
  };
}

/** nftables rules in the node namespace (the agent's isolation enforcer and anything a plugin adds). */
async function nftRules(w: NodeWorld): Promise<number> {
  const text = await w.inNode('nft', ['-a', 'list', 'ruleset']);
  return text.split('\n').filter((l) => /# handle \d+$/.test(l.trim()) && !/^\s*(table|chain|set|map)\b/.test(l.trim())).length;
}
async function rawNamespaces(w: NodeWorld): Promise<number> {
  const { execFile } = await import('node:child_process');
  const out = await new Promise<string>((resolve) => execFile('ip', ['netns', 'list'], (_e, stdout) => resolve(stdout ?? '')));
  return out.split('\n').filter((l) => l.startsWith(`anraw-${w.id}-`)).length;
}

/** TCP from the node namespace to each address: the answer must be `hello <task>` (retries for 10 s while servers start). */
async function probeFromNode(w: NodeWorld, targets: Array<{ ip: string; expect: string }>): Promise<number> {
  const script = `
const net = require('net');
const targets = ${JSON.stringify(targets)};
const once = (t) => new Promise((resolve) => {
  const s = net.connect({ host: t.ip, port: 8080, timeout: 2000 });
  let d = '';
  s.on('data', (x) => (d += x));
  s.on('end', () => resolve(d.trim() === t.expect));
  s.on('timeout', () => { s.destroy(); resolve(false); });
  s.on('error', () => resolve(false));
});
(async () => {
  const end = Date.now() + 10000;
  const ok = await Promise.all(targets.map(async (t) => { for (;;) { if (await once(t)) return true; if (Date.now() > end) return false; await new Promise((r) => setTimeout(r, 100)); } }));
  console.log(ok.filter(Boolean).length);
})();`;
  return Number((await w.inNode(process.execPath, ['-e', script], { timeoutMs: 30_000 })).trim());
}

/** The isolator's own timing from the agent's /metrics: mean ms per operation of network/cni. */
async function isolatorMeans(w: NodeWorld): Promise<Record<string, { count: number; meanMs: number }>> {
  const text = await (await fetch(`${w.agent!.url}/metrics`)).text();
  const out: Record<string, { count: number; meanMs: number }> = {};
  for (const op of ['prepare', 'isolate', 'cleanup']) {
    const grab = (suffix: string) => {
      const line = text
        .split('\n')
        .find((l) => l.startsWith(`ippc_agent_isolator_seconds_${suffix}{`) && l.includes('isolator="network/cni"') && l.includes(`operation="${op}"`));
      return Number(line?.split(' ').at(-1) ?? NaN);
    };
    const count = grab('count');
    out[op] = { count, meanMs: (grab('sum') / count) * 1000 };
  }
  return out;
}

async function main(): Promise<void> {
  const w = await createNodeWorld({ cooldownMs: 500 });
  let raw: RawFloor | undefined;
  try {
    await w.startAgent();
    await w.waitForAgents(1);
    const s: Scheduler = await w.scheduler('cni-bench');
    const conflist = join(w.configDir, `${NETWORK}.conflist`);
    raw = startRawFloor(w, conflist);
    const plugins = (JSON.parse(await readFile(conflist, 'utf8')) as { plugins: Array<{ type: string; ipam?: { type: string } }> }).plugins;
    const chain = plugins.map((p) => (p.ipam ? `${p.type}+${p.ipam.type}` : p.type)).join(' -> ');

    const offers = async (): Promise<{ offers: Offer[]; resources: Resource[] }> => {
      await s.awaitOffers({ timeoutMs: 30_000 });
      const all = [...s.offers.values()];
      return { offers: all, resources: all.reduce<Resource[]>((acc, o) => addResources(acc, o.resources), []) };
    };
    /** Launches the specs in one ACCEPT; resolves each task's time to TASK_RUNNING (with its address when it joins a network). */
    const launch = async (specs: TaskSpec[]): Promise<{ makespan: number; tasks: Array<{ id: string; ms: number; startingMs: number; ip?: string }> }> => {
      const o = await offers();
      let left = o.resources;
      const tasks = specs.map((spec) => {
        const t = s.taskFromOffer(o.offers[0]!, spec, left);
        left = subtractResources(left, t.resources);
        return t;
      });
      // TASK_STARTING comes first: Mesos's status update manager sends TASK_RUNNING only once the
      // framework acknowledged it, so the difference is one acknowledgement round trip.
      const startingAt = new Map<string, number>();
      const t0 = performance.now();
      const waits = tasks.map((t) => {
        const id = t.taskId!.value!;
        void s.waitForState(id, 'TASK_STARTING', 60_000).then(
          () => startingAt.set(id, performance.now() - t0),
          () => undefined,
        );
        return s.waitForState(id, 'TASK_RUNNING', 60_000).then((st) => ({ st, ms: performance.now() - t0 }));
      });
      await s.launch(o.offers, tasks, { refuseSeconds: 0 });
      const out = await Promise.all(
        tasks.map(async (t, i) => {
          const id = t.taskId!.value!;
          const { st, ms } = await waits[i]!;
          const ip = v4Of(st);
          if (specs[i]!.networks?.length && !ip) throw new Error(`${id}: TASK_RUNNING without an address on ${NETWORK}`);
          return { id, ms, startingMs: startingAt.get(id) ?? NaN, ...(ip ? { ip } : {}) };
        }),
      );
      return { makespan: performance.now() - t0, tasks: out };
    };
    /**
     * Kills and waits until the agent has destroyed the container too (the isolator's DEL runs
     * after TASK_KILLED): the next measurement must not share the machine with this clean-up, as
     * the raw floor's DEL does not either.
     */
    const kill = async (ids: string[]) => {
      await Promise.all(
        ids.map(async (id) => {
          await s.kill(id);
          await s.waitForState(id, 'TASK_KILLED', 60_000);
          const agent = w.agent!;
          const cid = (await waitForLog(agent, new RegExp(`"taskId":"${id}","containerId":"([^"]+)"`), 10_000))[1]!;
          await waitForLog(agent, new RegExp(`"containerId":"${cid}","msg":"container destroyed"`), 60_000);
        }),
      );
    };
    const starting = { net: [] as number[], host: [] as number[] };
    const agentOnce = async (name: string, withNetwork: boolean) => {
      const { tasks } = await launch([{ name, command: 'exec sleep 600', cpus: 0.01, mem: 1, ...(withNetwork ? { networks: [net(NETWORK)] } : {}) }]);
      await kill([tasks[0]!.id]);
      starting[withNetwork ? 'net' : 'host'].push(tasks[0]!.startingMs);
      return tasks[0]!.ms;
    };
    const rawOnce = async (id: string) => {
      const a = await raw!.add(id);
      await raw!.del(id);
      return a.ms;
    };

    // Warm-up: the bridge is created by the first ADD; page cache for binaries and plugins.
    for (let i = 0; i < 3; i++) {
      await agentOnce(`warm-net-${i}`, true);
      await agentOnce(`warm-host-${i}`, false);
      await rawOnce(`w${i}`);
    }

    console.error(`sequential: ${RUNS} runs per side...`);
    const logStart = w.agent!.log().length;
    const times = { net: [] as number[], host: [] as number[], raw: [] as number[] };
    const sides = ['net', 'host', 'raw'] as const;
    for (let i = 0; i < RUNS; i++) {
      for (let k = 0; k < sides.length; k++) {
        const side = sides[(i + k) % sides.length]!;
        if (side === 'net') times.net.push(await agentOnce(`seq-net-${i}`, true));
        else if (side === 'host') times.host.push(await agentOnce(`seq-host-${i}`, false));
        else times.raw.push(await rawOnce(`s${i}`));
      }
    }
    // The isolator's `isolate` (netns handle + every CNI ADD + /etc files), from the agent's log.
    const seqLog = w
      .agent!.log()
      .slice(logStart)
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, string | number>);
    const containerOf = new Map(seqLog.filter((e) => e.msg === 'launching container').map((e) => [String(e.taskId), String(e.containerId)]));
    const at = (pred: (e: Record<string, string | number>) => boolean) => {
      const e = seqLog.find(pred);
      return e ? Date.parse(String(e.time)) : NaN;
    };
    const isolated = seqLog
      .filter((e) => e.msg === 'isolated' && [...containerOf].some(([t, c]) => c === e.containerId && t.startsWith('seq-net-')))
      .map((e) => Number(e.ms));
    /** Inside the agent: 'launching container' -> the TASK_RUNNING update, from the log's timestamps (ms resolution). */
    const inAgent = (prefix: string) =>
      [...containerOf.keys()]
        .filter((t) => t.startsWith(prefix))
        .map(
          (t) =>
            at((e) => e.msg === 'status update' && e.taskId === t && e.state === 'TASK_RUNNING') - at((e) => e.msg === 'launching container' && e.taskId === t),
        );

    console.error(`parallel: ${PARALLEL} at once...`);
    const par = await launch(Array.from({ length: PARALLEL }, (_, i) => ({ name: `par-${i}`, command: SERVE, cpus: 0.01, mem: 16, networks: [net(NETWORK)] })));
    const parIps = par.tasks.map((t) => t.ip!);
    const reachable = await probeFromNode(
      w,
      par.tasks.map((t) => ({ ip: t.ip!, expect: `hello ${t.id}` })),
    );
    await kill(par.tasks.map((t) => t.id));
    const rawPar = await (async () => {
      const t0 = performance.now();
      const adds = await Promise.all(Array.from({ length: PARALLEL }, (_, i) => raw!.add(`p${i}`)));
      const makespan = performance.now() - t0;
      await Promise.all(adds.map((_, i) => raw!.del(`p${i}`)));
      return { makespan, per: adds.map((a) => a.ms), ips: adds.map((a) => a.ip) };
    })();

    console.error(`leftovers: ${CYCLES} launch/kill cycles, ${BATCH} at a time...`);
    const censusOf = async () => ({ ...(await w.census()), nftRules: await nftRules(w), rawNamespaces: await rawNamespaces(w) });
    // Settle: the kills above finish their DEL and IPAM releases before the baseline.
    let before: Census & { nftRules: number; rawNamespaces: number } = await censusOf();
    await new Promise((r) => setTimeout(r, 1500));
    before = await censusOf();
    const cycleTimes: number[] = [];
    for (let done = 0; done < CYCLES; done += BATCH) {
      const n = Math.min(BATCH, CYCLES - done);
      const { tasks } = await launch(
        Array.from({ length: n }, (_, i) => ({ name: `cycle-${done + i}`, command: 'exec sleep 600', cpus: 0.01, mem: 1, networks: [net(NETWORK)] })),
      );
      cycleTimes.push(...tasks.map((t) => t.ms));
      await kill(tasks.map((t) => t.id));
    }
    let after = await censusOf();
    try {
      await eventually(
        async () => {
          after = await censusOf();
          return JSON.stringify(after) === JSON.stringify(before) ? true : undefined;
        },
        'the census to return to the baseline',
        20_000,
      );
    } catch {
      // printed below
    }
    const profile = await isolatorMeans(w);

    // ---- report
    const a = stats(times.net);
    const h = stats(times.host);
    const r = stats(times.raw);
    const iso = stats(isolated);
    console.log(`\nIP-per-container launch vs the raw floor — ${NETWORK} (${chain}), ${RUNS} runs per side, interleaved (ms)`);
    console.log(`machine: ${(await import('node:os')).cpus().length} cores, shared with other jobs while running`);
    console.log(header());
    console.log(row(`agent: LAUNCH -> TASK_RUNNING + IP`, a));
    console.log(row(`agent: LAUNCH -> TASK_RUNNING, host`, h));
    console.log(row(`raw floor: netns add + CNI ADD`, r));
    console.log(row(`  LAUNCH -> TASK_STARTING, IP`, stats(starting.net.slice(-RUNS))));
    console.log(row(`  LAUNCH -> TASK_STARTING, host`, stats(starting.host.slice(-RUNS))));
    console.log(row(`  in agent: launching -> RUNNING, IP`, stats(inAgent('seq-net-'))));
    console.log(row(`  in agent: launching -> RUNNING, host`, stats(inAgent('seq-host-'))));
    console.log(row(`  in agent: network/cni isolate`, iso));
    // Issue 5's target is on the network set-up overhead: what opting into a network adds to a
    // launch (the same launch with and without an address, side by side), over the raw floor. The
    // whole launch also carries the control plane and the containerizer, which the floor has not;
    // that ratio is printed too, as information.
    const ratio = a.p50 / r.p50;
    console.log(
      `ratio whole launch agent(IP)/raw floor: p50 ${ratio.toFixed(2)}x, p95 ${(a.p95 / r.p95).toFixed(2)}x  (includes the control plane and the containerizer: ${h.p50.toFixed(1)} ms without a network)`,
    );
    const netShare50 = a.p50 - h.p50;
    const shareRatio = netShare50 / r.p50;
    console.log(
      `network set-up overhead (agent IP - agent host): p50 ${netShare50.toFixed(1)} ms = ${shareRatio.toFixed(2)}x the raw floor  (target < 1.30x at p50: ${shareRatio < 1.3 ? 'MET' : 'NOT MET'})`,
    );
    console.log(`network/cni isolate inside the agent: p50 ${(iso.p50 / r.p50).toFixed(2)}x the raw floor`);

    console.log(`\n${PARALLEL} at once (ms)                        makespan  per-op p50  per-op p95  unique     reachable`);
    const ps = stats(par.tasks.map((t) => t.ms));
    const rs = stats(rawPar.per);
    console.log(
      `agent: one ACCEPT of ${PARALLEL} tasks             ${f(par.makespan)}    ${f(ps.p50)}    ${f(ps.p95)}  ${String(new Set(parIps).size).padStart(2)}/${PARALLEL}     ${reachable}/${PARALLEL} (TCP from the node)`,
    );
    console.log(
      `raw floor: ${PARALLEL} netns add + ADD at once      ${f(rawPar.makespan)}    ${f(rs.p50)}    ${f(rs.p95)}  ${String(new Set(rawPar.ips).size).padStart(2)}/${PARALLEL}`,
    );
    console.log(`ratio makespan: ${(par.makespan / rawPar.makespan).toFixed(2)}x`);

    console.log(
      `\n${CYCLES} launch/kill cycles (${BATCH} at a time), LAUNCH -> TASK_RUNNING + IP: p50 ${stats(cycleTimes).p50.toFixed(1)} ms, p95 ${stats(cycleTimes).p95.toFixed(1)} ms`,
    );
    console.log(
      `census of the node        ${Object.keys(before)
        .map((k) => k.padStart(Math.max(8, k.length + 1)))
        .join('')}`,
    );
    console.log(
      `before                    ${Object.entries(before)
        .map(([k, v]) => String(v).padStart(Math.max(8, k.length + 1)))
        .join('')}`,
    );
    console.log(
      `after                     ${Object.entries(after)
        .map(([k, v]) => String(v).padStart(Math.max(8, k.length + 1)))
        .join('')}`,
    );
    console.log(`leftovers: ${JSON.stringify(after) === JSON.stringify(before) ? 'NONE' : 'FOUND (see the rows above)'}`);

    console.log(`\nwhere the agent's time goes (network/cni isolator, mean over all ${profile.isolate!.count} launches, /metrics):`);
    for (const [op, v] of Object.entries(profile)) console.log(`  ${op.padEnd(8)} ${v.meanMs.toFixed(1).padStart(7)} ms  (n=${v.count})`);
    const ackRoundTrip = stats(times.net.map((t, i) => t - starting.net.slice(-RUNS)[i]!));
    console.log(
      `  TASK_STARTING -> TASK_RUNNING at the framework (the acknowledgement round trip Mesos's status update manager waits for): p50 ${ackRoundTrip.p50.toFixed(1)} ms`,
    );
    console.log(
      `  control plane + containerizer without network (agent host p50): ${h.p50.toFixed(1)} ms, of which in the agent ${stats(inAgent('seq-host-')).p50.toFixed(1)} ms`,
    );
  } finally {
    if (process.env.BENCH_KEEP_LOG) await copyFile(join(w.dir, 'agent.log'), process.env.BENCH_KEEP_LOG).catch(() => undefined);
    await raw?.close().catch(() => undefined);
    await w.dispose();
  }
}

await main();
