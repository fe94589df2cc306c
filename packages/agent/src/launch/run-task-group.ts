import { randomUUID } from 'node:crypto';
import { ExecutorInfo_Type, TaskState, TaskStatus_Reason, type ExecutorInfo, type FrameworkInfo, type TaskGroupInfo, type TaskInfo } from '@ippc/proto';
import { checkpointFramework, checkpointRun, createSandbox, markRunCompleted } from '../checkpoint.js';
import { awaitSubscription, deliverQueued, DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT_MS, executorTimeouts } from '../executors/custom.js';
import { addGroup, POD_HOLDER, startGroup } from '../executors/default-executor.js';
import { maybeCompleteExecutor, watch } from '../executors/lifecycle.js';
import { frameworkRecord, taskRecord, type AgentContext, type ExecutorRecord, type FrameworkRecord, type TaskRecord } from '../model.js';
import { sendAgentStatus } from '../status/status-updates.js';
import { executorEnvironment } from './executor-info.js';
import { refuseForEndingExecutor } from './run-task.js';

// RUN_TASK_GROUP (Mesos's `Slave::runTaskGroup`): the tasks of a group start together under one
// executor. With the default executor (ExecutorInfo.type DEFAULT) the agent starts the executor's
// container once — it holds the pod's network namespace and addresses — and each task runs as a
// nested container in it (executors/default-executor.ts); a later group for the same executor
// only adds nested containers. A custom executor gets the group as one LAUNCH_GROUP event. If
// anything fails before the executor's container runs, every task of the group fails.

export async function runTaskGroup(a: AgentContext, frameworkInfo: FrameworkInfo, executor: ExecutorInfo, group: TaskGroupInfo): Promise<void> {
  try {
    await doRunTaskGroup(a, frameworkInfo, executor, group.tasks);
  } catch (err) {
    const fid = frameworkInfo.id?.value ?? '';
    a.log.error({ frameworkId: fid, executorId: executor.executorId?.value, err: (err as Error).message }, 'cannot run task group');
    const exec = a.frameworks.get(fid)?.executors.get(executor.executorId?.value ?? '');
    if (!exec) return;
    for (const t of group.tasks) {
      const rec = exec.tasks.get(t.taskId?.value ?? '');
      if (rec?.terminalSent) continue;
      await sendAgentStatus(
        a,
        fid,
        exec,
        t.taskId?.value ?? '',
        TaskState.TASK_FAILED,
        `Failed to launch container: ${(err as Error).message}`,
        TaskStatus_Reason.REASON_CONTAINER_LAUNCH_FAILED,
        false,
      );
    }
  }
}

async function doRunTaskGroup(a: AgentContext, frameworkInfo: FrameworkInfo, executor: ExecutorInfo, tasks: TaskInfo[]): Promise<void> {
  if (!a.id || a.stopped) return;
  const fid = frameworkInfo.id?.value ?? '';
  const f = frameworkRecord(a, frameworkInfo);
  f.info = frameworkInfo;
  await checkpointFramework(a.paths, a.id, frameworkInfo);
  if (tasks.some((t) => a.executorOfTask(fid, t.taskId?.value ?? ''))) {
    a.log.warn({ frameworkId: fid }, 'ignoring a task group whose tasks already run here');
    return;
  }
  const eid = executor.executorId?.value ?? '';
  const existing = f.executors.get(eid);
  if (existing && (existing.state === 'terminated' || existing.destroying)) {
    return refuseForEndingExecutor(
      a,
      frameworkInfo,
      existing,
      tasks.map((t) => t.taskId?.value ?? ''),
    );
  }
  if (existing?.kind === 'default') {
    // A pod that runs or is being launched: no container to start, no network work; the tasks join
    // it (the containerizer holds them until the pod runs).
    const records = await addGroup(a, frameworkInfo, existing, tasks);
    await startGroup(a, frameworkInfo, existing, records);
    return;
  }
  if (existing?.kind === 'custom') {
    queueForCustom(a, frameworkInfo, existing, tasks);
    for (const t of tasks)
      await checkpointRun(
        a.paths,
        a.id,
        fid,
        existing.info,
        existing.containerId,
        existing.containerizer.name,
        existing.tasks.get(t.taskId?.value ?? '')!.task,
      );
    deliverQueued(a, existing);
    return;
  }
  await startExecutor(a, f, frameworkInfo, executor, tasks);
}

/** The group's tasks, queued on a custom executor until it subscribes (then one LAUNCH_GROUP). */
function queueForCustom(a: AgentContext, frameworkInfo: FrameworkInfo, exec: ExecutorRecord, tasks: TaskInfo[]): void {
  const group = randomUUID();
  for (const task of tasks) exec.tasks.set(task.taskId?.value ?? '', taskRecord(a, frameworkInfo, task, { info: task, queued: true, group }));
}

/** A new executor for the group: its container launched (the pod holder for the default executor), then the tasks. */
async function startExecutor(a: AgentContext, f: FrameworkRecord, frameworkInfo: FrameworkInfo, executor: ExecutorInfo, tasks: TaskInfo[]): Promise<void> {
  const aid = a.id!;
  const eid = executor.executorId?.value ?? '';
  const kind = executor.type === ExecutorInfo_Type.CUSTOM || executor.command ? 'custom' : 'default';
  const containerizer = a.options.containerizers.find((c) => c.supports(executor.container));
  const containerId = randomUUID();
  const exec: ExecutorRecord = {
    id: eid,
    kind,
    frameworkId: f.id,
    info: executor,
    containerId,
    containerizer: containerizer ?? a.options.containerizers[0]!,
    sandbox: a.paths.sandbox(aid, f.id, eid, containerId),
    state: 'launching',
    tasks: new Map(),
    completedTasks: [],
  };
  f.executors.set(eid, exec);
  createSandbox(a.paths, aid, f.id, eid, containerId);
  // Checkpointed before the container starts, so an agent that dies now finds the run again.
  let records: TaskRecord[] = [];
  if (kind === 'custom') {
    queueForCustom(a, frameworkInfo, exec, tasks);
    for (const rec of exec.tasks.values()) await checkpointRun(a.paths, aid, f.id, exec.info, containerId, exec.containerizer.name, rec.task);
  } else {
    records = await addGroup(a, frameworkInfo, exec, tasks);
  }
  if (!containerizer) {
    exec.state = 'terminated';
    throw new Error(`No containerizer of this agent (${a.options.containerizers.map((c) => c.name).join(',')}) supports the executor's ContainerInfo`);
  }
  exec.launch = launchExecutorContainer(a, frameworkInfo, exec, tasks);
  // A pod's nested containers are made while its container joins its networks: the containerizer
  // holds each task (nothing exec'd) until the pod runs with its addresses, then lets it go.
  const group = kind === 'default' ? startGroup(a, frameworkInfo, exec, records) : undefined;
  if (!(await exec.launch)) {
    await group;
    return;
  }
  exec.state = 'running';
  watch(a, exec);
  if (kind === 'custom') {
    awaitSubscription(a, exec, a.options.executorRegistrationTimeoutMs ?? DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT_MS, 'register');
    return;
  }
  await group;
}

/** Starts the executor's container; false (and every task of the group failed) if it cannot. */
function launchExecutorContainer(a: AgentContext, frameworkInfo: FrameworkInfo, exec: ExecutorRecord, tasks: TaskInfo[]): Promise<boolean> {
  const aid = a.id ?? '';
  const { containerId, info: executor } = exec;
  const fid = exec.frameworkId;
  const eid = exec.id;
  const pod = exec.kind === 'default';
  return exec.containerizer
    .launch({
      containerId: { value: containerId },
      frameworkId: { value: fid },
      agentId: { value: aid },
      task: pod ? podTask(exec, aid) : tasks[0]!,
      executor: pod ? { ...executor, command: { shell: true, value: POD_HOLDER, uris: [], arguments: [] } } : executor,
      ...(executor.container ? { containerInfo: executor.container } : {}),
      sandboxDirectory: exec.sandbox,
      environment: executorEnvironment(
        frameworkInfo,
        executor,
        { agentId: aid, endpoint: `${a.options.ip}:${a.options.port}`, hostname: a.info.hostname ?? a.options.ip, containerId, sandbox: exec.sandbox },
        executorTimeouts(a, exec),
      ),
      // The executor's own container reports no task: the nested containers (or the custom executor) do.
      sendStatus: () => undefined,
    })
    .then(
      () => true,
      async (err: Error) => {
        a.launchFailures++;
        exec.state = 'terminated';
        for (const t of tasks)
          await sendAgentStatus(
            a,
            fid,
            exec,
            t.taskId?.value ?? '',
            TaskState.TASK_FAILED,
            `Failed to launch container: ${err.message}`,
            TaskStatus_Reason.REASON_CONTAINER_LAUNCH_FAILED,
            false,
          );
        await markRunCompleted(a.paths, aid, fid, eid, containerId).catch(() => undefined);
        maybeCompleteExecutor(a, exec);
        return false;
      },
    );
}

/** The default executor's container as the containerizer sees it: a task that holds the pod. */
function podTask(exec: ExecutorRecord, agentId: string): TaskInfo {
  return {
    name: `default executor ${exec.id}`,
    taskId: { value: exec.id },
    agentId: { value: agentId },
    resources: exec.info.resources ?? [],
    command: { shell: true, value: POD_HOLDER, uris: [], arguments: [] },
    ...(exec.info.container ? { container: exec.info.container } : {}),
    limits: {},
  };
}
