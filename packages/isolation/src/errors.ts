import { status } from '@grpc/grpc-js';
import { CNI_SPEC_ERROR_CODES, IppcError, type GrpcCode, type IppcErrorOptions } from '@ippc/core';

/**
 * The closed set of error codes of the isolation provider. Each names one gRPC status (below), so
 * a typed client rethrows the error the service threw, and one CNI error code (plugin edge).
 */
export type IsolationErrorCode =
  /** A request is malformed: bad address, group, rule, port or CIDR. Fix the input. */
  | 'ISOLATION_BAD_REQUEST'
  /** An agent id that is not registered. Register it (the node daemon does) or fix the id. */
  | 'ISOLATION_UNKNOWN_AGENT'
  /** A rule id that does not exist. List rules to find the id. */
  | 'ISOLATION_UNKNOWN_RULE'
  /** A rule id given explicitly is already used by a different rule. Pick another id or remove the old rule. */
  | 'ISOLATION_RULE_CONFLICT'
  /** An address is held by another member. Detach that member (or deregister its dead agent). */
  | 'ISOLATION_ADDRESS_IN_USE'
  /** A subnet overlaps another agent's subnet. Give each agent its own subnet. */
  | 'ISOLATION_SUBNET_CONFLICT'
  /** nft or ip failed on an agent; the output is kept. */
  | 'ISOLATION_ENFORCEMENT_FAILED'
  /** The agent's network namespace does not pass bridged traffic through netfilter. */
  | 'ISOLATION_BRIDGE_NETFILTER'
  /** A wait (for the local enforcer, for all agents) ran out of time. */
  | 'ISOLATION_TIMEOUT'
  /** The isolation service (or the node daemon) cannot be reached. */
  | 'ISOLATION_UNAVAILABLE'
  /** A CNI CHECK found the attachment not as ADD left it. */
  | 'ISOLATION_CHECK_FAILED';

const GRPC: Record<IsolationErrorCode, GrpcCode> = {
  ISOLATION_BAD_REQUEST: status.INVALID_ARGUMENT,
  ISOLATION_UNKNOWN_AGENT: status.NOT_FOUND,
  ISOLATION_UNKNOWN_RULE: status.NOT_FOUND,
  ISOLATION_RULE_CONFLICT: status.ALREADY_EXISTS,
  ISOLATION_ADDRESS_IN_USE: status.FAILED_PRECONDITION,
  ISOLATION_SUBNET_CONFLICT: status.FAILED_PRECONDITION,
  ISOLATION_ENFORCEMENT_FAILED: status.INTERNAL,
  ISOLATION_BRIDGE_NETFILTER: status.FAILED_PRECONDITION,
  ISOLATION_TIMEOUT: status.DEADLINE_EXCEEDED,
  ISOLATION_UNAVAILABLE: status.UNAVAILABLE,
  ISOLATION_CHECK_FAILED: status.FAILED_PRECONDITION,
};

/** CNI error codes (SPEC §"Error", @ippc/core's CNI_SPEC_ERROR_CODES): try again later, invalid network config, internal. */
const { TRY_AGAIN_LATER, INVALID_CONFIG, INTERNAL } = CNI_SPEC_ERROR_CODES;
const CNI: Record<IsolationErrorCode, number> = {
  ISOLATION_BAD_REQUEST: INVALID_CONFIG,
  ISOLATION_UNKNOWN_AGENT: TRY_AGAIN_LATER,
  ISOLATION_UNKNOWN_RULE: INVALID_CONFIG,
  ISOLATION_RULE_CONFLICT: INVALID_CONFIG,
  ISOLATION_ADDRESS_IN_USE: TRY_AGAIN_LATER,
  ISOLATION_SUBNET_CONFLICT: INVALID_CONFIG,
  ISOLATION_ENFORCEMENT_FAILED: INTERNAL,
  ISOLATION_BRIDGE_NETFILTER: INTERNAL,
  ISOLATION_TIMEOUT: TRY_AGAIN_LATER,
  ISOLATION_UNAVAILABLE: TRY_AGAIN_LATER,
  ISOLATION_CHECK_FAILED: INTERNAL,
};

export class IsolationError extends IppcError<IsolationErrorCode> {
  constructor(code: IsolationErrorCode, message: string, options?: IppcErrorOptions) {
    super(code, GRPC[code], message, options);
    this.name = 'IsolationError';
  }

  /** The CNI error code a plugin prints for this error. */
  get cniCode(): number {
    return CNI[this.code];
  }
}

/** The CNI error code for any error (an IppcError from the service keeps its meaning). */
export function cniCodeOf(err: unknown): number {
  if (err instanceof IsolationError) return err.cniCode;
  if (err instanceof IppcError && err.code in CNI) return CNI[err.code as IsolationErrorCode];
  if (err instanceof IppcError && (err.grpcCode === status.UNAVAILABLE || err.grpcCode === status.DEADLINE_EXCEEDED)) return TRY_AGAIN_LATER;
  return INTERNAL;
}

export function badRequest(message: string, details?: Record<string, unknown>): IsolationError {
  return new IsolationError('ISOLATION_BAD_REQUEST', message, { details });
}
