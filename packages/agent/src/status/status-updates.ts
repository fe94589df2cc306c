import { Mutex, type ExecutorStatus } from '@ippc/core';
import { createTaskStatus, isTerminalState, recordStatus } from '@ippc/mesos';
import { NetworkInfo_Protocol, TaskState, TaskStatus_Source, type ContainerStatus, type TaskStatus, type TaskStatus_Reason } from '@ippc/proto';
import type { AgentContext, ExecutorRecord, TaskRecord } from '../model.js';

// The statuses of the tasks the agent runs: those the executor sends (through the containerizer's
// `sendStatus`), merged with the containerizer's ContainerStatus, and those the agent decides
// itself. Each task's statuses are built and queued in order; the first terminal one wins.

/**
 * Merges what the executor sent with the containerizer's ContainerStatus (protobuf MergeFrom:
 * repeated fields appended) and, when there are still no network_infos, adds one NetworkInfo with
 * the agent's IP (and IPv6), Mesos's rule for tasks on the agent's network.
 */
export function mergeContainerStatus(
  fromExecutor: ContainerStatus | undefined,
  fromContainerizer: ContainerStatus | undefined,
  agentIp: string,
  agentIp6?: string,
): ContainerStatus {
  const out: ContainerStatus = { networkInfos: [...(fromExecutor?.networkInfos ?? [])] };
  for (const src of [fromExecutor, fromContainerizer]) {
    if (!src) continue;
    if (src.containerId) out.containerId = src.containerId;
    if (src.cgroupInfo) out.cgroupInfo = src.cgroupInfo;
    if (src.executorPid !== undefined) out.executorPid = src.executorPid;
  }
  out.networkInfos.push(...(fromContainerizer?.networkInfos ?? []));
  if (out.networkInfos.length === 0) {
    out.networkInfos.push({
      ipAddresses: [{ ipAddress: agentIp }, ...(agentIp6 ? [{ protocol: NetworkInfo_Protocol.IPv6, ipAddress: agentIp6 }] : [])],
      groups: [],
      portMappings: [],
    });
  }
  return out;
}

async function containerStatus(a: AgentContext, exec: ExecutorRecord, fromExecutor: ContainerStatus | undefined): Promise<ContainerStatus> {
  const fromContainerizer = await exec.containerizer.status(exec.containerId).catch(() => undefined);
  return mergeContainerStatus(fromExecutor, fromContainerizer, a.options.ip, a.options.ip6);
}

/** Keeps the status in the task's history and hands it to the status update manager. */
async function record(a: AgentContext, fid: string, rec: TaskRecord, status: TaskStatus): Promise<void> {
  recordStatus(rec.task, status);
  a.log.info({ frameworkId: fid, taskId: status.taskId?.value, state: TaskState[status.state ?? 0], message: status.message }, 'status update');
  await a.sum.update(fid, status);
}

/** A status the agent itself generates (no executor involved). */
export async function sendAgentStatus(
  a: AgentContext,
  fid: string,
  exec: ExecutorRecord,
  tid: string,
  state: TaskState,
  message: string,
  reason: TaskStatus_Reason,
  withContainer: boolean,
): Promise<void> {
  let t = exec.tasks.get(tid);
  if (!t) {
    t = {
      task: {
        taskId: { value: tid },
        frameworkId: { value: fid },
        agentId: { value: a.id ?? '' },
        name: tid,
        state: TaskState.TASK_STAGING,
        resources: [],
        statuses: [],
        limits: {},
      },
      queue: new Mutex(),
      terminalSent: false,
    };
  }
  const rec = t;
  if (isTerminalState(state)) rec.terminalSent = true;
  await rec.queue.run(async () => {
    const status = createTaskStatus({
      taskId: tid,
      state,
      message,
      source: TaskStatus_Source.SOURCE_AGENT,
      reason,
      agentId: a.id ?? '',
      executorId: exec.id,
      uuid: true,
      ...(withContainer ? { containerStatus: await containerStatus(a, exec, undefined) } : {}),
    });
    await record(a, fid, rec, status);
  });
}

/** The containerizer's `sendStatus`, in order per task. */
export function queueExecutorStatus(a: AgentContext, exec: ExecutorRecord, rec: TaskRecord, s: ExecutorStatus): void {
  // A containerizer may send its own terminal status (e.g. the Docker executor's TASK_FAILED) and
  // then fail or end: the first terminal status wins, decided now rather than once it is built.
  if (rec.terminalSent) return;
  if (isTerminalState(s.state)) rec.terminalSent = true;
  void rec.queue
    .run(async () => {
      const status = createTaskStatus({
        taskId: rec.task.taskId ?? {},
        state: s.state,
        message: s.message,
        source: s.source ?? TaskStatus_Source.SOURCE_EXECUTOR,
        reason: s.reason,
        agentId: a.id ?? '',
        executorId: exec.id,
        uuid: true,
        data: s.data,
        healthy: s.healthy,
        containerStatus: await containerStatus(a, exec, s.containerStatus),
      });
      await record(a, exec.frameworkId, rec, status);
    })
    .catch((err: Error) => a.log.error({ err: err.message }, 'failed to record a status update'));
}

/**
 * An UPDATE from a custom executor (Mesos's `Slave::statusUpdate`): its uuid kept (the executor
 * waits for ACKNOWLEDGED with it), the agent's and executor's ids stamped, the containerizer's
 * ContainerStatus merged in (the executor's addresses), in order per task. A repeated uuid (an
 * executor resending after it re-subscribed) is not recorded twice. For a task the executor does
 * not run, Mesos still forwards the update, without a container status; so does the agent.
 */
export async function queueCustomExecutorStatus(a: AgentContext, exec: ExecutorRecord, status: TaskStatus): Promise<void> {
  const tid = status.taskId?.value ?? '';
  const stamped: TaskStatus = {
    ...status,
    agentId: { value: a.id ?? '' },
    executorId: { value: exec.id },
    source: TaskStatus_Source.SOURCE_EXECUTOR,
    timestamp: status.timestamp ?? Date.now() / 1000,
  };
  const rec = exec.tasks.get(tid);
  if (!rec) {
    a.log.warn({ frameworkId: exec.frameworkId, executorId: exec.id, taskId: tid }, 'status update for a task the executor does not run; forwarding it');
    await a.sum.update(exec.frameworkId, stamped);
    return;
  }
  const uuid = Buffer.from(status.uuid ?? []);
  await rec.queue.run(async () => {
    if (rec.task.statuses.some((s) => s.uuid && Buffer.from(s.uuid).equals(uuid))) return;
    if (rec.terminalSent) {
      a.log.warn({ taskId: tid, state: TaskState[status.state ?? 0] }, 'ignoring an update after the task ended');
      return;
    }
    if (isTerminalState(status.state)) rec.terminalSent = true;
    await record(a, exec.frameworkId, rec, { ...stamped, containerStatus: await containerStatus(a, exec, status.containerStatus) });
  });
}
