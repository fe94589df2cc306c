import { allocateResources, parseResources, type MasterStateJson } from '@ippc/mesos';
import { ContainerInfo, ContainerInfo_Type, ExecutorInfo, ExecutorInfo_Type, type NetworkInfo } from '@ippc/proto';
import type { TaskSpec } from '@ippc/scheduler';
import { MOUNT } from '@ippc/testbed';
import { usage } from './flags.js';
import { taskViews } from './tasks-view.js';

// `ippc task run --executor ID`: the task runs on the shell executor that ships with the agent
// (packages/agent/executors/shell-executor.mjs, which runs each task's `data` as a shell command),
// one executor container per id and agent, its address shared by every task of it. Mesos refuses
// a task whose ExecutorInfo differs from the running executor's of that id ("ExecutorInfo is not
// compatible with existing ExecutorInfo with same ExecutorID."), so the ExecutorInfo is built from
// the flags alone, the same bytes every time; and a task for an executor that runs already goes to
// that executor's agent. Pure.

/** The shell executor's command on a testbed node (the workspace is mounted at MOUNT). */
export const SHELL_EXECUTOR_COMMAND = `exec node ${MOUNT}/packages/agent/executors/shell-executor.mjs`;
/** What the executor itself takes, besides its tasks. */
export const SHELL_EXECUTOR_RESOURCES = 'cpus:0.1;mem:32';

/** The executor a task asks for: its id and its container's networks (honoured when it starts). */
export interface ExecutorPlan {
  id: string;
  networkInfos: NetworkInfo[];
  hostname?: string;
}

/**
 * The shell executor's ExecutorInfo: a function of the plan (and the framework id) only, so a
 * second task for a running executor carries the same ExecutorInfo as the first. Without
 * `frameworkId` the master fills in the framework's (LAUNCH); {@link withFrameworkId} sets it.
 */
export function shellExecutorInfo(plan: ExecutorPlan, frameworkId?: string): ExecutorInfo {
  const container =
    plan.networkInfos.length > 0 || plan.hostname
      ? ContainerInfo.fromPartial({ type: ContainerInfo_Type.MESOS, networkInfos: plan.networkInfos, ...(plan.hostname ? { hostname: plan.hostname } : {}) })
      : undefined;
  return ExecutorInfo.fromPartial({
    type: ExecutorInfo_Type.CUSTOM,
    executorId: { value: plan.id },
    ...(frameworkId ? { frameworkId: { value: frameworkId } } : {}),
    name: `ippc shell executor ${plan.id}`,
    command: { shell: true, value: SHELL_EXECUTOR_COMMAND, uris: [], arguments: [] },
    resources: allocateResources(parseResources(SHELL_EXECUTOR_RESOURCES), '*'),
    ...(container ? { container } : {}),
  });
}

/** The spec with its executor's `framework_id` set (what the first task's executor had, filled in by the master). */
export function withFrameworkId(spec: TaskSpec, frameworkId: string | undefined): TaskSpec {
  if (!spec.executor || !frameworkId) return spec;
  return { ...spec, executor: ExecutorInfo.fromPartial({ ...spec.executor, frameworkId: { value: frameworkId } }) };
}

/** The agents (ids) where an executor of that id of `framework` runs: from the framework's executors and its live tasks. */
export function executorAgents(state: MasterStateJson, executorId: string, framework: string): string[] {
  const agents = new Set<string>();
  for (const f of state.frameworks.filter((x) => x.name === framework)) {
    const executors = (f.executors ?? []) as { executor_id?: string; slave_id?: string }[];
    for (const e of executors) if (e.executor_id === executorId && e.slave_id) agents.add(e.slave_id);
    for (const t of f.tasks) if (t.executor_id === executorId && t.slave_id) agents.add(t.slave_id);
  }
  return [...agents];
}

/**
 * Where a task of executor `executorId` goes: the agent the executor runs on, if it runs (its
 * tasks share its address there), else wherever `--agent` says. `agent` is `--agent` (index,
 * address or id); `agentAddresses` the cluster's agents by index. Throws CLI_USAGE when the
 * executor runs and `--agent` names another agent.
 */
export function placeOnExecutor(
  state: MasterStateJson,
  executorId: string,
  framework: string,
  agent: string | undefined,
  agentAddresses: readonly string[],
): { agent?: string; running: boolean } {
  const running = executorAgents(state, executorId, framework);
  if (running.length === 0) return { ...(agent !== undefined ? { agent } : {}), running: false };
  const hostOf = (id: string) => state.slaves.find((s) => s.id === id)?.hostname ?? id;
  const named = (id: string) =>
    agent === undefined || agent === id || agent === hostOf(id) || (/^\d+$/.test(agent) && agentAddresses[Number(agent)] === hostOf(id));
  const on = running.find(named);
  if (on === undefined) {
    throw usage(
      `executor '${executorId}' runs on agent ${running.map(hostOf).join(', ')}, where its tasks share its address: drop --agent ${agent}, or name another --executor to start one there`,
    );
  }
  return { agent: on, running: true };
}

const flagsText = (networks: readonly string[], groups: readonly string[]) =>
  networks.length === 0 ? 'no --network' : [...networks.map((n) => `--network ${n}`), ...groups.map((g) => `--group ${g}`)].join(' ');
const sameSet = (a: readonly string[], b: readonly string[]) => [...new Set(a)].sort().join(',') === [...new Set(b)].sort().join(',');

/**
 * Throws CLI_USAGE when a running task of executor `executorId` reports other networks or groups
 * than `plan`'s: the ExecutorInfo would differ, and Mesos would refuse the task. (Addresses asked
 * with `--ip` and `--hostname` are not in the state: Mesos judges those.)
 */
export function checkSameExecutor(state: MasterStateJson, executorId: string, framework: string, plan: { networks: string[]; groups: string[] }): void {
  const live = taskViews(state).find((t) => t.framework === framework && t.executor === executorId && t.state === 'TASK_RUNNING');
  if (!live || (sameSet(live.networks, plan.networks) && sameSet(live.groups, plan.groups))) return;
  throw usage(
    `executor '${executorId}' runs on agent ${live.agent} with ${flagsText(live.networks, live.groups)}; a task for it needs the same flags ` +
      `(this one has ${flagsText(plan.networks, plan.groups)}): Mesos refuses a different ExecutorInfo for a running executor`,
  );
}
