import type { Termination } from '@ippc/core';
import { formatDuration } from '@ippc/mesos';
import { executorv1, TaskState, TaskStatus_Reason, type KillPolicy } from '@ippc/proto';
import type { AgentContext, ExecutorRecord, TaskRecord } from '../model.js';
import { sendAgentStatus } from '../status/status-updates.js';
import { destroy } from './lifecycle.js';

const { Event_Type } = executorv1;

// A custom executor's life on the agent, as Mesos's agent leads it (src/slave/slave.cpp): tasks
// wait (queued) until the executor subscribes and are then sent as LAUNCH; a kill is a KILL event
// (or TASK_KILLED at once for a task not delivered yet); SHUTDOWN is an event followed by the
// container's destruction after the executor's shutdown grace period; an executor that does not
// subscribe in time is destroyed; when its container ends, every task it did not end fails with
// REASON_EXECUTOR_TERMINATED and the master is told (it frees the executor's resources and sends
// the framework FAILURE). Its tasks' statuses come from its UPDATE calls (http/executor-api.ts).

/** Mesos's default `--executor_registration_timeout`. */
export const DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT_MS = 60_000;
/** Mesos's default `--executor_reregistration_timeout`. */
export const DEFAULT_EXECUTOR_REREGISTRATION_TIMEOUT_MS = 2_000;
/** Mesos's default `--executor_shutdown_grace_period`. */
const DEFAULT_SHUTDOWN_GRACE_MS = 5_000;

/** The executor's shutdown grace: its `shutdown_grace_period`, else the agent's default. */
export function shutdownGraceMs(a: AgentContext, exec: ExecutorRecord): number {
  const ns = exec.info.shutdownGracePeriod?.nanoseconds;
  return ns !== undefined ? ns / 1e6 : (a.options.defaultKillGracePeriodMs ?? DEFAULT_SHUTDOWN_GRACE_MS);
}

/** Sends the queued tasks as LAUNCH events, in the order they came. */
export function deliverQueued(a: AgentContext, exec: ExecutorRecord): void {
  for (const rec of exec.tasks.values()) {
    if (!rec.queued || !rec.info || !exec.stream) continue;
    if (rec.group !== undefined) {
      // A task group arrives whole, in one LAUNCH_GROUP.
      const group = [...exec.tasks.values()].filter((t) => t.group === rec.group && t.queued && t.info);
      for (const t of group) t.queued = false;
      a.log.info({ frameworkId: exec.frameworkId, executorId: exec.id, tasks: group.length }, 'sending a task group to its executor');
      exec.stream.send({ type: Event_Type.LAUNCH_GROUP, launchGroup: { taskGroup: { tasks: group.map((t) => t.info!) } } });
      continue;
    }
    rec.queued = false;
    a.log.info({ frameworkId: exec.frameworkId, executorId: exec.id, taskId: rec.info.taskId?.value }, 'sending task to its executor');
    exec.stream.send({ type: Event_Type.LAUNCH, launch: { task: rec.info } });
  }
}

/** Destroys the executor unless it subscribes within `timeoutMs` (Mesos's registration timeout). */
export function awaitSubscription(a: AgentContext, exec: ExecutorRecord, timeoutMs: number, reason: TaskStatus_Reason, what: string): void {
  clearTimeout(exec.registrationTimer);
  exec.registrationTimer = setTimeout(() => {
    if (exec.stream || exec.state === 'terminated' || exec.destroying) return;
    // Mesos prints the flag as stout prints a duration: `Executor did not register within 1mins`.
    const message = `Executor did not ${what} within ${formatDuration(timeoutMs)}`;
    a.log.warn({ frameworkId: exec.frameworkId, executorId: exec.id }, message);
    exec.ending = { reason, message };
    void destroy(a, exec, 0);
  }, timeoutMs);
  exec.registrationTimer.unref();
}

/** KILL of a custom executor's task: TASK_KILLED at once if it was not delivered, else a KILL event. */
export async function killOnCustomExecutor(a: AgentContext, exec: ExecutorRecord, rec: TaskRecord, killPolicy: KillPolicy | undefined): Promise<void> {
  const tid = rec.task.taskId?.value ?? '';
  if (rec.queued) {
    rec.queued = false;
    await sendAgentStatus(
      a,
      exec.frameworkId,
      exec,
      tid,
      TaskState.TASK_KILLED,
      'Killed before delivery to the executor',
      TaskStatus_Reason.REASON_TASK_KILLED_DURING_LAUNCH,
      false,
    );
    // An executor left with nothing to run before it even subscribed is not needed (Mesos shuts it down).
    if (!exec.stream && [...exec.tasks.values()].every((t) => t.terminalSent)) await shutdownCustomExecutor(a, exec);
    return;
  }
  if (!exec.stream) {
    a.log.warn({ frameworkId: exec.frameworkId, executorId: exec.id, taskId: tid }, 'cannot kill the task now: its executor is not connected');
    return;
  }
  exec.stream.send({ type: Event_Type.KILL, kill: { taskId: { value: tid }, ...(killPolicy ? { killPolicy } : {}) } });
}

/**
 * SHUTDOWN of a custom executor: the event (it should kill its tasks and exit), then, after its
 * shutdown grace period, its container is destroyed whether or not it exited.
 */
export async function shutdownCustomExecutor(a: AgentContext, exec: ExecutorRecord): Promise<void> {
  if (exec.state === 'terminated' || exec.destroying) return;
  const graceMs = shutdownGraceMs(a, exec);
  a.log.info({ frameworkId: exec.frameworkId, executorId: exec.id, graceMs }, 'shutting down custom executor');
  if (!exec.stream) return destroy(a, exec, 0);
  exec.stream.send({ type: Event_Type.SHUTDOWN });
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([exec.containerizer.wait(exec.containerId).catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
  clearTimeout(timer);
  await destroy(a, exec, 0);
}

/**
 * The end of a custom executor's container: its stream closes, every task it had not ended fails
 * (Mesos's `sendExecutorTerminatedStatusUpdate`: TASK_FAILED, SOURCE_AGENT, the reason the agent
 * ended it or REASON_EXECUTOR_TERMINATED), and the master hears that the executor exited.
 */
export async function customExecutorTerminated(a: AgentContext, exec: ExecutorRecord, t: Termination): Promise<void> {
  clearTimeout(exec.registrationTimer);
  exec.stream?.close();
  exec.stream = undefined;
  const message = exec.ending?.message ?? (t.message ? `Executor terminated: ${t.message}` : 'Executor terminated');
  for (const rec of exec.tasks.values()) {
    if (rec.terminalSent) continue;
    rec.queued = false;
    await sendAgentStatus(
      a,
      exec.frameworkId,
      exec,
      rec.task.taskId?.value ?? '',
      TaskState.TASK_FAILED,
      message,
      exec.ending?.reason ?? TaskStatus_Reason.REASON_EXECUTOR_TERMINATED,
      false,
    );
  }
  a.sendToMaster({
    $case: 'exitedExecutor',
    value: {
      agentId: { value: a.id ?? '' },
      frameworkId: { value: exec.frameworkId },
      executorId: { value: exec.id },
      ...(t.exitCode !== undefined ? { status: t.exitCode } : {}),
    },
  });
}
