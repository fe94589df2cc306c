import { createTaskStatus, isTerminalState, recordStatus } from '@ippc/mesos';
import {
  schedulerv1,
  TaskState,
  TaskStatus_Reason,
  TaskStatus_Source,
  taskStateToJSON,
  type Task,
  type TaskInfo,
  type TaskStatus,
  type TimeInfo,
} from '@ippc/proto';
import { sendToFramework, type FrameworkEntry, type MasterContext } from '../model.js';

// The master's record of each task: the statuses it writes itself (always SOURCE_MASTER, without a
// uuid: there is nothing to acknowledge), the status history, and the move to completed tasks.

/** A status the master generates about a task it may not know (an invalid launch, reconciliation). */
export function masterStatusFor(taskId: string, agentId: string | undefined, state: TaskState, message: string, reason: TaskStatus_Reason): TaskStatus {
  return createTaskStatus({ taskId, state, message, source: TaskStatus_Source.SOURCE_MASTER, reason, agentId: agentId || undefined });
}

/** TASK_ERROR for a task that failed validation (Mesos: REASON_TASK_INVALID; REASON_TASK_GROUP_INVALID for a group's tasks). */
export function taskError(m: MasterContext, f: FrameworkEntry, task: TaskInfo, message: string, reason = TaskStatus_Reason.REASON_TASK_INVALID): void {
  m.counters.tasksInvalid++;
  countUpdate(m, TaskState.TASK_ERROR, TaskStatus_Source.SOURCE_MASTER, reason);
  m.log.warn({ frameworkId: f.id, taskId: task.taskId?.value, error: message }, 'task is invalid');
  sendToFramework(f, {
    type: schedulerv1.Event_Type.UPDATE,
    update: { status: masterStatusFor(task.taskId?.value ?? '', task.agentId?.value, TaskState.TASK_ERROR, message, reason) },
  });
}

/** A status the master generates about a task it knows (framework removed, agent lost). */
export function masterStatus(task: Task, state: TaskState, message: string, reason: TaskStatus_Reason, unreachableTime?: TimeInfo): TaskStatus {
  return createTaskStatus({
    taskId: task.taskId?.value ?? '',
    state,
    message,
    source: TaskStatus_Source.SOURCE_MASTER,
    reason,
    agentId: task.agentId?.value || undefined,
    executorId: task.executorId?.value,
    unreachableTime,
  });
}

/** The latest state of a task as reconciliation reports it (with its container_status). */
export function reconciliationStatus(task: Task): TaskStatus {
  const latest = task.statuses?.at(-1);
  return createTaskStatus({
    taskId: task.taskId ?? {},
    state: task.state ?? TaskState.TASK_STAGING,
    message: 'Reconciliation: Latest task state',
    source: TaskStatus_Source.SOURCE_MASTER,
    reason: TaskStatus_Reason.REASON_RECONCILIATION,
    agentId: task.agentId?.value ?? '',
    executorId: task.executorId?.value,
    healthy: latest?.healthy,
    labels: latest?.labels,
    containerStatus: latest?.containerStatus,
    unreachableTime: latest?.unreachableTime,
  });
}

/**
 * Records a status on a task: the latest state, the status (collapsed as Mesos keeps the history:
 * a status with the same state as the last replaces it; `data` is dropped), and the resources back
 * to the pool when the task becomes terminal.
 */
export function updateTask(m: MasterContext, task: Task, status: TaskStatus, latestState?: TaskState): void {
  const wasTerminal = isTerminalState(task.state);
  recordStatus(task, status, latestState);
  task.statusUpdateState = status.state;
  task.statusUpdateUuid = status.uuid;
  if (!wasTerminal && isTerminalState(task.state)) m.scheduleAllocation();
  m.observers.taskUpdated(task, status);
  m.changed();
}

/** Moves a task to the framework's completed tasks. */
export function completeTask(m: MasterContext, f: FrameworkEntry, task: Task): void {
  const taskId = task.taskId?.value ?? '';
  if (f.tasks.get(taskId) !== task) return;
  f.tasks.delete(taskId);
  pushCompleted(m, f, task);
}

/** Keeps a task among the framework's completed ones (at most `maxCompletedTasksPerFramework`). */
export function pushCompleted(m: MasterContext, f: FrameworkEntry, task: Task): void {
  f.completedTasks.push(task);
  while (f.completedTasks.length > m.settings.maxCompletedTasks) f.completedTasks.shift();
}

/** Counts a status update for `/metrics` (by state, source and reason). */
export function countUpdate(m: MasterContext, state: TaskState, source: TaskStatus_Source | undefined, reason: TaskStatus_Reason | undefined): void {
  const key = `${taskStateToJSON(state)}|${source ?? ''}|${reason ?? ''}`;
  m.counters.statusUpdates.set(key, (m.counters.statusUpdates.get(key) ?? 0) + 1);
}
