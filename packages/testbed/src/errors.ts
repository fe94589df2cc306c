import { status } from '@grpc/grpc-js';
import { IppcError, type IppcErrorOptions } from '@ippc/core';

/**
 * Why the testbed refused or failed, each with what to do:
 * - `TESTBED_DOCKER_UNAVAILABLE`: no Docker daemon answers on the socket.
 * - `TESTBED_IMAGE_MISSING`: the node image is not on the daemon (it is built, never pulled).
 * - `TESTBED_BINS_MISSING`: a component has neither a bundle nor sources in the workspace.
 * - `TESTBED_CLUSTER_EXISTS`: a cluster of that name (labels) already runs.
 * - `TESTBED_CLUSTER_NOT_FOUND`: no container carries that cluster's labels.
 * - `TESTBED_START_FAILED`: a container or daemon did not start; everything was rolled back unless retained.
 * - `TESTBED_NOT_READY`: a component did not become ready in time (its log tail is in `output`).
 * - `TESTBED_EXEC_FAILED`: a command inside a node failed.
 */
export type TestbedErrorCode =
  | 'TESTBED_DOCKER_UNAVAILABLE'
  | 'TESTBED_IMAGE_MISSING'
  | 'TESTBED_BINS_MISSING'
  | 'TESTBED_CLUSTER_EXISTS'
  | 'TESTBED_CLUSTER_NOT_FOUND'
  | 'TESTBED_START_FAILED'
  | 'TESTBED_NOT_READY'
  | 'TESTBED_EXEC_FAILED';

const GRPC: Record<TestbedErrorCode, (typeof status)[keyof typeof status]> = {
  TESTBED_DOCKER_UNAVAILABLE: status.UNAVAILABLE,
  TESTBED_IMAGE_MISSING: status.FAILED_PRECONDITION,
  TESTBED_BINS_MISSING: status.FAILED_PRECONDITION,
  TESTBED_CLUSTER_EXISTS: status.ALREADY_EXISTS,
  TESTBED_CLUSTER_NOT_FOUND: status.NOT_FOUND,
  TESTBED_START_FAILED: status.INTERNAL,
  TESTBED_NOT_READY: status.DEADLINE_EXCEEDED,
  TESTBED_EXEC_FAILED: status.INTERNAL,
};

export class TestbedError extends IppcError<TestbedErrorCode> {
  constructor(code: TestbedErrorCode, message: string, options: IppcErrorOptions = {}) {
    super(code, GRPC[code], message, options);
    this.name = 'TestbedError';
  }
}
