import { TaskState, type Task, type TaskInfo, type TaskStatus } from '@ippc/proto';

// Task bookkeeping shared by the master, the agent and frameworks: which states are terminal, and
// the `Task` a master or agent keeps for a `TaskInfo` it accepted (Mesos's `protobuf::createTask`).

/** Terminal task states (Mesos's `protobuf::isTerminalState`). */
export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set([
  TaskState.TASK_FINISHED,
  TaskState.TASK_FAILED,
  TaskState.TASK_KILLED,
  TaskState.TASK_ERROR,
  TaskState.TASK_LOST,
  TaskState.TASK_DROPPED,
  TaskState.TASK_GONE,
  TaskState.TASK_GONE_BY_OPERATOR,
]);

/** Whether a task in `state` is done for good; `undefined` (no state yet) is not. */
export function isTerminalState(state: TaskState | undefined): boolean {
  return state !== undefined && TERMINAL_STATES.has(state);
}

/** What {@link taskFromTaskInfo} needs beside the `TaskInfo`. */
export interface TaskRecordContext {
  frameworkId: string;
  agentId: string;
  /** `FrameworkInfo.user`: the task's user when neither its command nor its executor's names one. */
  frameworkUser?: string;
  /** Default `TASK_STAGING` (a task the master or agent just accepted). */
  state?: TaskState;
}

/**
 * The `Task` kept for an accepted `TaskInfo`, as Mesos's `protobuf::createTask` builds it: name,
 * ids, resources, labels, discovery, container, health check, kill policy, limits, no statuses
 * yet, and the user from the task's command, else its executor's command, else the framework's.
 */
export function taskFromTaskInfo(task: TaskInfo, ctx: TaskRecordContext): Task {
  const user = task.command?.user ?? task.executor?.command?.user ?? ctx.frameworkUser;
  return {
    name: task.name,
    taskId: { value: task.taskId?.value ?? '' },
    frameworkId: { value: ctx.frameworkId },
    ...(task.executor ? { executorId: task.executor.executorId } : {}),
    agentId: { value: ctx.agentId },
    state: ctx.state ?? TaskState.TASK_STAGING,
    resources: task.resources ?? [],
    statuses: [],
    ...(task.labels ? { labels: task.labels } : {}),
    ...(task.discovery ? { discovery: task.discovery } : {}),
    ...(task.container ? { container: task.container } : {}),
    ...(task.healthCheck ? { healthCheck: task.healthCheck } : {}),
    ...(task.killPolicy ? { killPolicy: task.killPolicy } : {}),
    ...(user !== undefined ? { user } : {}),
    limits: task.limits ?? {},
  };
}

/**
 * Records a status on a task as Mesos keeps the history: the task takes `latestState` (default the
 * status's state), and the status is appended without its `data`, replacing the last one when the
 * state is the same (Mesos's `Task.statuses` holds one entry per state change).
 */
export function recordStatus(task: Task, status: TaskStatus, latestState: TaskState | undefined = status.state): void {
  task.state = latestState;
  const stored: TaskStatus = { ...status, data: undefined };
  const statuses = task.statuses ?? (task.statuses = []);
  const last = statuses.at(-1);
  if (last && last.state === stored.state) statuses[statuses.length - 1] = stored;
  else statuses.push(stored);
}
