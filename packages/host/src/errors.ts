import { status } from '@grpc/grpc-js';
import { IppcError, type IppcErrorOptions } from '@ippc/core';

/** Why the host cannot be prepared. */
export type HostErrorCode =
  /** A command exited non-zero; `output` holds what it printed. */
  | 'HOST_COMMAND_FAILED'
  /** Something must be installed or changed by hand; the message says what. */
  | 'HOST_UNSUPPORTED'
  /** The Docker daemon did not answer in time. */
  | 'HOST_DOCKER_UNAVAILABLE'
  /** An image could not be built. */
  | 'HOST_IMAGE_BUILD_FAILED';

const grpcCodes: Record<HostErrorCode, number> = {
  HOST_COMMAND_FAILED: status.INTERNAL,
  HOST_UNSUPPORTED: status.FAILED_PRECONDITION,
  HOST_DOCKER_UNAVAILABLE: status.UNAVAILABLE,
  HOST_IMAGE_BUILD_FAILED: status.INTERNAL,
};

export class HostError extends IppcError<HostErrorCode> {
  constructor(code: HostErrorCode, message: string, options?: IppcErrorOptions) {
    super(code, grpcCodes[code] as never, message, options);
    this.name = 'HostError';
  }
}
