// Runs INSIDE the node's network namespace (isolation-attach.ts starts it with nsenter), as the
// agent does: the isolation node daemon in this process, and the network/cni isolator's CNI runtime
// running one conflist three ways, interleaved, each ADD then DEL of a fresh namespace:
//   base      : bridge + host-local, no enforcement;
//   in-process: the same with ippc-isolation chained, answered in this process (the agent's path);
//   exec      : the same chain with the installed ippc-isolation forwarder exec'd (the old path),
//               which sends the call over the socket to the same node daemon in this process.
// Input: a JSON job file (argv[2]); output: one JSON object on the last stdout line.
import { execFile } from 'node:child_process';
import { get } from 'node:http';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { silentLogger } from '@ippc/core';
import { createInProcessCniPlugin, createIsolationNodeDaemon, createIsolationClient, normalizeMember } from '@ippc/isolation';
import { createCniRuntime, createExecInvoker, createMemoryCache, networkConfigFromObject } from '@ippc/network-isolator';

interface Job {
  n: number;
  service: string;
  token: string;
  agentId: string;
  nodeAddress: string;
  subnet: string;
  /** An address of the subnet outside the range host-local hands out. */
  residentAddress: string;
  /** Another address outside host-local's range, for the group-attach rounds. */
  groupProbeAddress: string;
  socket: string;
  dataDir: string;
  table: string;
  pluginDirs: string[];
  base: Record<string, unknown>;
  chain: Record<string, unknown>;
  nsPrefix: string;
}

const exec = promisify(execFile);
const job = JSON.parse(await readFile(process.argv[2]!, 'utf8')) as Job;
const client = createIsolationClient({ address: job.service, auth: { token: job.token } });
const daemon = createIsolationNodeDaemon({
  agent: { id: job.agentId, nodeAddresses: [job.nodeAddress], subnets: [job.subnet] },
  client,
  enforcer: { table: job.table, manageRoutes: false },
  dataDir: job.dataDir,
  socketPath: job.socket,
  logger: silentLogger(),
});
await daemon.start();
const out: Record<'base' | 'inProcess' | 'exec', { add: number[]; del: number[] }> = {
  base: { add: [], del: [] },
  inProcess: { add: [], del: [] },
  exec: { add: [], del: [] },
};
const handlerAdd: number[] = [];
const groupAttach = { known: [] as number[], fresh: [] as number[] };
const phases: Record<string, number[]> = {};
try {
  await daemon.waitForEnforcing(10_000);
  // A resident member of the group, as on a node that runs containers: an ADD then adds an
  // element to the group's sets (the steady state), not the group's first member (a new set).
  const resident = normalizeMember({
    agentId: job.agentId,
    containerId: 'resident',
    ifName: 'eth0',
    network: 'attach',
    addresses: [job.residentAddress],
    groups: ['web'],
  });
  await daemon.attach(resident);
  const cache = createMemoryCache();
  // The in-process handler's own time per ADD: the node daemon's work, without the chain around it.
  const plugin = createInProcessCniPlugin(daemon);
  const timed: typeof plugin = async (run) => {
    const t0 = performance.now();
    const res = await plugin(run);
    if (run.env.CNI_COMMAND === 'ADD') handlerAdd.push(performance.now() - t0);
    return res;
  };
  const runtimes = {
    base: createCniRuntime({ pluginDirs: job.pluginDirs, cache }),
    inProcess: createCniRuntime({ pluginDirs: job.pluginDirs, cache, invoker: createExecInvoker({ inProcess: { 'ippc-isolation': timed } }) }),
    exec: createCniRuntime({ pluginDirs: job.pluginDirs, cache }),
  };
  const lists = { base: networkConfigFromObject(job.base), inProcess: networkConfigFromObject(job.chain), exec: networkConfigFromObject(job.chain) };
  const sides = ['base', 'inProcess', 'exec'] as const;
  // Two rounds first, not counted: the first calls warm caches (module loads, nft sessions).
  for (let i = -2; i < job.n; i++) {
    // The order rotates every round so machine noise hits all sides alike.
    for (let k = 0; k < sides.length; k++) {
      const side = sides[(i + 3 + k) % sides.length]!;
      const id = `${side.toLowerCase()}-${i + 2}`;
      const ns = `${job.nsPrefix}${i + 2}${side[0]}`;
      await exec('ip', ['netns', 'add', ns]);
      try {
        const rt = { containerId: id, netns: `/run/netns/${ns}`, ifName: 'eth0', args: [] as [string, string][] };
        let t0 = performance.now();
        await runtimes[side].addNetworkList(lists[side], rt);
        const add = performance.now() - t0;
        t0 = performance.now();
        await runtimes[side].delNetworkList(lists[side], rt);
        const del = performance.now() - t0;
        if (i >= 0) {
          out[side].add.push(add);
          out[side].del.push(del);
        }
      } finally {
        await exec('ip', ['netns', 'del', ns]).catch(() => undefined);
      }
    }
  }
  // Where the node daemon's time goes (its GET /timings: phases of the last ADDs and DELs).
  const timings = await new Promise<{ command: string; phases: Record<string, number> }[]>((resolve, reject) => {
    get({ socketPath: job.socket, path: '/timings' }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve(JSON.parse(text) as { command: string; phases: Record<string, number> }[]));
    }).on('error', reject);
  });
  for (const t of timings.filter((x) => x.command === 'ADD')) for (const [k, v] of Object.entries(t.phases)) (phases[k] ??= []).push(v);
  // A group's first member: its sets and rules do not exist yet, so the node daemon replaces the
  // whole table (through its nft session) rather than adding an element. Interleaved with a member
  // of the existing group, attached straight to the node daemon (no CNI around it).
  for (let i = -2; i < job.n; i++) {
    for (const kind of i % 2 === 0 ? (['known', 'fresh'] as const) : (['fresh', 'known'] as const)) {
      const m = normalizeMember({
        agentId: job.agentId,
        containerId: `${kind}-${i + 2}`,
        ifName: 'eth0',
        network: 'attach',
        addresses: [job.groupProbeAddress],
        groups: [kind === 'known' ? 'web' : `g${i + 2}`],
      });
      const t0 = performance.now();
      await daemon.attach(m);
      const ms = performance.now() - t0;
      await daemon.detach(m);
      if (i >= 0) groupAttach[kind].push(ms);
    }
  }
  await daemon.detach(resident);
  if (daemon.members().length !== 0) throw new Error(`members left behind: ${JSON.stringify(daemon.members())}`);
} finally {
  await daemon.close();
  // The table goes with the node namespace (node-world's dispose).
  client.close();
}
console.log(JSON.stringify({ ...out, handlerAdd: handlerAdd.slice(-job.n), phases, groupAttach }));
