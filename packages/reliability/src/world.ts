import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createNodeWorld, eventually, getJson, nodeNet, type Census, type NodeWorld, type NodeWorldOptions } from '@ippc/node/testing';
import { NetworkInfo_Protocol, TaskState, type NetworkInfo, type Offer, type Resource, type TaskStatus } from '@ippc/proto';
import { addResources, subtractResources, type AgentStateJson } from '@ippc/mesos';
import { type Scheduler, type TaskSpec } from '@ippc/scheduler';

// The suite's node: the agent package's scratch node world (a "host" namespace with the real agent
// process, the real master process, the IPAM service, Debian's and ippc's CNI plugins), moved to
// the ranges reserved for this suite so it runs beside other suites on one machine.

/** The suite's names and ranges: `rl` namespaces and links, 10.237/16, fd10:237::/32, ports 37000-37099. */
export const RELIABILITY_NET = 'prefix=rl,ipv4=10.237,ipv6=fd10:237,ports=37000';

export type World = NodeWorld;
export type { Census };
export { eventually, getJson };

/** A node world in this suite's ranges (`IPPC_TEST_NODE_NET` still wins when set). */
export function createWorld(options: Omit<NodeWorldOptions, 'net'> = {}): Promise<NodeWorld> {
  return createNodeWorld({ ...options, net: nodeNet(process.env.IPPC_TEST_NODE_NET ?? RELIABILITY_NET) });
}

export const net = (name: string, extra: Partial<NetworkInfo> = {}): NetworkInfo => ({ name, groups: [], ipAddresses: [], portMappings: [], ...extra });

/** Every IPv4 address a status reports for the task's own networks. */
export const addressesOf = (st: TaskStatus | undefined): string[] =>
  (st?.containerStatus?.networkInfos ?? []).flatMap((n) => n.ipAddresses.filter((a) => a.protocol !== NetworkInfo_Protocol.IPv6).map((a) => a.ipAddress!));

export type LaunchSpec = Omit<TaskSpec, 'command'> & { command?: string };

/** Every outstanding offer of the framework, and their resources summed. */
export async function offers(s: Scheduler, timeoutMs = 20_000): Promise<{ offers: Offer[]; resources: Resource[] }> {
  await s.awaitOffers({ timeoutMs });
  const all = [...s.offers.values()];
  return { offers: all, resources: all.reduce<Resource[]>((acc, o) => addResources(acc, o.resources), []) };
}

/** Launches the tasks in one ACCEPT of every outstanding offer; returns their ids. */
export async function launchMany(s: Scheduler, specs: LaunchSpec[]): Promise<string[]> {
  const o = await offers(s);
  let left = o.resources;
  const tasks = specs.map((spec) => {
    const task = s.taskFromOffer(o.offers[0]!, { cpus: 0.01, mem: 8, command: 'exec sleep 600', ...spec }, left);
    left = subtractResources(left, task.resources);
    return task;
  });
  await s.launch(o.offers, tasks, { refuseSeconds: 0 });
  return tasks.map((t) => t.taskId!.value!);
}

export async function killAndWait(s: Scheduler, id: string, timeoutMs = 30_000): Promise<TaskStatus> {
  await s.kill(id);
  return s.waitForState(id, ['TASK_KILLED', 'TASK_FAILED', 'TASK_LOST', 'TASK_FINISHED'], timeoutMs);
}

/** What the node holds beyond the network census: addresses in the isolation enforcer's nft sets. */
export interface Holdings extends Census {
  nftElements: number;
}

export async function holdings(w: NodeWorld): Promise<Holdings> {
  const census = await w.census();
  const nft = await w.inNode('nft', ['list', 'ruleset']).catch(() => '');
  // Per-container state is a member's address in a set; tables, chains and per-group sets are
  // made on first use and stay by design, so they are not counted.
  const blocks = (nft.match(/elements = \{[^}]*\}/g) ?? []).join(' ');
  const nftElements = (blocks.match(/\d+\.\d+\.\d+\.\d+|[0-9a-f]{0,4}:[0-9a-f:]+/g) ?? []).length;
  return { ...census, nftElements };
}

/** Waits until `read()` gives `baseline` again (compared as JSON); fails with the difference. */
export async function expectUnchanged<T>(read: () => Promise<T>, baseline: T, what: string, timeoutMs = 20_000): Promise<void> {
  let last: T | undefined;
  try {
    await eventually(
      async () => {
        last = await read();
        return JSON.stringify(last) === JSON.stringify(baseline) ? true : undefined;
      },
      `nothing left behind after ${what}`,
      timeoutMs,
    );
  } catch {
    assert.deepEqual(last, baseline, `nothing left behind after ${what}`);
  }
}

/** Waits until the node holds exactly `baseline` again; fails with the difference. */
export function expectClean(w: NodeWorld, baseline: Holdings, what: string, timeoutMs = 20_000): Promise<void> {
  return expectUnchanged(() => holdings(w), baseline, what, timeoutMs);
}

/** Waits until the master's non-terminal tasks are the agent's, with the same states. */
export async function expectAgreement(w: NodeWorld): Promise<void> {
  await eventually(
    async () => {
      const [m, a] = await Promise.all([masterTasks(w), agentTasks(w)]);
      const live = (x: Map<string, string>) =>
        JSON.stringify([...x].filter(([, st]) => !['TASK_KILLED', 'TASK_FAILED', 'TASK_FINISHED', 'TASK_LOST', 'TASK_ERROR'].includes(st)).sort());
      return live(m) === live(a) ? true : undefined;
    },
    "the master's tasks to match the agent's",
    30_000,
  );
}

/** Keys of `after` whose count grew over `before`: what a failed case left behind. */
export function leaked(before: Holdings, after: Holdings): string[] {
  return (Object.keys(before) as (keyof Holdings)[]).filter((k) => after[k] > before[k]).map((k) => `${k} ${before[k]}→${after[k]}`);
}

/** Tasks the agent runs, from its /state: id → state. */
export async function agentTasks(w: NodeWorld): Promise<Map<string, string>> {
  const st = await getJson<AgentStateJson>(`${w.agent!.url}/state`);
  const out = new Map<string, string>();
  for (const f of st.frameworks) for (const e of f.executors) for (const t of e.tasks) out.set(t.id, t.state);
  return out;
}

/** Non-terminal tasks the master knows, id → state. */
export async function masterTasks(w: NodeWorld): Promise<Map<string, string>> {
  const st = await w.masterState();
  const out = new Map<string, string>();
  for (const f of st.frameworks) for (const t of f.tasks) out.set(t.id, t.state);
  return out;
}

/** Addresses held at the IPAM: address → handles holding it (more than one is a duplicate). */
export async function leaseTable(w: NodeWorld): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const l of await w.ipam.client.listLeases()) {
    for (const a of l.addresses) {
      const key = a.address;
      out.set(key, [...(out.get(key) ?? []), `${l.handle.network}/${l.handle.containerId}/${l.handle.ifName}`]);
    }
  }
  return out;
}

/** Files under the agent's checkpoint of framework metadata (meta/slaves/...): counted, not assumed. */
export async function metaFiles(w: NodeWorld): Promise<number> {
  const walk = async (d: string): Promise<number> => {
    let k = 0;
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) k += e.isDirectory() ? await walk(join(d, e.name)) : 1;
    return k;
  };
  return walk(join(w.workDir, 'meta'));
}

export { TaskState };
