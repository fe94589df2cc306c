import type { Termination } from '@ippc/core';
import { TaskState, TaskStatus_Reason, TaskStatus_Source } from '@ippc/proto';
import type { KillPolicy } from '@ippc/proto';
import { appendUpdate, markRunCompleted } from '../checkpoint.js';
import type { AgentContext, ExecutorRecord, TaskRecord } from '../model.js';
import { queueExecutorStatus } from '../status/status-updates.js';
import { customExecutorTerminated } from './custom.js';

// An executor's container from launch to its end: the agent waits for it, reports its tasks'
// terminal statuses, destroys it, and moves the executor to the completed ones.

/** Waits for the container to end; then the terminal status (unless sent) and cleanup. */
export function watch(a: AgentContext, exec: ExecutorRecord): void {
  exec.containerizer.wait(exec.containerId).then(
    (t) => {
      exec.ended = true;
      void onTermination(a, exec, t).catch((err: Error) => a.log.error({ err: err.message }, 'termination handling failed'));
    },
    (err: Error) => a.log.error({ containerId: exec.containerId, err: err.message }, 'lost track of a container'),
  );
}

async function onTermination(a: AgentContext, exec: ExecutorRecord, t: Termination): Promise<void> {
  a.log.info({ containerId: exec.containerId, state: TaskState[t.state], message: t.message }, 'container terminated');
  if (exec.kind !== 'command') {
    // A custom executor, or the agent's default executor: its tasks did not end with it.
    await customExecutorTerminated(a, exec, t);
    for (const rec of exec.tasks.values()) await rec.queue.idle();
    await destroy(a, exec, 0);
    return;
  }
  for (const rec of exec.tasks.values()) {
    if (rec.terminalSent) continue;
    const agentSide = t.reason === TaskStatus_Reason.REASON_EXECUTOR_TERMINATED || t.reason === TaskStatus_Reason.REASON_CONTAINER_LAUNCH_FAILED;
    // A container that ended after the framework asked for the kill was killed, whatever its exit
    // status says (the containerizer cannot know after an agent restart; Mesos's executor does).
    const killed = rec.killRequested === true && !agentSide && t.state !== TaskState.TASK_KILLED;
    queueExecutorStatus(a, exec, rec, {
      state: killed ? TaskState.TASK_KILLED : t.state,
      ...(t.message !== undefined ? { message: t.message } : {}),
      ...(t.reason !== undefined ? { reason: t.reason } : {}),
      source: agentSide ? TaskStatus_Source.SOURCE_AGENT : TaskStatus_Source.SOURCE_EXECUTOR,
    });
    await rec.queue.idle();
  }
  await destroy(a, exec, 0);
}

/** Kills (if needed) and cleans up the container; the run is marked completed. */
export function destroy(a: AgentContext, exec: ExecutorRecord, graceMs: number): Promise<void> {
  return (exec.destroying ??= (async () => {
    await exec.containerizer
      .destroy(exec.containerId, { gracePeriodMs: graceMs })
      .catch((err: Error) => a.log.error({ containerId: exec.containerId, err: err.message }, 'destroy failed'));
    exec.state = 'terminated';
    if (a.id) await markRunCompleted(a.paths, a.id, exec.frameworkId, exec.id, exec.containerId).catch(() => undefined);
    maybeCompleteExecutor(a, exec);
  })());
}

/** A terminated executor without tasks left moves to the framework's completed executors. */
export function maybeCompleteExecutor(a: AgentContext, exec: ExecutorRecord): void {
  if (exec.state !== 'terminated' || exec.tasks.size > 0) return;
  const f = a.frameworks.get(exec.frameworkId);
  if (!f || f.executors.get(exec.id) !== exec) return;
  f.executors.delete(exec.id);
  f.completedExecutors.push(exec);
  while (f.completedExecutors.length > 150) f.completedExecutors.shift();
}

/**
 * A kill asked for a task: its grace (the kill's policy, else the task's, else the agent's default),
 * and — the first time — the kill checkpointed. Durable before any signal: an agent that dies now
 * still knows, once restarted, that the container's end is a kill (TASK_KILLED), and finishes the
 * kill if the container lives. Resolves with the grace in ms.
 */
export async function recordKill(a: AgentContext, exec: ExecutorRecord, rec: TaskRecord, killPolicy: KillPolicy | undefined): Promise<number> {
  const graceNs = killPolicy?.gracePeriod?.nanoseconds ?? rec.task.killPolicy?.gracePeriod?.nanoseconds;
  const graceMs = graceNs !== undefined ? graceNs / 1e6 : (a.options.defaultKillGracePeriodMs ?? 5000);
  if (rec.killRequested) return graceMs;
  rec.killRequested = true;
  const tid = rec.task.taskId?.value ?? '';
  if (a.id) {
    await appendUpdate(a.paths, a.id, exec.frameworkId, exec.id, exec.containerId, tid, { type: 'KILL', graceMs }).catch((err: Error) =>
      a.log.warn({ taskId: tid, err: err.message }, 'cannot checkpoint the kill'),
    );
  }
  return graceMs;
}
