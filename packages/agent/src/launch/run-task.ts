import { randomUUID } from 'node:crypto';
import type { Containerizer } from '@ippc/core';
import { createTaskStatus, isPartitionAware } from '@ippc/mesos';
import { TaskState, TaskStatus_Reason, TaskStatus_Source, type FrameworkInfo, type TaskInfo } from '@ippc/proto';
import { checkpointFramework, checkpointRun, createSandbox, markRunCompleted } from '../checkpoint.js';
import { awaitSubscription, deliverQueued, DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT_MS, executorTimeouts } from '../executors/custom.js';
import { destroy, maybeCompleteExecutor, watch } from '../executors/lifecycle.js';
import { frameworkRecord, taskRecord, type AgentContext, type ExecutorRecord, type FrameworkRecord } from '../model.js';
import { queueExecutorStatus, sendAgentStatus } from '../status/status-updates.js';
import { commandExecutorInfo, executorEnvironment, taskEnvironment } from './executor-info.js';

// RUN_TASK (Mesos's `Slave::runTask`): the task gets its executor record (the command executor
// unless it brings its own), a sandbox and a checkpoint, then a containerizer launches it. A task
// for a custom executor that already runs here joins it (no new container, no new address).
// Anything that goes wrong before the container runs fails the task with Mesos's status.

/** RUN_TASK from the master. Anything that goes wrong before the container runs fails the task (never silence). */
export async function runTask(a: AgentContext, frameworkInfo: FrameworkInfo, task: TaskInfo): Promise<void> {
  try {
    await doRunTask(a, frameworkInfo, task);
  } catch (err) {
    const fid = frameworkInfo.id?.value ?? '';
    const tid = task.taskId?.value ?? '';
    a.log.error({ frameworkId: fid, taskId: tid, err: (err as Error).message }, 'cannot run task');
    const exec = a.executorOfTask(fid, tid);
    const rec = exec?.tasks.get(tid);
    if (exec && rec?.terminalSent) return;
    a.launchFailures++;
    await a.sum.update(
      fid,
      createTaskStatus({
        taskId: tid,
        state: TaskState.TASK_FAILED,
        message: `Failed to launch container: ${(err as Error).message}`,
        source: TaskStatus_Source.SOURCE_AGENT,
        reason: TaskStatus_Reason.REASON_CONTAINER_LAUNCH_FAILED,
        agentId: a.id ?? '',
        uuid: true,
      }),
    );
    if (rec) {
      rec.terminalSent = true;
      if (exec) exec.state = 'terminated';
    }
  }
}

async function doRunTask(a: AgentContext, frameworkInfo: FrameworkInfo, task: TaskInfo): Promise<void> {
  const fid = frameworkInfo.id?.value ?? '';
  const tid = task.taskId?.value ?? '';
  if (!a.id || a.stopped) return;
  const f = frameworkRecord(a, frameworkInfo);
  f.info = frameworkInfo;
  await checkpointFramework(a.paths, a.id, frameworkInfo);
  if (a.executorOfTask(fid, tid)) {
    a.log.warn({ frameworkId: fid, taskId: tid }, 'ignoring a task that already runs here');
    return;
  }
  const running = task.executor ? f.executors.get(task.executor.executorId?.value ?? '') : undefined;
  if (running) return runOnExecutor(a, frameworkInfo, running, task);
  const { exec, containerizer } = executorFor(a, a.id, frameworkInfo, task);
  const existing = f.executors.get(exec.id);
  if (existing && existing.state !== 'terminated') {
    await sendAgentStatus(
      a,
      fid,
      exec,
      tid,
      TaskState.TASK_FAILED,
      // A command task's executor has the task's id: one already running here under that id is another executor.
      `The command executor of task ${tid} would have id '${exec.id}', which an executor running here already has`,
      TaskStatus_Reason.REASON_EXECUTOR_TERMINATED,
      false,
    );
    return;
  }
  f.executors.set(exec.id, exec);
  createSandbox(a.paths, a.id, fid, exec.id, exec.containerId);
  await checkpointRun(a.paths, a.id, fid, exec.info, exec.containerId, exec.containerizer.name, exec.tasks.get(tid)!.task);
  if (!containerizer) {
    await launchFailed(
      a,
      f,
      exec,
      tid,
      `No containerizer of this agent (${a.options.containerizers.map((c) => c.name).join(',')}) supports this ContainerInfo`,
    );
    return;
  }
  if (!(await launchContainer(a, f, exec, frameworkInfo, task))) return;
  exec.state = 'running';
  watch(a, exec);
  if (exec.kind === 'custom') {
    const timeoutMs = a.options.executorRegistrationTimeoutMs ?? DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT_MS;
    awaitSubscription(a, exec, timeoutMs, 'register');
  }
  if (exec.pendingKillGraceMs !== undefined) await destroy(a, exec, exec.pendingKillGraceMs);
}

/** Tasks for an executor that is terminating or gone (Mesos's `Slave::run`): TASK_LOST, or TASK_DROPPED for partition-aware frameworks. */
export async function refuseForEndingExecutor(a: AgentContext, frameworkInfo: FrameworkInfo, exec: ExecutorRecord, taskIds: string[]): Promise<void> {
  const which = exec.state === 'terminated' ? 'terminated' : 'terminating';
  a.log.warn({ frameworkId: exec.frameworkId, executorId: exec.id, taskIds }, `asked to run tasks for an executor which is ${which}`);
  const state = isPartitionAware(frameworkInfo) ? TaskState.TASK_DROPPED : TaskState.TASK_LOST;
  for (const tid of taskIds)
    await sendAgentStatus(a, exec.frameworkId, exec, tid, state, `Executor ${which}`, TaskStatus_Reason.REASON_EXECUTOR_TERMINATED, false);
}

/**
 * A task for a custom executor that already exists here (Mesos's `Slave::run` for a known
 * executor): queued until the executor subscribes, or sent to it at once; refused with Mesos's
 * status when the executor is terminating or gone. No container is launched and nothing is
 * attached: the task shares the executor's container and addresses.
 */
async function runOnExecutor(a: AgentContext, frameworkInfo: FrameworkInfo, exec: ExecutorRecord, task: TaskInfo): Promise<void> {
  const fid = exec.frameworkId;
  const tid = task.taskId?.value ?? '';
  if (exec.state === 'terminated' || exec.destroying) return refuseForEndingExecutor(a, frameworkInfo, exec, [tid]);
  const rec = taskRecord(a, frameworkInfo, task, { info: task, queued: true });
  exec.tasks.set(tid, rec);
  await checkpointRun(a.paths, a.id ?? '', fid, exec.info, exec.containerId, exec.containerizer.name, rec.task);
  deliverQueued(a, exec);
}

/**
 * The executor record of a new task (its container id, sandbox, containerizer and the task record),
 * and the containerizer that supports its ContainerInfo, if one does.
 */
function executorFor(
  a: AgentContext,
  agentId: string,
  frameworkInfo: FrameworkInfo,
  task: TaskInfo,
): { exec: ExecutorRecord; containerizer: Containerizer | undefined } {
  const fid = frameworkInfo.id?.value ?? '';
  const tid = task.taskId?.value ?? '';
  const role = task.resources?.[0]?.allocationInfo?.role ?? frameworkInfo.role ?? '*';
  const executor = task.executor ?? commandExecutorInfo(fid, task, role);
  const eid = executor.executorId?.value ?? tid;
  const kind = task.executor ? 'custom' : 'command';
  // A custom executor's container is the executor's (Mesos copies TaskInfo.container only into the command executor).
  const containerInfo = kind === 'custom' ? executor.container : (task.container ?? executor.container);
  const containerId = randomUUID();
  const containerizer = a.options.containerizers.find((c) => c.supports(containerInfo));
  const exec: ExecutorRecord = {
    id: eid,
    kind,
    frameworkId: fid,
    info: executor,
    containerId,
    containerizer: containerizer ?? a.options.containerizers[0]!,
    sandbox: a.paths.sandbox(agentId, fid, eid, containerId),
    state: 'launching',
    tasks: new Map([[tid, taskRecord(a, frameworkInfo, task, kind === 'custom' ? { info: task, queued: true } : {})]]),
    completedTasks: [],
  };
  return { exec, containerizer };
}

/** Has the executor's containerizer launch the container; false (and the task failed) if it cannot. */
async function launchContainer(a: AgentContext, f: FrameworkRecord, exec: ExecutorRecord, frameworkInfo: FrameworkInfo, task: TaskInfo): Promise<boolean> {
  const tid = task.taskId?.value ?? '';
  const agentId = a.id ?? '';
  const custom = exec.kind === 'custom';
  const containerInfo = custom ? exec.info.container : (task.container ?? exec.info.container);
  const place = {
    agentId,
    endpoint: `${a.options.ip}:${a.options.port}`,
    hostname: a.info.hostname ?? a.options.ip,
    containerId: exec.containerId,
    sandbox: exec.sandbox,
  };
  const environment = custom
    ? executorEnvironment(frameworkInfo, exec.info, place, executorTimeouts(a, exec))
    : taskEnvironment(frameworkInfo, task, exec.info, place);
  a.log.info({ frameworkId: f.id, taskId: tid, containerId: exec.containerId, containerizer: exec.containerizer.name }, 'launching container');
  const taskRecord = exec.tasks.get(tid)!;
  exec.launch = exec.containerizer
    .launch({
      containerId: { value: exec.containerId },
      frameworkId: { value: f.id },
      agentId: { value: agentId },
      task,
      executor: exec.info,
      ...(containerInfo ? { containerInfo } : {}),
      sandboxDirectory: exec.sandbox,
      environment,
      // The containerizer plays the command executor; a custom executor reports its tasks itself.
      sendStatus: (s) => (custom ? undefined : queueExecutorStatus(a, exec, taskRecord, s)),
    })
    .then(
      () => true,
      async (err: Error) => {
        await launchFailed(a, f, exec, tid, err.message);
        return false;
      },
    );
  return exec.launch;
}

/** Mesos (slave.cpp): TASK_FAILED, SOURCE_AGENT, REASON_CONTAINER_LAUNCH_FAILED, no container_status. */
async function launchFailed(a: AgentContext, f: FrameworkRecord, exec: ExecutorRecord, tid: string, message: string): Promise<void> {
  a.launchFailures++;
  a.log.warn({ frameworkId: f.id, taskId: tid, containerId: exec.containerId, err: message }, 'container launch failed');
  exec.state = 'terminated';
  clearTimeout(exec.registrationTimer);
  // Every task waiting for this container fails (a custom executor's may be several).
  for (const [id, t] of exec.tasks) {
    if (t.terminalSent || (id !== tid && exec.kind !== 'custom')) continue;
    t.queued = false;
    await sendAgentStatus(
      a,
      f.id,
      exec,
      id,
      TaskState.TASK_FAILED,
      `Failed to launch container: ${message}`,
      TaskStatus_Reason.REASON_CONTAINER_LAUNCH_FAILED,
      false,
    );
  }
  if (exec.kind === 'custom') maybeCompleteExecutor(a, exec);
  if (a.id) await markRunCompleted(a.paths, a.id, f.id, exec.id, exec.containerId).catch(() => undefined);
}
