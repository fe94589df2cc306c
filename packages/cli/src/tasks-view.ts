import type { MasterStateJson, NetworkInfoJson, TaskJson } from '@ippc/mesos';

// What `task list`, `task run`, `net check` and the showcase read from `/master/state` (the Mesos
// JSON model): per task, its containerizer, networks, groups and addresses. Pure.

/** One task as the CLI shows it. */
export interface TaskView {
  id: string;
  name: string;
  state: string;
  frameworkId: string;
  framework: string;
  agentId: string;
  /** The agent's address (its hostname at the master). */
  agent: string;
  /** `MESOS` or `DOCKER`. */
  containerizer: 'MESOS' | 'DOCKER';
  /** Docker tasks: HOST, BRIDGE, NONE or USER (Mesos's default is HOST). */
  dockerNetwork?: string;
  /** The Mesos ContainerID (from the latest status). */
  containerId?: string;
  /** Names of the networks the task asked for; empty: the agent's network. */
  networks: string[];
  groups: string[];
  /** Addresses reported in the latest status (`container_status.network_infos[].ip_addresses`). */
  addresses: string[];
  /** Whether the task has an address of its own (opted in) rather than the agent's. */
  optedIn: boolean;
  /** Host ports of the task's resources (`[35000-35001]`), if any. */
  ports?: string;
  /** The executor of a task of a custom executor or of a task group (none for a command task). */
  executor?: string;
}

interface ContainerJson {
  type?: string;
  docker?: { network?: string; image?: string };
  network_infos?: NetworkInfoJson[];
}

/** The addresses a task ran with: those of its latest TASK_RUNNING status, else of the latest status that has any. */
function latestNetworkInfos(task: TaskJson): { infos: NetworkInfoJson[]; containerId?: string } {
  const withStatus = task.statuses.filter((s) => s.container_status?.network_infos?.length || s.container_status?.container_id);
  // A terminal status (TASK_KILLED) may report the agent's address only: the running one tells where it was.
  const pick = withStatus.filter((s) => s.state === 'TASK_RUNNING').at(-1) ?? withStatus.at(-1);
  const cs = pick?.container_status;
  if (!cs) return { infos: [] };
  return { infos: cs.network_infos ?? [], ...(cs.container_id ? { containerId: cs.container_id.value } : {}) };
}

/** The CLI's view of one task. */
export function taskView(task: TaskJson, state: MasterStateJson, frameworkName: string): TaskView {
  const container = (task.container ?? {}) as ContainerJson;
  const containerizer = container.type === 'DOCKER' ? 'DOCKER' : 'MESOS';
  const asked = container.network_infos ?? [];
  const { infos, containerId } = latestNetworkInfos(task);
  const agent = state.slaves.find((s) => s.id === task.slave_id);
  const addresses = infos.flatMap((n) => (n.ip_addresses ?? []).map((a) => a.ip_address ?? '')).filter(Boolean);
  const dockerNetwork = containerizer === 'DOCKER' ? (container.docker?.network ?? 'HOST') : undefined;
  // Opted in: a named network of its own (Mesos containerizer, Docker USER) or Docker BRIDGE's own
  // address. A task of a custom or default executor asks for none itself: its executor's container
  // did, and its statuses report those named networks.
  const joined = infos.map((n) => n.name ?? '').filter(Boolean);
  const optedIn = containerizer === 'MESOS' ? asked.length > 0 || joined.length > 0 : dockerNetwork === 'BRIDGE' || dockerNetwork === 'USER';
  const ports = task.resources.ports;
  return {
    id: task.id,
    name: task.name,
    state: task.state,
    frameworkId: task.framework_id,
    framework: frameworkName,
    agentId: task.slave_id,
    agent: agent?.hostname ?? task.slave_id,
    containerizer,
    ...(dockerNetwork ? { dockerNetwork } : {}),
    ...(containerId ? { containerId } : {}),
    networks: asked.length > 0 ? asked.map((n) => n.name ?? '').filter(Boolean) : containerizer === 'MESOS' ? [...new Set(joined)] : [],
    groups: [...new Set([...asked, ...infos].flatMap((n) => n.groups ?? []))],
    addresses,
    optedIn,
    ...(typeof ports === 'string' && ports ? { ports } : {}),
    ...(task.executor_id ? { executor: task.executor_id } : {}),
  };
}

/** Every task in the state; `all` adds finished ones (completed tasks and completed frameworks). */
export function taskViews(state: MasterStateJson, options: { all?: boolean } = {}): TaskView[] {
  const out: TaskView[] = [];
  const frameworks = options.all ? [...state.frameworks, ...state.completed_frameworks] : state.frameworks;
  for (const f of frameworks) {
    const tasks = options.all ? [...f.tasks, ...f.unreachable_tasks, ...f.completed_tasks] : f.tasks;
    for (const t of tasks) out.push(taskView(t, state, f.name));
  }
  return out;
}

/** `MESOS` / `DOCKER/BRIDGE`: the containerizer column. */
export function containerizerText(t: TaskView): string {
  return t.containerizer === 'DOCKER' ? `docker/${(t.dockerNetwork ?? 'HOST').toLowerCase()}` : 'mesos';
}

/** The networks column: asked-for networks, or what a task without one gets. */
export function networksText(t: TaskView): string {
  if (t.networks.length > 0) return t.networks.join(',');
  if (t.containerizer === 'DOCKER') return t.dockerNetwork === 'BRIDGE' ? '(docker bridge)' : t.dockerNetwork === 'NONE' ? '(none)' : '(agent: host)';
  return '(agent: host)';
}

/** Rows for a text table (header first). */
export function taskRows(tasks: TaskView[]): string[][] {
  return [
    ['ID', 'NAME', 'STATE', 'AGENT', 'CONTAINERIZER', 'EXECUTOR', 'NETWORKS', 'GROUPS', 'ADDRESSES'],
    ...tasks.map((t) => [
      t.id,
      t.name,
      t.state.replace(/^TASK_/, ''),
      t.agent,
      containerizerText(t),
      t.executor ?? '-',
      networksText(t),
      t.groups.join(',') || '-',
      t.addresses.join(',') || '-',
    ]),
  ];
}
