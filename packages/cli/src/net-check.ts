import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { createIsolationClient, createNamespaceProber, runNetCheck, type CheckReport, type Endpoint, type Rule, type Topology } from '@ippc/isolation';
import type { MasterStateJson } from '@ippc/mesos';
import { LABEL, type Cluster } from '@ippc/testbed';
import { CliError } from './errors.js';
import { taskViews, type TaskView } from './tasks-view.js';

// `ippc net check` on a testbed cluster: endpoints are the agents, the host-network tasks and the
// running opt-in containers; the expected matrix comes from the isolation service's rules (over
// gRPC) and the tasks' groups; probes run from inside each endpoint's network namespace, reached
// from this machine through /proc (the agent container's pid, and the network namespace handle the
// CNI isolator keeps in the agent's mount namespace). Needs root on the Docker host, as `doctor` does.

/** An endpoint and the network namespace (a path on this machine) it is probed from. */
export interface PlacedEndpoint extends Endpoint {
  netns: string;
  /** The task behind it (none for an agent). */
  taskId?: string;
}

/** A running task that is left out of the matrix, and why. */
export interface SkippedTask {
  id: string;
  name: string;
  reason: string;
}

/** Where an agent's CNI isolator keeps container netns handles, from the agent daemon's flags. */
export function cniRootFromArgv(argv: string[]): string {
  const flag = (name: string) => {
    const hit = argv.find((a) => a.startsWith(`--${name}=`));
    return hit?.slice(name.length + 3);
  };
  const workDir = flag('work_dir') ?? '/var/lib/ippc/agent';
  const runtimeDir = flag('runtime_dir') ?? `${workDir}/run`;
  const persist = ['true', '1', 'yes'].includes(flag('network_cni_root_dir_persist') ?? 'false');
  return `${persist ? workDir : runtimeDir}/isolators/network/cni`;
}

/** Agents, as net check needs them: address, its id at the isolation service, host pid, CNI root. */
export interface AgentPlace {
  index: number;
  address: string;
  /** The id the isolation service knows it by (what `agentId` in endpoints means). */
  isolationId: string;
  hostPid: number;
  cniRoot: string;
}

/**
 * Lays out the endpoints (pure): one per agent (`a<i>`), one per host-network task (`a<i>/<name>`,
 * each on its own probe port after `port`), one per running Mesos-containerizer task with an address
 * of its own — tasks sharing an executor's container (a custom executor's, a task group's) are one
 * endpoint, `a<i>/<task>+<task>`. Docker HOST tasks count as host-network tasks (the testbed runs them in the agent's
 * network namespace); Docker BRIDGE and USER tasks are skipped: they live on the machine's Docker
 * networks, outside the cluster's isolation provider, so the policy says nothing about them.
 */
export function planEndpoints(state: MasterStateJson, agents: AgentPlace[], port: number): { endpoints: PlacedEndpoint[]; skipped: SkippedTask[] } {
  const endpoints: PlacedEndpoint[] = [];
  const skipped: SkippedTask[] = [];
  const byAddress = new Map(agents.map((a) => [a.address, a]));
  for (const a of agents)
    endpoints.push({ id: `a${a.index}`, kind: 'agent', agentId: a.isolationId, address: a.address, groups: [], netns: `/proc/${a.hostPid}/ns/net` });
  let hostPort = port;
  const used = new Set<string>();
  const idFor = (a: AgentPlace, t: TaskView) => {
    let id = `a${a.index}/${t.name}`;
    for (let k = 2; used.has(id); k++) id = `a${a.index}/${t.name}-${k}`;
    used.add(id);
    return id;
  };
  for (const t of taskViews(state).filter((x) => x.state === 'TASK_RUNNING')) {
    const a = byAddress.get(t.agent);
    if (!a) {
      skipped.push({ id: t.id, name: t.name, reason: `its agent ${t.agent} is not part of this cluster` });
      continue;
    }
    const dockerMode = t.containerizer === 'DOCKER' ? (t.dockerNetwork ?? 'HOST') : undefined;
    if (dockerMode === 'NONE') {
      skipped.push({ id: t.id, name: t.name, reason: 'Docker NONE task: no network to probe' });
      continue;
    }
    if (dockerMode === 'BRIDGE' || dockerMode === 'USER') {
      skipped.push({
        id: t.id,
        name: t.name,
        reason: `Docker ${dockerMode} task: on a Docker network of the machine, outside the cluster's isolation provider`,
      });
      continue;
    }
    // Host network: a Mesos task without networks, or Docker HOST (the testbed runs it in the agent's namespace).
    if (!t.optedIn) {
      endpoints.push({
        id: idFor(a, t),
        kind: 'host-task',
        agentId: a.isolationId,
        address: a.address,
        port: ++hostPort,
        groups: [],
        netns: `/proc/${a.hostPid}/ns/net`,
        taskId: t.id,
      });
      continue;
    }
    const address = t.addresses.find((x) => !x.includes(':'));
    if (!address || !t.containerId) {
      skipped.push({ id: t.id, name: t.name, reason: 'no IPv4 address or container id reported yet' });
      continue;
    }
    // Tasks of one executor (a custom executor's, a task group's) share its container: one endpoint.
    const shared = endpoints.find((e) => e.kind === 'container' && e.agentId === a.isolationId && e.netns.endsWith(`/${t.containerId}/ns`));
    if (shared) {
      shared.id = `${shared.id}+${t.name}`;
      continue;
    }
    endpoints.push({
      id: idFor(a, t),
      kind: 'container',
      agentId: a.isolationId,
      address,
      groups: t.groups,
      netns: `/proc/${a.hostPid}/root${a.cniRoot}/${t.containerId}/ns`,
      taskId: t.id,
    });
  }
  return { endpoints, skipped };
}

export interface NetCheckRunOptions {
  /** Probe port of endpoints that name none. Default 8080 (host-network tasks get 8081, 8082, ...). */
  port?: number;
  timeoutMs?: number;
  concurrency?: number;
  onProbe?: (done: number, total: number) => void;
  docker?: Docker;
}

export interface NetCheckRun {
  report: CheckReport;
  endpoints: PlacedEndpoint[];
  skipped: SkippedTask[];
  rules: Rule[];
  topology: Topology;
}

/** Runs the reachability check on a cluster. Throws CLI_NET_CHECK_FAILED when probes cannot start. */
export async function checkCluster(cluster: Cluster, options: NetCheckRunOptions = {}): Promise<NetCheckRun> {
  const docker = options.docker ?? new Docker();
  const port = options.port ?? 8080;
  const client = createIsolationClient({ address: cluster.isolation.grpcAddress, auth: cluster.auth, deadlineMs: 5_000 });
  let rules: Rule[];
  let topology: Topology;
  let isoAgents: { id: string; nodeAddresses: string[]; subnets: string[] }[];
  try {
    const [r, agents, routes] = await Promise.all([client.listRules(), client.listAgents(), client.listRoutes()]);
    rules = r;
    isoAgents = agents.agents;
    topology = { agents: agents.agents, routes };
  } catch (err) {
    throw new CliError(
      'CLI_UNAVAILABLE',
      `the isolation service at ${cluster.isolation.grpcAddress} did not answer (${(err as Error).message}); check 'ippc cluster status'`,
      { cause: err },
    );
  } finally {
    client.close();
  }
  const places: AgentPlace[] = await Promise.all(
    cluster.agents.map(async (a) => {
      const info = await docker.getContainer(a.containerId).inspect();
      const daemons = JSON.parse(info.Config.Labels?.[LABEL.daemons] ?? '[]') as { name: string; argv: string[] }[];
      const argv = daemons.find((d) => d.name === 'agent')?.argv ?? [];
      const iso = isoAgents.find((x) => x.nodeAddresses.includes(a.address));
      return { index: a.index, address: a.address, isolationId: iso?.id ?? `agent-${a.index}`, hostPid: info.State.Pid, cniRoot: cniRootFromArgv(argv) };
    }),
  );
  if (topology.agents.length === 0) {
    // The isolation service knows no agent yet: draw the cluster's own layout.
    topology = {
      agents: cluster.agents.map((a, i) => ({ id: places[i]!.isolationId, nodeAddresses: [a.address], subnets: Object.values(a.subnets).map((s) => s.ipv4) })),
      routes: [],
    };
  }
  const { endpoints, skipped } = planEndpoints(await cluster.masterState(), places, port);
  const dir = await mkdtemp(join(tmpdir(), 'ippc-net-check-'));
  const prober = createNamespaceProber({ dir, namespaces: Object.fromEntries(endpoints.map((e) => [e.id, e.netns])), port });
  try {
    const plain: Endpoint[] = endpoints.map(({ netns: _n, taskId: _t, ...e }) => e);
    try {
      await prober.start(plain);
    } catch (err) {
      throw new CliError(
        'CLI_NET_CHECK_FAILED',
        `could not start the probes (root on the Docker host, nsenter and node are needed): ${(err as Error).message}`,
        { cause: err },
      );
    }
    const report = await runNetCheck({
      endpoints: plain,
      rules,
      prober,
      port,
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.concurrency ? { concurrency: options.concurrency } : {}),
      ...(options.onProbe ? { onProbe: options.onProbe } : {}),
    });
    return { report, endpoints, skipped, rules, topology };
  } finally {
    await prober.close();
    await rm(dir, { recursive: true, force: true });
  }
}
