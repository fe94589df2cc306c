import { status } from '@grpc/grpc-js';
import { IppcError, fromServiceError, type GrpcCode, type IppcErrorOptions } from '@ippc/core';

/**
 * The closed set of IPAM error codes. Each names one condition and one gRPC status; the CNI plugin
 * maps each to its own CNI error code (see `CNI_ERROR_CODES` in the CNI handler).
 */
export const IPAM_ERROR_CODES = {
  /** No assignable address left in the pools asked (cooling addresses count as unavailable). */
  IPAM_POOL_EXHAUSTED: status.RESOURCE_EXHAUSTED,
  /** The requested address is assigned to another handle, or cooling down after a release. */
  IPAM_ADDRESS_TAKEN: status.ALREADY_EXISTS,
  /** The requested address is in no pool of the network, or is reserved (gateway, network, excluded). */
  IPAM_ADDRESS_OUTSIDE_POOL: status.OUT_OF_RANGE,
  /** The network has no pools (or the named pool does not exist). */
  IPAM_UNKNOWN_NETWORK: status.NOT_FOUND,
  /** The request is malformed: names, addresses, ranges. */
  IPAM_BAD_REQUEST: status.INVALID_ARGUMENT,
  /** EnsurePool: the id exists with another definition, or the ranges overlap another pool. */
  IPAM_POOL_CONFLICT: status.FAILED_PRECONDITION,
  /** GetLease: the handle holds no lease. */
  IPAM_LEASE_NOT_FOUND: status.NOT_FOUND,
  /** Too many concurrent writers touched the same keys; nothing was assigned. Retry. */
  IPAM_CONFLICT: status.ABORTED,
  /** The store or the service cannot be reached; nothing was assigned. Retry later. */
  IPAM_UNAVAILABLE: status.UNAVAILABLE,
} as const satisfies Record<string, GrpcCode>;

export type IpamErrorCode = keyof typeof IPAM_ERROR_CODES;

/** Every error the IPAM service, its stores, its client and its node daemon throw on purpose. */
export class IpamError extends IppcError<IpamErrorCode> {
  constructor(code: IpamErrorCode, message: string, options?: IppcErrorOptions) {
    super(code, IPAM_ERROR_CODES[code], message, options);
    this.name = 'IpamError';
  }
}

/** IPAM_BAD_REQUEST with a message that names the field and shows the expected shape. */
export function bad(message: string, details?: Record<string, unknown>): IpamError {
  return new IpamError('IPAM_BAD_REQUEST', message, { details });
}

export function isIpamError(err: unknown, ...codes: IpamErrorCode[]): err is IpamError {
  return err instanceof IpamError && (codes.length === 0 || codes.includes(err.code));
}

/**
 * The client side of the gRPC edge: the typed IpamError the service threw, or IPAM_UNAVAILABLE for
 * transport failures (service down, deadline exceeded), so callers switch on one closed set.
 */
export function toIpamError(err: unknown): IpamError {
  if (err instanceof IpamError) return err;
  const e = fromServiceError(err);
  if (e.code in IPAM_ERROR_CODES) return new IpamError(e.code as IpamErrorCode, e.message, { cause: err, details: e.details });
  if (e.grpcCode === status.UNAVAILABLE || e.grpcCode === status.DEADLINE_EXCEEDED || e.grpcCode === status.CANCELLED) {
    return new IpamError('IPAM_UNAVAILABLE', `IPAM service unreachable (${e.code}: ${e.message}); check that ippc-ipam-server runs and retry`, { cause: err });
  }
  if (e.grpcCode === status.UNAUTHENTICATED) {
    return new IpamError('IPAM_BAD_REQUEST', `IPAM service refused the credentials: ${e.message}`, { cause: err });
  }
  return new IpamError('IPAM_UNAVAILABLE', `IPAM call failed (${e.code}): ${e.message}`, { cause: err });
}
