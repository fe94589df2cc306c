// Benchmark of issue 7, "attach overhead of enforcement under 5 ms p50", on the agent's own path:
// the network/cni isolator's CNI runtime running a bridge conflist with and without ippc-isolation
// chained, with the isolation node daemon in the same process (as ippc-agent runs it). Side by
// side in one run, interleaved: no enforcement; enforcement answered in process (what the agent
// does now); enforcement through the exec'd forwarder (what it did before, and what other runtimes
// do). Prints figures and the paired overheads; asserts nothing.
//
//   cd packages/node && npm run bench:attach -- [--runs 40]
//
// Uses node-world (namespace anhost-*, 10.236.0.0/16): the runner works in the node's namespace
// (a bridge of its own, a spare /24 of the world); removes everything, also on failure.

import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatIp, nthAddress, parseCidr, summarize as stats, type SampleStats } from '@ippc/core';
import { installIsolationPlugin } from '@ippc/isolation';
import { createNodeWorld } from '../src/testing/node-world.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '40' } } });
const RUNS = Math.max(10, Number(values.runs));
const TARGET_MS = 5;

const f = (x: number) => x.toFixed(1).padStart(8);
const row = (label: string, x: SampleStats) => `${label.padEnd(52)}${f(x.p50)}${f(x.p95)}${f(x.mean)}${f(x.min)}${f(x.max)}${String(x.n).padStart(6)}`;
const header = () => `${''.padEnd(52)}${'p50'.padStart(8)}${'p95'.padStart(8)}${'mean'.padStart(8)}${'min'.padStart(8)}${'max'.padStart(8)}${'n'.padStart(6)}`;

const w = await createNodeWorld({ isolation: true, defaultNetworks: false });
try {
  const pluginDir = join(w.dir, 'attach-plugins');
  await mkdir(pluginDir, { recursive: true });
  installIsolationPlugin({ dir: pluginDir });
  const subnet = w.subnets.spare[0]!; // a /27
  const at = (n: number) => formatIp(4, nthAddress(parseCidr(subnet)!, n)!.value);
  const socket = join(w.dir, 'attach-isolation.sock');
  const bridge = (ipamDir: string) => ({
    type: 'bridge',
    bridge: `anbr${w.id}`.slice(0, 15),
    isGateway: true,
    ipam: { type: 'host-local', ranges: [[{ subnet, rangeEnd: at(28) }]], dataDir: join(w.dir, ipamDir) },
  });
  const isolation = { type: 'ippc-isolation', socket, args: { 'org.apache.mesos': { network_info: { name: 'attach', groups: ['web'] } } } };
  const job = {
    n: RUNS,
    service: w.isolation!.address,
    token: w.token,
    agentId: `an-attach-${w.id}`,
    nodeAddress: w.agentIp,
    subnet,
    residentAddress: at(30),
    groupProbeAddress: at(29),
    socket,
    dataDir: join(w.dir, 'attach-isolation'),
    table: 'ippc_isolation',
    pluginDirs: [pluginDir, ...w.pluginPath.split(':').filter((d) => d !== w.pluginDir && d !== w.testPluginDir)],
    base: { cniVersion: '1.0.0', name: 'attach', plugins: [bridge('attach-ipam')] },
    chain: { cniVersion: '1.0.0', name: 'attach', plugins: [bridge('attach-ipam'), isolation] },
    nsPrefix: `anatt-${w.id}-`,
  };
  const jobFile = join(w.dir, 'attach-job.json');
  await writeFile(jobFile, JSON.stringify(job));
  const runner = join(import.meta.dirname, 'isolation-attach-runner.ts');
  const child = spawn('nsenter', [`--net=${w.hostNsPath}`, '--', process.execPath, '--import', 'tsx', runner, jobFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
    cwd: import.meta.dirname,
  });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`attach runner exited ${code}: ${stdout}`);
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as Record<'base' | 'inProcess' | 'exec', { add: number[]; del: number[] }> & {
    handlerAdd: number[];
    phases: Record<string, number[]>;
    groupAttach: { known: number[]; fresh: number[] };
  };
  const paired = (a: number[], b: number[]) => a.map((v, i) => v - b[i]!);
  console.log(`\nCNI ADD and DEL through the isolator's runtime, bridge + host-local, ${RUNS} rounds (ms)`);
  console.log(header());
  console.log(row('ADD, no enforcement', stats(r.base.add)));
  console.log(row('ADD, ippc-isolation in process (the agent now)', stats(r.inProcess.add)));
  console.log(row("ADD, ippc-isolation exec'd (before; other runtimes)", stats(r.exec.add)));
  console.log(row('DEL, no enforcement', stats(r.base.del)));
  console.log(row('DEL, ippc-isolation in process', stats(r.inProcess.del)));
  console.log(row("DEL, ippc-isolation exec'd", stats(r.exec.del)));
  console.log('enforcement overhead per ADD (paired difference)');
  const inProc = stats(paired(r.inProcess.add, r.base.add));
  const viaExec = stats(paired(r.exec.add, r.base.add));
  console.log(row('  in process', inProc));
  console.log(row("  exec'd forwarder", viaExec));
  console.log(row('  of which the node daemon answering the ADD', stats(r.handlerAdd)));
  for (const [phase, ms] of Object.entries(r.phases)) console.log(row(`    phase ${phase} (ADDs of both chained sides)`, stats(ms)));
  console.log(`  in process / exec'd, p50: ${(inProc.p50 / viaExec.p50).toFixed(2)}`);
  console.log('attach straight to the node daemon: a member of an existing group vs the first member of a new group (whole table replaced)');
  const known = stats(r.groupAttach.known);
  const fresh = stats(r.groupAttach.fresh);
  console.log(row('  existing group (set elements added)', known));
  console.log(row('  new group (table replaced through the nft session)', fresh));
  console.log(`  new / existing, p50: ${(fresh.p50 / known.p50).toFixed(2)}`);
  console.log(
    `  target: attach overhead of enforcement < ${TARGET_MS} ms p50: ${inProc.p50 < TARGET_MS ? 'MET' : 'NOT MET'} (in process, paired p50 ${inProc.p50.toFixed(1)} ms)`,
  );
} finally {
  await w.dispose();
}
