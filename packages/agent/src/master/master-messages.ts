import { createTaskStatus, hasCapability, isPartitionAware, isTerminalState } from '@ippc/mesos';
import { executorv1, FrameworkInfo_Capability_Type, TaskState, TaskStatus_Reason, TaskStatus_Source, type KillPolicy, type TaskStatus } from '@ippc/proto';
import { removeFrameworkCheckpoint } from '../checkpoint.js';
import { killOnCustomExecutor } from '../executors/custom.js';
import { killOnDefaultExecutor } from '../executors/default-executor.js';
import { destroy, maybeCompleteExecutor, recordKill } from '../executors/lifecycle.js';
import type { AgentContext } from '../model.js';
import { queueExecutorStatus } from '../status/status-updates.js';

// What the master asks of the agent about tasks that run: KILL_TASK, status update
// acknowledgements, reconciliation, and SHUTDOWN_FRAMEWORK.

/** KILL_TASK: the kill is checkpointed, then the container destroyed within its grace period. */
export async function killTask(a: AgentContext, fid: string, tid: string, killPolicy: KillPolicy | undefined): Promise<void> {
  const exec = a.executorOfTask(fid, tid);
  const rec = exec?.tasks.get(tid);
  if (!exec || !rec) {
    // Unknown here: tell the framework so it stops waiting (Mesos answers the same way).
    const pa = isPartitionAware(a.frameworks.get(fid)?.info);
    a.log.warn({ frameworkId: fid, taskId: tid }, 'cannot kill an unknown task');
    const status = createTaskStatus({
      taskId: tid,
      state: pa ? TaskState.TASK_DROPPED : TaskState.TASK_LOST,
      message: 'Cannot find the task on this agent',
      source: TaskStatus_Source.SOURCE_AGENT,
      reason: TaskStatus_Reason.REASON_TASK_UNKNOWN,
      agentId: a.id ?? '',
      uuid: true,
    });
    await a.sum.update(fid, status);
    return;
  }
  if (rec.terminalSent || exec.state === 'terminated') return;
  if (exec.kind === 'custom') return killOnCustomExecutor(a, exec, rec, killPolicy);
  if (exec.kind === 'default') return killOnDefaultExecutor(a, exec, rec, killPolicy);
  const graceMs = await recordKill(a, exec, rec, killPolicy);
  const killing = hasCapability(a.frameworks.get(fid)?.info, FrameworkInfo_Capability_Type.TASK_KILLING_STATE);
  a.log.info({ frameworkId: fid, taskId: tid, graceMs }, 'killing task');
  if (exec.state === 'launching') {
    exec.pendingKillGraceMs = graceMs;
    return;
  }
  if (killing) queueExecutorStatus(a, exec, rec, { state: TaskState.TASK_KILLING });
  await destroy(a, exec, graceMs);
}

/**
 * An acknowledgement: a custom executor hears it (ACKNOWLEDGED, and stops resending that update);
 * once a terminal update is acknowledged, the task is completed.
 */
export async function acknowledge(a: AgentContext, fid: string, tid: string, uuid: Uint8Array): Promise<void> {
  const acked = await a.sum.acknowledge(fid, tid, uuid);
  if (!acked) return;
  const exec = a.executorOfTask(fid, tid);
  exec?.stream?.send({ type: executorv1.Event_Type.ACKNOWLEDGED, acknowledged: { taskId: { value: tid }, uuid: Buffer.from(uuid) } });
  if (!isTerminalState(acked.state)) return;
  const rec = exec?.tasks.get(tid);
  if (!exec || !rec) return;
  exec.tasks.delete(tid);
  exec.completedTasks.push(rec.task);
  maybeCompleteExecutor(a, exec);
}

/** The master's question about tasks it believes are here: unknown ones are reported lost. */
export async function reconcileTasks(a: AgentContext, fid: string, statuses: TaskStatus[]): Promise<void> {
  const pa = isPartitionAware(a.frameworks.get(fid)?.info);
  for (const s of statuses) {
    const tid = s.taskId?.value ?? '';
    if (a.executorOfTask(fid, tid)) continue;
    await a.sum.update(
      fid,
      createTaskStatus({
        taskId: tid,
        state: pa ? TaskState.TASK_DROPPED : TaskState.TASK_LOST,
        message: 'Reconciliation: task unknown to the agent',
        source: TaskStatus_Source.SOURCE_AGENT,
        reason: TaskStatus_Reason.REASON_RECONCILIATION,
        agentId: a.id ?? '',
        uuid: true,
      }),
    );
  }
}

/** TEARDOWN or framework removal: every container of the framework goes; nothing is reported. */
export async function shutdownFramework(a: AgentContext, fid: string): Promise<void> {
  const f = a.frameworks.get(fid);
  if (!f) return;
  a.log.info({ frameworkId: fid }, 'shutting down framework');
  a.sum.cleanup(fid);
  await Promise.all(
    [...f.executors.values()].map(async (e) => {
      if (e.launch) await e.launch;
      e.stream?.send({ type: executorv1.Event_Type.SHUTDOWN });
      for (const t of e.tasks.values()) t.terminalSent = true;
      await destroy(a, e, a.options.defaultKillGracePeriodMs ?? 5000);
    }),
  );
  for (const e of f.executors.values()) {
    for (const t of e.tasks.values()) e.completedTasks.push(t.task);
    e.tasks.clear();
    f.completedExecutors.push(e);
  }
  f.executors.clear();
  a.frameworks.delete(fid);
  a.completedFrameworks.push(f);
  while (a.completedFrameworks.length > 50) a.completedFrameworks.shift();
  if (a.id) await removeFrameworkCheckpoint(a.paths, a.id, fid);
}
