import { allocateResources, formatDuration, parseResources } from '@ippc/mesos';
import { Environment_Variable_Type, Value_Type, type ExecutorInfo, type FrameworkInfo, type Resource, type TaskInfo } from '@ippc/proto';

// What a task's executor is given: its ExecutorInfo (the command executor unless the task brings
// its own) and its environment (Mesos's MESOS_* variables, PORT0..N, the command's variables).

/** Mesos's allowance for the command executor (slave/constants.hpp). */
const DEFAULT_EXECUTOR_CPUS = 0.1;
const DEFAULT_EXECUTOR_MEM = 32;
/** Mesos's default `--recovery_timeout`: how long an executor waits for its agent to come back. */
const RECOVERY_TIMEOUT_MS = 15 * 60_000;

/** `PORT0..N` and `PORTS` for the task's ports, in the order the task lists them. */
export function portEnvironment(resources: readonly Resource[]): Record<string, string> {
  const ports: number[] = [];
  for (const r of resources) {
    if (r.name !== 'ports' || r.type !== Value_Type.RANGES) continue;
    for (const range of r.ranges?.range ?? []) for (let p = Number(range.begin); p <= Number(range.end) && ports.length < 65536; p++) ports.push(p);
  }
  const env: Record<string, string> = {};
  ports.forEach((p, i) => (env[`PORT${i}`] = String(p)));
  if (ports.length > 0) env.PORTS = ports.join(',');
  return env;
}

/** Mesos's `getExecutorInfo` for a command task: the command executor, with `TaskInfo.container` copied in. */
export function commandExecutorInfo(frameworkId: string, task: TaskInfo, role: string): ExecutorInfo {
  const taskId = task.taskId?.value ?? '';
  const command = task.command;
  const shown =
    command?.shell === false
      ? `[${[command.value ?? '', ...(command.arguments ?? []).slice(1)].join(', ')}]`
      : `sh -c '${(command?.value ?? '').length > 15 ? (command?.value ?? '').slice(0, 12) + '...' : (command?.value ?? '')}'`;
  return {
    executorId: { value: taskId },
    frameworkId: { value: frameworkId },
    name: `Command Executor (Task: ${taskId}) (Command: ${shown})`,
    source: taskId,
    ...(command ? { command } : {}),
    ...(task.container ? { container: task.container } : {}),
    resources: allocateResources(parseResources(`cpus:${DEFAULT_EXECUTOR_CPUS};mem:${DEFAULT_EXECUTOR_MEM}`), role),
    ...(task.labels ? { labels: task.labels } : {}),
  };
}

/** Where the container runs, for {@link taskEnvironment}. */
export interface LaunchPlace {
  agentId: string;
  /** `ip:port` of the agent's endpoints. */
  endpoint: string;
  hostname: string;
  containerId: string;
  sandbox: string;
}

/**
 * The environment of a custom executor's container (Mesos's `executorEnvironment`): where the
 * agent's executor API is, who the executor is, its sandbox, and how long it may take to
 * reconnect and to shut down, then the executor command's own variables. An executor written
 * for Mesos finds everything it reads at start here.
 */
export function executorEnvironment(
  frameworkInfo: FrameworkInfo,
  executor: ExecutorInfo,
  place: LaunchPlace,
  { shutdownGraceMs, reregistrationTimeoutMs }: { shutdownGraceMs: number; reregistrationTimeoutMs: number },
): Record<string, string> {
  const environment: Record<string, string> = {
    MESOS_FRAMEWORK_ID: frameworkInfo.id?.value ?? '',
    MESOS_EXECUTOR_ID: executor.executorId?.value ?? '',
    MESOS_AGENT_ID: place.agentId,
    MESOS_SLAVE_ID: place.agentId,
    MESOS_AGENT_ENDPOINT: place.endpoint,
    MESOS_SLAVE_PID: `slave(1)@${place.endpoint}`,
    MESOS_CONTAINER_ID: place.containerId,
    MESOS_DIRECTORY: place.sandbox,
    MESOS_SANDBOX: place.sandbox,
    MESOS_CHECKPOINT: frameworkInfo.checkpoint ? '1' : '0',
    MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: formatDuration(shutdownGraceMs),
    MESOS_HTTP_COMMAND_EXECUTOR: '0',
    HOST: place.hostname,
  };
  if (frameworkInfo.checkpoint) {
    // Only an executor whose framework checkpoints outlives the agent (Mesos's executor library shuts
    // down at once on a disconnection otherwise): it may reconnect for `--recovery_timeout` (Mesos's
    // default, 15mins), retrying at random intervals of at most the agent's re-registration timeout,
    // so that it comes back inside it.
    environment.MESOS_RECOVERY_TIMEOUT = formatDuration(RECOVERY_TIMEOUT_MS);
    environment.MESOS_SUBSCRIPTION_BACKOFF_MAX = formatDuration(reregistrationTimeoutMs);
  }
  for (const v of executor.command?.environment?.variables ?? []) {
    if ((v.type ?? Environment_Variable_Type.VALUE) === Environment_Variable_Type.VALUE && v.name && v.value !== undefined) environment[v.name] = v.value;
  }
  return environment;
}

/** The environment of the task's container: Mesos's variables, the ports, then the command's own. */
export function taskEnvironment(frameworkInfo: FrameworkInfo, task: TaskInfo, executor: ExecutorInfo, place: LaunchPlace): Record<string, string> {
  const environment: Record<string, string> = {
    MESOS_FRAMEWORK_ID: frameworkInfo.id?.value ?? '',
    MESOS_EXECUTOR_ID: executor.executorId?.value ?? task.taskId?.value ?? '',
    MESOS_TASK_ID: task.taskId?.value ?? '',
    MESOS_AGENT_ID: place.agentId,
    MESOS_SLAVE_ID: place.agentId,
    MESOS_AGENT_ENDPOINT: place.endpoint,
    MESOS_CONTAINER_ID: place.containerId,
    MESOS_SANDBOX: place.sandbox,
    MESOS_DIRECTORY: place.sandbox,
    MESOS_CHECKPOINT: frameworkInfo.checkpoint ? '1' : '0',
    HOST: place.hostname,
    ...portEnvironment(task.resources ?? []),
  };
  for (const v of (task.command ?? executor.command)?.environment?.variables ?? []) {
    if ((v.type ?? Environment_Variable_Type.VALUE) === Environment_Variable_Type.VALUE && v.name && v.value !== undefined) environment[v.name] = v.value;
  }
  return environment;
}
