import { randomBytes } from 'node:crypto';
import type { ContainerStatus, Labels, TaskID, TaskState, TaskStatus, TaskStatus_Reason, TaskStatus_Source, TimeInfo } from '@ippc/proto';

// Every TaskStatus that ippc itself writes is built here, as Mesos builds every status through
// `protobuf::createTaskStatus` (src/common/protobuf_utils.cpp) in master and agent alike. A status
// that is not built here is one an executor sent, merged by the agent (and even that passes here).

/** What a status says; see {@link createTaskStatus}. */
export interface TaskStatusSpec {
  taskId: string | TaskID;
  state: TaskState;
  /** Who decided: the master (`SOURCE_MASTER`), the agent, or the executor. */
  source: TaskStatus_Source;
  reason?: TaskStatus_Reason;
  message?: string;
  /** Left out when undefined (a master status about a task on no known agent). */
  agentId?: string;
  executorId?: string;
  containerStatus?: ContainerStatus;
  /**
   * `true`: a fresh random uuid, for a status that goes through the agent's status update manager
   * and must be acknowledged. Master statuses carry none (nothing to acknowledge), as in Mesos.
   */
  uuid?: true | Uint8Array;
  data?: Uint8Array;
  healthy?: boolean;
  labels?: Labels;
  unreachableTime?: TimeInfo;
  /** Seconds since the epoch. Default: now. */
  timestamp?: number;
}

/** The one TaskStatus factory (Mesos's `protobuf::createTaskStatus`). */
export function createTaskStatus(spec: TaskStatusSpec): TaskStatus {
  const uuid = spec.uuid === true ? randomBytes(16) : spec.uuid && Buffer.from(spec.uuid);
  return {
    taskId: typeof spec.taskId === 'string' ? { value: spec.taskId } : spec.taskId,
    state: spec.state,
    ...(spec.message !== undefined ? { message: spec.message } : {}),
    source: spec.source,
    ...(spec.reason !== undefined ? { reason: spec.reason } : {}),
    ...(spec.agentId !== undefined ? { agentId: { value: spec.agentId } } : {}),
    ...(spec.executorId !== undefined ? { executorId: { value: spec.executorId } } : {}),
    timestamp: spec.timestamp ?? Date.now() / 1000,
    ...(uuid ? { uuid } : {}),
    ...(spec.data ? { data: Buffer.from(spec.data) } : {}),
    ...(spec.healthy !== undefined ? { healthy: spec.healthy } : {}),
    ...(spec.labels ? { labels: spec.labels } : {}),
    ...(spec.containerStatus ? { containerStatus: spec.containerStatus } : {}),
    ...(spec.unreachableTime ? { unreachableTime: spec.unreachableTime } : {}),
  };
}
