import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { containerIdToString } from '@ippc/mesos';
import { TaskState, TaskStatus_Reason, type FrameworkInfo, type KillPolicy, type TaskInfo } from '@ippc/proto';
import { checkpointExecutorRun, checkpointTask } from '../checkpoint.js';
import { taskEnvironment } from '../launch/executor-info.js';
import { taskRecord, type AgentContext, type ExecutorRecord, type TaskRecord } from '../model.js';
import { queueExecutorStatus, sendAgentStatus } from '../status/status-updates.js';
import { destroy, recordKill } from './lifecycle.js';

// The default executor (Mesos's `mesos-default-executor`, src/launcher/default_executor.cpp),
// played by the agent as it plays the command executor: the executor's container holds the pod's
// namespaces and addresses (joined once to ExecutorInfo.container.network_infos), and every task of
// a task group is a nested container in it (one address, shared ports, 127.0.0.1 between tasks).
// Its semantics are Mesos's: a task that fails or is killed takes the rest of its group down; a
// kill of one task kills its group; the executor ends (its container and addresses with it) once
// none of its tasks is alive. Statuses come from the nested containers, as from the command
// executor's container, with the pod's network in `container_status`.

/** What the executor's container runs: nothing but holding the pod's namespaces. */
export const POD_HOLDER = 'exec sleep infinity';

/** The `parent.child` id of the nested container a task of the pod runs in. */
function nestedIdOf(exec: ExecutorRecord, rec: TaskRecord): string {
  return containerIdToString({ value: rec.nested!, parent: { value: exec.containerId } });
}

/**
 * The nested container id of a task, derived from its framework and task ids (a UUID's form) so
 * that an agent restarted from its checkpoints finds the same container again.
 */
export function nestedContainerId(frameworkId: string, taskId: string): string {
  const h = createHash('sha256').update(`${frameworkId}/${taskId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** A task's nested container as the containerizer knows it: id and sandbox. */
export function nestedPlace(exec: ExecutorRecord, taskId: string): { containerId: { value: string; parent: { value: string } }; sandbox: string } {
  return {
    containerId: { value: nestedContainerId(exec.frameworkId, taskId), parent: { value: exec.containerId } },
    sandbox: join(exec.sandbox, 'tasks', taskId),
  };
}

/**
 * After an agent restart: watches again the nested container of every task of the pod not ended
 * yet, unless the pod itself ended while the agent was down (its termination, known at recovery,
 * resolves before the next turn of the event loop and marks the executor ended). A dead executor's
 * tasks are then the agent's to end, as Mesos's `executorTerminated` does: TASK_FAILED,
 * SOURCE_AGENT, REASON_EXECUTOR_TERMINATED for every one, not the group rule of an executor that no
 * longer runs (which would report the first task failed and kill the rest).
 */
export async function adoptRecovered(a: AgentContext, exec: ExecutorRecord): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  if (exec.ended) return;
  for (const rec of exec.tasks.values()) if (!rec.terminalSent) watchNested(a, exec, rec);
}

/** Records a group's tasks on the default executor (checkpointed, before any container starts for them). */
export async function addGroup(a: AgentContext, frameworkInfo: FrameworkInfo, exec: ExecutorRecord, tasks: TaskInfo[]): Promise<TaskRecord[]> {
  const group = randomUUID();
  const records = tasks.map((task) => {
    const rec = taskRecord(a, frameworkInfo, task, { info: task, group, nested: nestedContainerId(exec.frameworkId, task.taskId?.value ?? '') });
    exec.tasks.set(task.taskId?.value ?? '', rec);
    return rec;
  });
  await checkpointExecutorRun(a.paths, a.id ?? '', exec.frameworkId, exec.info, exec.containerId, exec.containerizer.name);
  for (const rec of records) await checkpointTask(a.paths, a.id ?? '', exec.frameworkId, exec.id, exec.containerId, rec.task, group);
  return records;
}

/** Launches each task of a group as a nested container of the running executor. A launch that fails fails its task (and so its group). */
export async function startGroup(a: AgentContext, frameworkInfo: FrameworkInfo, exec: ExecutorRecord, records: TaskRecord[]): Promise<void> {
  await Promise.all(records.map((rec) => launchNested(a, frameworkInfo, exec, rec)));
}

async function launchNested(a: AgentContext, frameworkInfo: FrameworkInfo, exec: ExecutorRecord, rec: TaskRecord): Promise<void> {
  const task = rec.info!;
  const tid = task.taskId?.value ?? '';
  const { containerId, sandbox } = nestedPlace(exec, tid);
  mkdirSync(sandbox, { recursive: true });
  const environment = taskEnvironment(frameworkInfo, task, exec.info, {
    agentId: a.id ?? '',
    endpoint: `${a.options.ip}:${a.options.port}`,
    hostname: a.info.hostname ?? a.options.ip,
    containerId: containerIdToString(containerId),
    sandbox,
  });
  a.log.info({ frameworkId: exec.frameworkId, taskId: tid, containerId: containerIdToString(containerId) }, 'launching a task of a group');
  // Mesos's default executor sends TASK_STARTING as it asks for the task's container and
  // TASK_RUNNING once it runs, so the acknowledgement of the first travels while the container is
  // made. STARTING waits for the pod's container (a new pod's nested containers are made while it
  // joins its networks) so that it carries the pod's addresses; the containerizer's own STARTING
  // is not sent twice, and its later statuses queue behind ours.
  const starting = (exec.launch ?? Promise.resolve(true)).then((up) => {
    if (up) queueExecutorStatus(a, exec, rec, { state: TaskState.TASK_STARTING });
  });
  try {
    await exec.containerizer.launch({
      containerId,
      frameworkId: { value: exec.frameworkId },
      agentId: { value: a.id ?? '' },
      task,
      executor: exec.info,
      ...(task.container ? { containerInfo: task.container } : {}),
      sandboxDirectory: sandbox,
      environment,
      sendStatus: (s) => {
        if (s.state !== TaskState.TASK_STARTING) void starting.then(() => queueExecutorStatus(a, exec, rec, s));
      },
    });
  } catch (err) {
    // When the pod's own container failed, its first group's tasks report that failure
    // (run-task-group.ts): it comes first; a task still without a terminal status reports its own.
    if (exec.launch) await exec.launch;
    if (rec.terminalSent) return;
    a.launchFailures++;
    await sendAgentStatus(
      a,
      exec.frameworkId,
      exec,
      tid,
      TaskState.TASK_FAILED,
      `Failed to launch container: ${(err as Error).message}`,
      TaskStatus_Reason.REASON_CONTAINER_LAUNCH_FAILED,
      false,
    );
    await groupMemberEnded(a, exec, rec);
    return;
  }
  watchNested(a, exec, rec);
  // A kill that came while the container was being made (its pod still joining its networks)
  // found nothing to destroy yet: it is carried out now, and reported by watchNested.
  if (rec.killRequested) await destroyNested(a, exec, rec, 0);
}

/** Waits for a task's nested container; its end is the task's terminal status, then the group's rule. */
function watchNested(a: AgentContext, exec: ExecutorRecord, rec: TaskRecord): void {
  exec.containerizer.wait(nestedIdOf(exec, rec)).then(
    async (t) => {
      // The pod ended first (its holder died): its termination speaks for every task.
      if (exec.ended) return;
      if (!rec.terminalSent) {
        const killed = rec.killRequested === true && t.state !== TaskState.TASK_KILLED;
        queueExecutorStatus(a, exec, rec, {
          state: killed ? TaskState.TASK_KILLED : t.state,
          ...(t.message !== undefined ? { message: t.message } : {}),
          ...(t.reason !== undefined ? { reason: t.reason } : {}),
        });
        await rec.queue.idle();
      }
      await groupMemberEnded(a, exec, rec);
    },
    (err: Error) => a.log.error({ taskId: rec.task.taskId?.value, err: err.message }, 'lost track of a nested container'),
  );
}

/**
 * Mesos's default executor: a task of a group that did not finish well (failed, killed, lost)
 * kills the rest of its group; once no task of the executor is alive, the executor ends.
 */
async function groupMemberEnded(a: AgentContext, exec: ExecutorRecord, rec: TaskRecord): Promise<void> {
  const last = rec.task.statuses.at(-1)?.state ?? rec.task.state;
  if (last !== TaskState.TASK_FINISHED) {
    const rest = [...exec.tasks.values()].filter((t) => t.group === rec.group && t !== rec && !t.terminalSent);
    if (rest.length > 0) a.log.info({ taskId: rec.task.taskId?.value, rest: rest.length }, 'a task of the group ended badly: killing the rest of its group');
    await Promise.all(rest.map((t) => killNested(a, exec, t, undefined)));
  }
  const alive = [...exec.tasks.values()].some((t) => !t.terminalSent);
  if (!alive && exec.state !== 'terminated' && !exec.destroying) {
    a.log.info({ frameworkId: exec.frameworkId, executorId: exec.id }, 'the default executor has no task left: ending it');
    await destroy(a, exec, 0);
  }
}

/** Kills one task's nested container within its grace; its end (TASK_KILLED) is reported by watchNested. */
async function killNested(a: AgentContext, exec: ExecutorRecord, rec: TaskRecord, killPolicy: KillPolicy | undefined): Promise<void> {
  if (rec.terminalSent || rec.killRequested) return;
  await destroyNested(a, exec, rec, await recordKill(a, exec, rec, killPolicy));
}

function destroyNested(a: AgentContext, exec: ExecutorRecord, rec: TaskRecord, graceMs: number): Promise<unknown> {
  return exec.containerizer
    .destroy(nestedIdOf(exec, rec), { gracePeriodMs: graceMs })
    .catch((err: Error) => a.log.warn({ taskId: rec.task.taskId?.value, err: err.message }, 'destroy of a nested container failed'));
}

/** KILL of a task of a group: Mesos's default executor kills the whole group. */
export async function killOnDefaultExecutor(a: AgentContext, exec: ExecutorRecord, rec: TaskRecord, killPolicy: KillPolicy | undefined): Promise<void> {
  const group = [...exec.tasks.values()].filter((t) => t.group === rec.group && !t.terminalSent);
  await Promise.all(group.map((t) => killNested(a, exec, t, t === rec ? killPolicy : undefined)));
}
