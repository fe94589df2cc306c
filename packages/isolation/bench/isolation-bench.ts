// Benchmark of the isolation provider on a REAL emulated cluster (scratch namespaces, real CNI
// plugins, real nftables, ippc-isolation-node processes). Prints figures side by side; asserts
// nothing.
//
//   cd packages/isolation && npm run bench            # n = 50
//   N=100 npm run bench                              # more iterations
//   ATTACH_ONLY=1 N=30 npm run bench                 # part 1 on one agent only (quick)
//
// 1. Per-container attach cost: CNI ADD of bridge + host-local (baseline) versus the same chain
//    with ippc-isolation (the native forwarder, and the sh + curl one), interleaved in one run
//    inside an agent's namespace; DEL likewise; and where the overhead goes (the forwarders' exec
//    floors, the daemon's own share).
// 2. Policy change to effect on every agent: rule changes and membership changes acknowledged by
//    all 3 agents, and the time until a probe between two agents actually flips.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createNamespaceProber } from '../src/check/namespace-prober.js';
import type { Endpoint } from '../src/check/check.js';
import { installIsolationPlugin } from '../src/cni/plugin.js';
import { PACKAGE_DIR } from '../src/testing/paths.js';
import { buildNftBatchHelper, createNftSession, type NftSessionBackend } from '../src/enforcer/nft-session.js';
import { createEmulation, type Emulation } from '../src/testing/emulation.js';
import { TEST_NET } from '../src/testing/resources.js';

const N = Number(process.env.N ?? process.argv[2] ?? 50);
const EFFECT_N = Math.min(N, 20);
const TARGET_ATTACH_MS = 5;
const TARGET_PROPAGATION_MS = 1_000;

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
const f = (v: number) => (Number.isFinite(v) ? v.toFixed(1).padStart(7) : '    n/a');
const line = (label: string, values: number[], extra = '') => console.log(`  ${label.padEnd(62)}${f(pct(values, 50))}${f(pct(values, 95))}   ${extra}`);

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

console.log(
  `ippc isolation benchmark: n=${N}, ${cpus().length} cpus, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}, node ${process.version}`,
);

/**
 * A what-if, not part of the product: a tiny C program that execs a plugin with posix_spawn and
 * times it, as a runtime with a cheap exec (Go's libcni) would, to separate the plugin's own cost
 * from Node's exec (which forks the whole Node process). Skipped without `cc`.
 */
async function buildCSpawner(dir: string): Promise<string | undefined> {
  const src = `#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
extern char **environ;
int main(int argc, char **argv) {
  if (argc < 2) return 2;
  static char in[1 << 20], out[1 << 20];
  size_t n = 0, m = 0; ssize_t r;
  while ((r = read(0, in + n, sizeof in - n)) > 0) n += (size_t)r;
  int pin[2], pout[2];
  if (pipe(pin) || pipe(pout)) return 2;
  posix_spawn_file_actions_t fa; posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pin[0], 0); posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
  posix_spawn_file_actions_addclose(&fa, pin[1]); posix_spawn_file_actions_addclose(&fa, pout[0]);
  struct timespec t0, t1; clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid; if (posix_spawn(&pid, argv[1], &fa, NULL, argv + 1, environ)) return 2;
  close(pin[0]); close(pout[1]);
  if (write(pin[1], in, n) < 0) return 2;
  close(pin[1]);
  while ((r = read(pout[0], out + m, sizeof out - m)) > 0) m += (size_t)r;
  int st; waitpid(pid, &st, 0); clock_gettime(CLOCK_MONOTONIC, &t1);
  fwrite(out, 1, m, stdout);
  fprintf(stderr, "ms=%.3f\\n", (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
`;
  await writeFile(`${dir}/cspawn.c`, src);
  const res = await run('cc', ['-O2', '-o', `${dir}/cspawn`, `${dir}/cspawn.c`], dir).catch(() => ({ code: 1 }));
  return res.code === 0 ? `${dir}/cspawn` : undefined;
}

/** Part 1 on one emulation: runs the attach runner inside agent a1's namespace and prints. */
async function attach(emu: Emulation, title: string): Promise<Record<string, number[]>> {
  const a1 = emu.agents[0]!;
  if (emu.pluginFlavor !== 'native') throw new Error('the native ippc-isolation forwarder did not compile: install gcc (and libc6-dev)');
  const shDir = join(emu.scratch.dir, 'cni-bin-sh');
  installIsolationPlugin({ dir: shDir, flavor: 'sh' });
  const cSpawner = await buildCSpawner(emu.scratch.dir);
  const job = {
    n: N,
    cniPath: ['/usr/lib/cni'],
    pluginDirs: { native: emu.pluginDir, sh: shDir },
    base: a1.baseConflist,
    chain: a1.conflist,
    nsPrefix: emu.scratch.ns('b'),
    net: TEST_NET,
    socket: a1.socket,
    groups: ['web'],
    cSpawner,
  };
  const jobFile = `${emu.scratch.dir}/attach-job.json`;
  await writeFile(jobFile, JSON.stringify(job));
  const runner = fileURLToPath(new URL('./attach-runner.ts', import.meta.url));
  const res = await run('nsenter', [`--net=${a1.nsPath}`, '--', process.execPath, '--import', 'tsx', runner, jobFile], PACKAGE_DIR);
  if (res.code !== 0) throw new Error(`attach runner failed: ${res.stderr || res.stdout}`);
  const parsed = JSON.parse(res.stdout.trim().split('\n').pop()!) as Record<string, number[]> & {
    daemonMeans: string[];
    daemonPhases: Record<string, number[]>;
  };
  const phases = parsed.daemonPhases;
  delete (parsed as Partial<typeof parsed>).daemonPhases;
  const daemonMeans = new Map(parsed.daemonMeans.map((kv) => [kv.slice(0, kv.indexOf('=')), Number(kv.slice(kv.indexOf('=') + 1))]));
  const a = parsed as Record<string, number[]>;
  const paired = a.chainAdd!.map((v, i) => v - a.baseAdd![i]!);
  const pairedSh = a.shAdd!.map((v, i) => v - a.baseAdd![i]!);
  const overhead = pct(a.chainAdd!, 50) - pct(a.baseAdd!, 50);
  console.log('');
  console.log(`attach, ${title}: CNI ADD per container in the agent's namespace (n=${N} each, interleaved)`);
  console.log(''.padEnd(64) + '  p50 ms  p95 ms');
  line('bridge + host-local (baseline)', a.baseAdd!);
  line('bridge + host-local + ippc-isolation (native forwarder)', a.chainAdd!, `ratio p50 ${(pct(a.chainAdd!, 50) / pct(a.baseAdd!, 50)).toFixed(2)}x`);
  line('bridge + host-local + ippc-isolation (sh + curl forwarder)', a.shAdd!, `ratio p50 ${(pct(a.shAdd!, 50) / pct(a.baseAdd!, 50)).toFixed(2)}x`);
  line('overhead per container, native (paired difference)', paired, `difference of p50s ${overhead.toFixed(1)} ms`);
  line('overhead per container, sh + curl (paired difference)', pairedSh, `difference of p50s ${(pct(a.shAdd!, 50) - pct(a.baseAdd!, 50)).toFixed(1)} ms`);
  console.log(
    `  target: enforcement attach overhead < ${TARGET_ATTACH_MS} ms p50`.padEnd(64) +
      `  ${pct(paired, 50) < TARGET_ATTACH_MS ? 'MET' : 'NOT MET'} (paired p50 ${pct(paired, 50).toFixed(1)} ms, native)`,
  );
  console.log('  where the overhead goes');
  line('ippc-isolation exec alone within the chain ADD, native', a.nativeInChain!);
  line('ippc-isolation exec alone within the chain ADD, sh + curl', a.shInChain!);
  console.log(`  ${'  of which the daemon handling ADD (its own histogram, mean)'.padEnd(62)}${f(a.daemonAddMeanMs![0]!)}`);
  const phaseText: Record<string, string> = {
    body: 'receiving the request body',
    decode: 'decoding the config JSON',
    record: 'checkpoint journal (after earlier changes)',
    enforce: 'until the local sets hold it',
    'enforce.compile': '  of which the apply computing the change',
    'enforce.nft': '  of which the nft round trip',
    answer: 'writing the answer',
  };
  console.log(`  ${'  the daemon per ADD, by phase (its GET /timings)'.padEnd(62)}`);
  for (const [phase, text] of Object.entries(phaseText)) if (phases[phase]) line(`    ${phase.replace(/^enforce\./, '  ')}: ${text}`, phases[phase]);
  const phaseSums = (phases.body ?? []).map((_, i) => ['body', 'decode', 'record', 'enforce', 'answer'].reduce((t, p) => t + (phases[p]?.[i] ?? 0), 0));
  line('    all phases', phaseSums);
  for (const mode of ['delta', 'full']) {
    const v = daemonMeans.get(`apply:${mode}`);
    if (v !== undefined)
      console.log(`  ${`    applies during the run (${mode}): mean, of which nft ${f(daemonMeans.get(`kernel:${mode}`) ?? NaN).trim()} ms`.padEnd(62)}${f(v)}`);
  }
  if (a.nativeCInChain!.length > 0) line("what-if: the native ADD exec'd by posix_spawn from C (cheap exec)", a.nativeCInChain!);
  const nft = await nftSessions(emu);
  line('nft session round trip: ippc-nft-batch (libnftables, in use)', nft.batch);
  line(
    'nft session round trip: nft -i + describe sentinel (fallback)',
    nft.interactive,
    `ratio p50 ${(pct(nft.interactive, 50) / pct(nft.batch, 50)).toFixed(2)}x`,
  );
  line('daemon side: ADD then DEL back to back, ADD as seen by a client', a.direct!);
  line('exec: the native forwarder answering VERSION (no daemon)', a.versionExec!);
  line('exec: the sh forwarder answering VERSION (no curl)', a.shVersionExec!);
  line('exec: curl --unix-socket to the daemon (GET /status)', a.curlExec!);
  line('exec: /bin/true from Node (the floor of any exec)', a.trueExec!);
  console.log('  detach: CNI DEL per container');
  line('bridge + host-local (baseline)', a.baseDel!);
  line('ippc-isolation (native) + bridge + host-local', a.chainDel!, `ratio p50 ${(pct(a.chainDel!, 50) / pct(a.baseDel!, 50)).toFixed(2)}x`);
  line('ippc-isolation (sh + curl) + bridge + host-local', a.shDel!, `ratio p50 ${(pct(a.shDel!, 50) / pct(a.baseDel!, 50)).toFixed(2)}x`);
  line('daemon side: ... DEL as seen by a client', a.directDel!);
  return { ...a, paired, pairedSh, nftBatch: nft.batch, nftInteractive: nft.interactive, phaseSum: phaseSums };
}

/**
 * The two backends of the enforcer's long-running nft session side by side, interleaved, in
 * agent a1's namespace on a scratch table of their own: the transaction an ADD sends (add to three
 * sets), then the one a DEL sends.
 */
async function nftSessions(emu: Emulation): Promise<Record<NftSessionBackend, number[]>> {
  const a1 = emu.agents[0]!;
  const table = 'ippc_bench_nft';
  const res = await emu.scratch.exec(a1.ns, 'nft', ['-f', '-'], {
    input: `table inet ${table} {\n set m { type ipv4_addr; }\n set l { type ipv4_addr; }\n set local { type ipv4_addr; }\n}\n`,
  });
  if (res.code !== 0) throw new Error(`nft: ${res.stderr}`);
  await buildNftBatchHelper();
  const sessions = {
    batch: createNftSession({ table, netns: a1.nsPath, backend: 'batch' }),
    interactive: createNftSession({ table, netns: a1.nsPath, backend: 'interactive' }),
  };
  const out: Record<NftSessionBackend, number[]> = { batch: [], interactive: [] };
  try {
    for (let i = 0; i < N + 1; i++) {
      for (const b of (i % 2 ? ['batch', 'interactive'] : ['interactive', 'batch']) as NftSessionBackend[]) {
        const ip = `${TEST_NET}.97.${(i % 250) + 1}`;
        const t0 = performance.now();
        await sessions[b].run(['m', 'l', 'local'].map((set) => `add element inet ${table} ${set} { ${ip} }`));
        const t1 = performance.now();
        await sessions[b].run(['m', 'l', 'local'].map((set) => `delete element inet ${table} ${set} { ${ip} }`));
        // The first round starts the processes: not counted.
        if (i > 0) out[b].push(t1 - t0, performance.now() - t1);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  } finally {
    sessions.batch.close();
    sessions.interactive.close();
    await emu.scratch.exec(a1.ns, 'nft', ['delete', 'table', 'inet', table]);
  }
  if (sessions.batch.backend !== 'batch') throw new Error('ippc-nft-batch did not build: install gcc and nftables (libnftables.so.1)');
  return out;
}

/** One CNI call straight to a daemon's socket, as the forwarder makes it. */
function cni(socket: string, command: string, containerId: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath: socket,
        method: 'POST',
        path: '/cni',
        agent: false,
        headers: {
          'content-type': 'application/json',
          'x-cni-command': command,
          'x-cni-containerid': containerId,
          'x-cni-ifname': 'eth0',
          'x-cni-netns': '/run/netns/none',
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function summary(a: Record<string, number[]>): Record<string, number> {
  return {
    daemonPhasesP50: pct(a.phaseSum!, 50),
    nftBatchP50: pct(a.nftBatch!, 50),
    nftInteractiveP50: pct(a.nftInteractive!, 50),
    baseP50: pct(a.baseAdd!, 50),
    chainP50: pct(a.chainAdd!, 50),
    shChainP50: pct(a.shAdd!, 50),
    overheadPairedP50: pct(a.paired!, 50),
    overheadPairedShP50: pct(a.pairedSh!, 50),
    daemonP50: pct(a.direct!, 50),
    nativeInChainP50: pct(a.nativeInChain!, 50),
    nativeCInChainP50: pct(a.nativeCInChain!, 50),
    daemonAddMeanMs: a.daemonAddMeanMs![0]!,
    daemonDelP50: pct(a.directDel!, 50),
    nativeExecP50: pct(a.versionExec!, 50),
    curlExecP50: pct(a.curlExec!, 50),
    delBaseP50: pct(a.baseDel!, 50),
    delChainP50: pct(a.chainDel!, 50),
  };
}

async function populate(emu: Emulation): Promise<void> {
  for (const [agent, name, groups] of [
    ['a1', 'bg1', ['web']],
    ['a2', 'src', ['web']],
    ['a2', 'bg2', ['db']],
    ['a3', 'dst', ['cache']],
    ['a3', 'bg3', ['db', 'cache']],
  ] as [string, string, string[]][]) {
    if (emu.agents.some((a) => a.id === agent)) await emu.addContainer(agent, name, groups);
  }
  await emu.client.addRule({ action: 'deny', from: 'db', to: 'public' });
  await emu.settle();
}

// 1a. One agent: the per-agent cost alone.
let single: Record<string, number[]>;
{
  const emu = await createEmulation({ agents: 1 });
  try {
    await populate(emu);
    single = await attach(emu, '1 agent');
  } finally {
    await emu.close();
  }
}

if (process.env.ATTACH_ONLY) {
  console.log('');
  console.log(JSON.stringify({ n: N, attach1: summary(single) }));
  process.exit(0);
}

const emu = await createEmulation({ agents: 3 });
try {
  await populate(emu);
  // 1b. Three agents on the same 2 cpus: every change is applied by all three at once.
  const a = await attach(emu, '3 agents sharing these cpus');

  // 2. Propagation ------------------------------------------------------------------------------
  const ruleAll: number[] = [];
  const ruleSlowestAgent: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    // A new port each time: a rule change is structural (the table is replaced on every agent).
    const r = await emu.client.addRule({ id: 'bench-rule', from: 'web', to: 'db', ports: [20_000 + i] });
    const applied = await emu.client.awaitApplied(r.revision, 5_000);
    ruleAll.push(performance.now() - t0);
    if (!applied.allApplied) throw new Error(`rule change not applied everywhere: ${JSON.stringify(applied)}`);
    ruleSlowestAgent.push(Math.max(...applied.agents.map((x) => x.latencyMs)));
    const rm = await emu.client.removeRule('bench-rule');
    await emu.client.awaitApplied(rm.revision, 5_000);
  }
  // A container coming: ADD through a1's daemon (enforced there when it returns), until the service
  // holds it and all 3 agents applied that revision.
  const memberAll: number[] = [];
  const memberAdd: number[] = [];
  const a1 = emu.agents[0]!;
  for (let i = 0; i < N; i++) {
    const containerId = `bench-m${i}`;
    const body = JSON.stringify({
      type: 'ippc-isolation',
      cniVersion: '1.0.0',
      name: 'isonet',
      args: { 'org.apache.mesos': { network_info: { groups: ['web'] } } },
      prevResult: { cniVersion: '1.0.0', ips: [{ address: `${TEST_NET}.98.${i + 1}/24` }] },
    });
    const t0 = performance.now();
    const add = await cni(a1.socket, 'ADD', containerId, body);
    memberAdd.push(performance.now() - t0);
    if (add.status !== 200) throw new Error(`ADD through a1: ${add.body}`);
    for (;;) {
      if ((await emu.client.listMembers({ agentId: 'a1' })).some((m) => m.containerId === containerId)) break;
      if (performance.now() - t0 > 10_000) throw new Error('a1 did not tell the service in 10 s');
    }
    const applied = await emu.client.awaitApplied(undefined, 5_000);
    memberAll.push(performance.now() - t0);
    if (!applied.allApplied) throw new Error('membership change not applied everywhere');
    await cni(a1.socket, 'DEL', containerId, body);
    await emu.settle();
  }
  // Effect, not just acknowledgement: web on a2 -> cache on a3, port 8080, flips when the rule lands.
  const src = emu.containers.get('src')!;
  const dst = emu.containers.get('dst')!;
  const eps: Endpoint[] = [
    { id: 'src', kind: 'container', agentId: 'a2', address: src.address, groups: ['web'] },
    { id: 'dst', kind: 'container', agentId: 'a3', address: dst.address, groups: ['cache'] },
  ];
  const prober = createNamespaceProber({ dir: `${emu.scratch.dir}/probe`, namespaces: { src: src.nsPath, dst: dst.nsPath } });
  await prober.start(eps);
  const effect: number[] = [];
  try {
    for (let i = 0; i < EFFECT_N; i++) {
      if ((await prober.probe(eps[0]!, eps[1]!, 8080, { timeoutMs: 300 })).reachable) throw new Error('web reaches cache before the rule');
      const t0 = performance.now();
      await emu.client.addRule({ id: 'bench-effect', from: 'web', to: 'cache', ports: [8080] });
      for (;;) {
        if ((await prober.probe(eps[0]!, eps[1]!, 8080, { timeoutMs: 50 })).reachable) break;
        if (performance.now() - t0 > 10_000) throw new Error('the rule did not take effect in 10 s');
      }
      effect.push(performance.now() - t0);
      const rm = await emu.client.removeRule('bench-effect');
      await emu.client.awaitApplied(rm.revision, 5_000);
    }
  } finally {
    await prober.close();
  }
  console.log('');
  console.log('policy change -> in force on every agent (3 agents)'.padEnd(64) + '  p50 ms  p95 ms');
  line(`rule change (table replaced), acknowledged by all (n=${N})`, ruleAll);
  line('  of which the slowest agent, from commit to its ack', ruleSlowestAgent);
  line(`membership change: CNI ADD on a1 returns (enforced on a1) (n=${N})`, memberAdd);
  line(`membership change: ... until in force on all 3 agents (n=${N})`, memberAll);
  line(`rule change until a probe a2 -> a3 flips (n=${EFFECT_N}, 50 ms probes)`, effect);
  const worst = Math.max(pct(ruleAll, 95), pct(memberAll, 95), pct(effect, 95));
  console.log(
    `  target: a policy change effective on every agent within ${TARGET_PROPAGATION_MS} ms`.padEnd(64) +
      `  ${worst < TARGET_PROPAGATION_MS ? 'MET' : 'NOT MET'} (worst p95 ${worst.toFixed(1)} ms)`,
  );
  console.log('');
  console.log(
    JSON.stringify({
      n: N,
      attach1: summary(single),
      attach3: summary(a),
      propagation: {
        ruleP50: pct(ruleAll, 50),
        ruleP95: pct(ruleAll, 95),
        memberAddP50: pct(memberAdd, 50),
        memberP50: pct(memberAll, 50),
        memberP95: pct(memberAll, 95),
        effectP50: pct(effect, 50),
        effectP95: pct(effect, 95),
      },
    }),
  );
} finally {
  await emu.close();
}
