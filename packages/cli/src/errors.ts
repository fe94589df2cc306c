import { status } from '@grpc/grpc-js';
import { IppcError, type IppcErrorOptions } from '@ippc/core';

/**
 * Why an `ippc` command refused or failed, each with what to do:
 * - `CLI_USAGE`: a flag or argument is malformed or flags contradict each other (nothing was done).
 * - `CLI_CONFIG_FILE`: the cluster file cannot be read.
 * - `CLI_NO_OFFER`: no agent offered enough resources for the task in time.
 * - `CLI_TASK_FAILED`: the task reached a terminal state instead of TASK_RUNNING (Mesos's reason and message attached).
 * - `CLI_TASK_NOT_FOUND`: no task with that id (or name) in the cluster.
 * - `CLI_UNAVAILABLE`: a component of the cluster did not answer.
 * - `CLI_NET_CHECK_FAILED`: the reachability check found no endpoint or could not start its probes.
 */
export type CliErrorCode =
  'CLI_USAGE' | 'CLI_CONFIG_FILE' | 'CLI_NO_OFFER' | 'CLI_TASK_FAILED' | 'CLI_TASK_NOT_FOUND' | 'CLI_UNAVAILABLE' | 'CLI_NET_CHECK_FAILED';

const GRPC: Record<CliErrorCode, (typeof status)[keyof typeof status]> = {
  CLI_USAGE: status.INVALID_ARGUMENT,
  CLI_CONFIG_FILE: status.INVALID_ARGUMENT,
  CLI_NO_OFFER: status.RESOURCE_EXHAUSTED,
  CLI_TASK_FAILED: status.ABORTED,
  CLI_TASK_NOT_FOUND: status.NOT_FOUND,
  CLI_UNAVAILABLE: status.UNAVAILABLE,
  CLI_NET_CHECK_FAILED: status.FAILED_PRECONDITION,
};

export class CliError extends IppcError<CliErrorCode> {
  constructor(code: CliErrorCode, message: string, options: IppcErrorOptions = {}) {
    super(code, GRPC[code], message, options);
    this.name = 'CliError';
  }
}
