import { status } from '@grpc/grpc-js';
import { IppcError, type GrpcCode, type IppcErrorOptions } from '@ippc/core';

/** The closed set of error codes of @ippc/master, each with the gRPC status it becomes. */
export const MASTER_ERROR_CODES = {
  /** A call that breaks Mesos's call validation (the message is Mesos's). */
  CALL_INVALID: status.INVALID_ARGUMENT,
  /** A call kind ippc does not implement (SHUTDOWN of custom executors, MESSAGE, inverse offers). */
  CALL_UNSUPPORTED: status.UNIMPLEMENTED,
  /** A call for a framework the master does not know (subscribe first). */
  FRAMEWORK_UNKNOWN: status.NOT_FOUND,
  /** A call for a known framework that has no open subscription right now. */
  FRAMEWORK_NOT_SUBSCRIBED: status.FAILED_PRECONDITION,
  /** A call whose `mesos-stream-id` is missing or belongs to another subscription. */
  STREAM_MISMATCH: status.PERMISSION_DENIED,
  /** A framework that was torn down or timed out tries to come back. */
  FRAMEWORK_REMOVED: status.FAILED_PRECONDITION,
  /** An acknowledgement or reconciliation names an agent the master does not know. */
  AGENT_UNKNOWN: status.NOT_FOUND,
  /** An acknowledgement names a task the framework does not have. */
  TASK_UNKNOWN: status.NOT_FOUND,
  /** An agent's (re)registration breaks Mesos's validation, or it talks before registering. */
  AGENT_INVALID: status.INVALID_ARGUMENT,
  /** Bad flags or options at start. */
  MASTER_CONFIG_INVALID: status.INVALID_ARGUMENT,
} as const satisfies Record<string, GrpcCode>;

export type MasterErrorCode = keyof typeof MASTER_ERROR_CODES;

export class MasterError extends IppcError<MasterErrorCode> {
  constructor(code: MasterErrorCode, message: string, options?: IppcErrorOptions) {
    super(code, MASTER_ERROR_CODES[code], message, options);
    this.name = 'MasterError';
  }
}
