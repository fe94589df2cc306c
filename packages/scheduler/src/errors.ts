import { status } from '@grpc/grpc-js';
import { IppcError, type GrpcCode, type IppcErrorOptions } from '@ippc/core';

/** The closed set of error codes of @ippc/scheduler. */
export type SchedulerErrorCode =
  /** An offer that cannot hold the task asked of it. */
  | 'RESOURCES_INVALID'
  /** A TaskSpec that cannot become a TaskInfo (neither or both of command and executor; an executor in a task of a group). */
  | 'TASK_SPEC_INVALID'
  /** The master refused the subscription or a call; `grpcCode` is the master's status, the message its words. */
  | 'SCHEDULER_CALL_FAILED'
  /** A call was made before SUBSCRIBED arrived (or while re-subscribing). */
  | 'SCHEDULER_NOT_SUBSCRIBED'
  /** The event stream ended (master gone, framework failed over or torn down, scheduler closed). */
  | 'SCHEDULER_DISCONNECTED'
  /** Waiting for offers or a status took longer than the caller allowed. */
  | 'SCHEDULER_TIMEOUT'
  /** A state endpoint could not be read, or answered with something other than the Mesos JSON model. */
  | 'STATE_UNAVAILABLE';

const GRPC: Record<SchedulerErrorCode, GrpcCode> = {
  RESOURCES_INVALID: status.INVALID_ARGUMENT,
  TASK_SPEC_INVALID: status.INVALID_ARGUMENT,
  SCHEDULER_CALL_FAILED: status.FAILED_PRECONDITION,
  SCHEDULER_NOT_SUBSCRIBED: status.FAILED_PRECONDITION,
  SCHEDULER_DISCONNECTED: status.UNAVAILABLE,
  SCHEDULER_TIMEOUT: status.DEADLINE_EXCEEDED,
  STATE_UNAVAILABLE: status.UNAVAILABLE,
};

export interface SchedulerErrorOptions extends IppcErrorOptions {
  /** The gRPC status the master answered with, when the error comes from the master. */
  grpcCode?: number;
}

export class SchedulerError extends IppcError<SchedulerErrorCode> {
  constructor(code: SchedulerErrorCode, message: string, options: SchedulerErrorOptions = {}) {
    super(code, (options.grpcCode ?? GRPC[code]) as GrpcCode, message, options);
    this.name = 'SchedulerError';
  }
}
