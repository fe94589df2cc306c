import { status } from '@grpc/grpc-js';
import { IppcError, type GrpcCode, type IppcErrorOptions } from '@ippc/core';

/** The closed set of error codes of @ippc/agent, each with the gRPC status it becomes. */
export const AGENT_ERROR_CODES = {
  /** Bad flags or options (resources, addresses, containerizers, modules). */
  AGENT_CONFIG_INVALID: status.INVALID_ARGUMENT,
  /** The master refused this agent (bad credentials, invalid registration, shut down). */
  AGENT_REFUSED: status.PERMISSION_DENIED,
  /** A checkpoint under `--work_dir` cannot be read back. */
  CHECKPOINT_INVALID: status.DATA_LOSS,
} as const satisfies Record<string, GrpcCode>;

export type AgentErrorCode = keyof typeof AGENT_ERROR_CODES;

export class AgentError extends IppcError<AgentErrorCode> {
  constructor(code: AgentErrorCode, message: string, options?: IppcErrorOptions) {
    super(code, AGENT_ERROR_CODES[code], message, options);
    this.name = 'AgentError';
  }
}
