// What every scenario stands on: the shared cluster, a framework per scenario, launching on a
// chosen agent, task commands that serve and probe, and readers of status updates and /master/state.
import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import type { ContainerInfo, ExecutorInfo, NetworkInfo, Offer, TaskStatus } from '@ippc/proto';
import { ContainerInfo_DockerInfo_Network, ContainerInfo_Type, NetworkInfo_Protocol } from '@ippc/proto';
import { allocateResources, parseResources, RecordIoDecoder, type TaskJson } from '@ippc/mesos';
import type { Scheduler, SchedulerOptions, TaskSpec } from '@ippc/scheduler';
import type { Cluster } from '@ippc/testbed';

// IPPC_E2E_SLOT (default 250) moves the cluster's name and subnets, so a second run can share the
// machine with the first (CI and a developer, say).
const slot = Number(process.env.IPPC_E2E_SLOT ?? 250);
if (!Number.isInteger(slot) || slot < 1 || slot > 254) throw new Error(`IPPC_E2E_SLOT must be an integer in 1..254, not '${process.env.IPPC_E2E_SLOT}'`);

/** The e2e cluster's resources (reserved for the suite): name, subnets, ports. */
const name = slot === 250 ? 'e2e' : `e2e-${slot}`;
export const E2E = {
  name,
  subnet: `10.99.${slot}.0/24`,
  /** Used when the machine has IPv6: the cluster network's and ippc-bridge's (a /64 per agent, inside the agents only). */
  subnet6: `fd99:${slot}::/64`,
  bridge6: `fd10:${slot}::/56`,
  userNetwork: { name: slot === 250 ? 'e2e-user' : `e2e-user-${slot}`, subnet: `10.103.${slot}.0/24` },
  ports: '35600-35899',
  /** A container network with a pool of 3 addresses per agent and no cool-down: recycling and exhaustion. */
  small: { name: 'e2e-small', type: 'bridge', ipam: 'ippc-ipam', cidr: '10.104.0.0/16', hostsPerAgent: 3, cooldownSeconds: 0 },
  /** The small cluster of its own that http-framework.e2e.ts starts beside this one (any slot's run may overlap it). */
  http: { name: `${name}-http`, subnet: `10.98.${slot}.0/24`, ports: '35900-35949' },
} as const;

export const net = (name: string, extra: Partial<NetworkInfo> = {}): NetworkInfo => ({ name, groups: [], ipAddresses: [], portMappings: [], ...extra });

/** Every IPv4 address a status reports, in order (network by network). */
export const addressesOf = (s: TaskStatus | undefined): string[] =>
  (s?.containerStatus?.networkInfos ?? []).flatMap((n) =>
    n.ipAddresses.filter((a) => a.protocol !== NetworkInfo_Protocol.IPv6 && !a.ipAddress?.includes(':')).map((a) => a.ipAddress ?? ''),
  );
export const ipOf = (s: TaskStatus | undefined): string => addressesOf(s)[0] ?? '';
/** The first IPv6 address, bare: Mesos reports `ip6.ip` as the CNI plugin returned it, with its prefix length (`fd10::5/64`). */
export const ipv6Of = (s: TaskStatus | undefined): string | undefined =>
  (s?.containerStatus?.networkInfos ?? []).flatMap((n) =>
    n.ipAddresses.filter((a) => a.protocol === NetworkInfo_Protocol.IPv6).map((a) => (a.ipAddress ?? '').split('/')[0]!),
  )[0];

/** Serves `hello-<task id>` over HTTP on `port` (a number or `$PORT0`) from the sandbox. */
export const serve = (port: number | string) => `echo hello-$MESOS_TASK_ID > index.html && exec busybox httpd -f -p ${port} -h .`;

/** Exits 0 once `url` answers with `expect` (so TASK_FINISHED means "reached"), 1 after about 5 s. */
export const probeTask = (url: string, expect: string) =>
  `for i in 1 2 3 4 5 6 7 8 9 10; do curl -sf --max-time 2 ${url} | grep -q ${expect} && exit 0; sleep 0.5; done; exit 1`;

/** Launches one task on agent `index` from its next offer (other agents' offers stay pending). */
export async function launchOn(
  s: Scheduler,
  cluster: Cluster,
  index: number,
  spec: Omit<TaskSpec, 'command'> & { command?: string },
): Promise<{ id: string; offer: Offer }> {
  const address = cluster.agents[index]!.address;
  const [offer] = await s.awaitOffers({ filter: (o) => o.hostname === address, timeoutMs: 20_000 });
  const task = s.taskFromOffer(offer!, { cpus: 0.1, mem: 32, ...(spec.executor ? {} : { command: 'exec sleep 600' }), ...spec });
  await s.launch(offer!, [task], { refuseSeconds: 0 });
  return { id: task.taskId!.value!, offer: offer! };
}

/** A custom executor on ippc-bridge as the agents run it: `command` from the workspace every node mounts (MOUNT). */
export function customExecutor(frameworkId: string, id: string, name: string, command: string): ExecutorInfo {
  return {
    executorId: { value: id },
    frameworkId: { value: frameworkId },
    name,
    command: { shell: true, value: command, uris: [], arguments: [] },
    resources: allocateResources(parseResources('cpus:0.1;mem:32'), '*'),
    container: { type: ContainerInfo_Type.MESOS, networkInfos: [net('ippc-bridge')] },
  };
}

/**
 * Two tasks of one custom executor on agent 1, serving on ports 80 and 8080 (TaskInfo.data): both
 * TASK_RUNNING with the executor's id and its one address on ippc-bridge, and listed with it on
 * /master/state.
 */
export async function twoTasksOnExecutor(
  s: Scheduler,
  cluster: Cluster,
  executor: ExecutorInfo,
  names: [string, string],
): Promise<{ web: { id: string; offer: Offer }; api: { id: string; offer: Offer }; webRunning: TaskStatus; ip: string }> {
  const web = await launchOn(s, cluster, 1, { name: names[0], executor, data: serve(80) });
  const api = await launchOn(s, cluster, 1, { name: names[1], executor, data: serve(8080) });
  const webRunning = await s.waitForState(web.id, 'TASK_RUNNING', 60_000);
  const apiRunning = await s.waitForState(api.id, 'TASK_RUNNING', 30_000);
  const ip = ipOf(webRunning);
  assert.ok(ip.startsWith('10.100.'), `the executor's address on ippc-bridge: ${JSON.stringify(webRunning.containerStatus)}`);
  assert.equal(ipOf(apiRunning), ip, 'the second task reports the same address');
  assert.equal(webRunning.executorId?.value, executor.executorId?.value);
  for (const id of [web.id, api.id]) assert.deepEqual(await stateAddresses(cluster, id), [ip], `/master/state lists ${id} with the executor address`);
  return { web, api, webRunning, ip };
}

/** A Docker ContainerInfo (the node image has busybox and curl). */
export function dockerContainer(
  image: string,
  network: 'HOST' | 'BRIDGE' | 'NONE' | 'USER',
  networks: NetworkInfo[] = [],
  extra: Partial<NonNullable<ContainerInfo['docker']>> = {},
): ContainerInfo {
  return {
    type: ContainerInfo_Type.DOCKER,
    docker: { image, network: ContainerInfo_DockerInfo_Network[network], portMappings: [], parameters: [], ...extra },
    networkInfos: networks,
    volumes: [],
  } as unknown as ContainerInfo;
}

/** The task as `/master/state` shows it. */
export async function taskInState(cluster: Cluster, id: string): Promise<TaskJson> {
  const st = await cluster.masterState();
  const task = st.frameworks.flatMap((f) => [...f.tasks, ...f.completed_tasks]).find((t) => t.id === id);
  assert.ok(task, `task ${id} is in /master/state`);
  return task;
}

/** The addresses `/master/state` reports in the task's latest status (IPv4 only unless `all`). */
export async function stateAddresses(cluster: Cluster, id: string, all = false): Promise<string[]> {
  const t = await taskInState(cluster, id);
  const addresses = (t.statuses.at(-1)?.container_status?.network_infos ?? []).flatMap((n) => (n.ip_addresses ?? []).map((a) => a.ip_address ?? ''));
  return all ? addresses : addresses.filter((a) => !a.includes(':'));
}

/** Whether this machine has a global IPv6 address (then the e2e cluster runs dual-stack). */
export function hostHasIpv6(): boolean {
  return Object.values(networkInterfaces()).some((list) => (list ?? []).some((a) => a.family === 'IPv6' && !a.internal && !a.address.startsWith('fe80')));
}

/**
 * Runs `fn` with a framework of its own (its name is the DNS label of its tasks), then tears the
 * framework down (the master kills its tasks) and waits until no task of it is left running.
 * `capabilities` default to TASK_KILLING_STATE.
 */
export async function withFramework<T>(
  cluster: Cluster,
  name: string,
  fn: (s: Scheduler) => Promise<T>,
  { capabilities = ['TASK_KILLING_STATE'] }: { capabilities?: NonNullable<SchedulerOptions['framework']['capabilities']> } = {},
): Promise<T> {
  const s = await cluster.connectScheduler({ framework: { name, capabilities } });
  try {
    return await fn(s);
  } finally {
    const frameworkId = s.frameworkId;
    await s.teardown().catch(() => undefined);
    await s.close().catch(() => undefined);
    // Bounded wait: the next scenario gets the resources back.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const st = await cluster.masterState();
      if (!st.frameworks.some((f) => f.id === frameworkId && f.tasks.length > 0)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Polls (bounded) until `check` returns a value: the repository's one helper for it. */
export { eventually } from '@ippc/core/testing';

/** Stops offers to a framework and hands back what it holds, so another framework gets the agents' resources. */
export async function releaseOffers(s: Scheduler): Promise<void> {
  await s.suppress();
  const ids = [...s.offers.keys()];
  if (ids.length > 0) await s.decline(ids, 3600);
}

/**
 * One call of an agent's operator API (`POST /api/v1` on the agent's HTTP port, found as an
 * operator tool finds it: the agent's pid in /master/state), answered in Mesos JSON.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function agentApiCall(cluster: Cluster, index: number, call: Record<string, unknown>): Promise<Record<string, any>> {
  const address = cluster.agents[index]!.address;
  const agent = (await cluster.masterState()).slaves.find((a) => a.hostname === address);
  assert.ok(agent, `agent ${address} is in /master/state`);
  const res = await fetch(`http://${agent.pid.split('@')[1]}/api/v1`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      ...('token' in cluster.auth ? { authorization: `Bearer ${cluster.auth.token}` } : {}),
    },
    body: JSON.stringify(call),
  });
  const body = await res.text();
  assert.equal(res.status, 200, body);
  return JSON.parse(body) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** An operator-side reader: `SUBSCRIBE` on the master's operator API (`/api/v1`), events in Mesos JSON. */
export interface OperatorStream {
  events: Record<string, any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** The first event (from the start of the stream) that `pred` accepts, within `timeoutMs`. */
  next(pred: (e: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
  close(): void;
}

export async function operatorSubscribe(cluster: Cluster): Promise<OperatorStream> {
  const ac = new AbortController();
  const res = await fetch(`${cluster.master.url}/api/v1`, {
    method: 'POST',
    signal: ac.signal,
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      ...('token' in cluster.auth ? { authorization: `Bearer ${cluster.auth.token}` } : {}),
    },
    body: JSON.stringify({ type: 'SUBSCRIBE' }),
  });
  assert.equal(res.status, 200, await (res.status === 200 ? Promise.resolve('') : res.text()));
  const stream: OperatorStream = {
    events: [],
    async next(pred, timeoutMs = 30_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const found = stream.events.find(pred);
        if (found) return found;
        if (Date.now() > end) throw new Error(`no matching operator event within ${timeoutMs} ms: ${stream.events.map((e) => e.type).join(', ')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () => ac.abort(),
  };
  const decoder = new RecordIoDecoder();
  void (async () => {
    const reader = res.body!.getReader();
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done || !value) return;
      for (const r of decoder.push(value)) stream.events.push(JSON.parse(r.toString('utf8')));
    }
  })();
  return stream;
}
