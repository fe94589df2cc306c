import { status as GrpcStatus } from '@grpc/grpc-js';
import { IppcError, messageOf, type IppcErrorOptions } from '@ippc/core';

/**
 * The closed set of codes this package throws with {@link DockerContainerizerError}.
 *
 * - `DOCKER_RUN_OPTIONS_INVALID`: the task's ContainerInfo cannot become a container (Mesos's
 *   `Docker::RunOptions::create` errors, verbatim, e.g. `No network info found in container info`).
 *   The containerizer reports it as Mesos's docker executor does: TASK_FAILED with
 *   `Failed to create docker run options: <message>`.
 * - `DOCKER_PARAMETER_UNSUPPORTED`: a `DockerInfo.parameters` entry has no Engine API equivalent
 *   here (or a malformed value); reported the same way.
 * - `DOCKER_OPTIONS_INVALID`: {@link DockerContainerizerOptions} (or a host port forwarder's
 *   options) are wrong (fix the caller).
 * - `DOCKER_AGENT_UNREACHABLE`: a custom executor would run on a Docker network where it cannot
 *   reach the agent's executor API (the agent is a container with no address on that network). A
 *   launch failure: nothing is created.
 * - `DOCKER_HOST_PORTS_FAILED`: published host ports cannot be forwarded to the agent's addresses
 *   (`nft` missing or refusing the table, a sysctl that cannot be set); the message says which, the
 *   command's output is attached. A launch that hits it fails its task and leaves nothing behind.
 */
export type DockerContainerizerErrorCode =
  'DOCKER_RUN_OPTIONS_INVALID' | 'DOCKER_PARAMETER_UNSUPPORTED' | 'DOCKER_OPTIONS_INVALID' | 'DOCKER_AGENT_UNREACHABLE' | 'DOCKER_HOST_PORTS_FAILED';

export class DockerContainerizerError extends IppcError<DockerContainerizerErrorCode> {
  constructor(code: DockerContainerizerErrorCode, message: string, options?: IppcErrorOptions) {
    // The host, not the caller, is at fault when ports cannot be forwarded or the agent cannot be reached.
    super(
      code,
      code === 'DOCKER_HOST_PORTS_FAILED' || code === 'DOCKER_AGENT_UNREACHABLE' ? GrpcStatus.FAILED_PRECONDITION : GrpcStatus.INVALID_ARGUMENT,
      message,
      options,
    );
    this.name = 'DockerContainerizerError';
  }
}

/** A run-options error; `message` is what follows `Failed to create docker run options: `. */
export function runOptionsError(message: string, details?: Record<string, unknown>): DockerContainerizerError {
  return new DockerContainerizerError('DOCKER_RUN_OPTIONS_INVALID', message, details ? { details } : undefined);
}

/** The message of a daemon error, without dockerode's `(HTTP code 404) no such container - ` prefix. */
export function daemonMessage(err: unknown): string {
  if (err && typeof err === 'object') {
    const json = (err as { json?: unknown }).json;
    if (json && typeof json === 'object' && typeof (json as { message?: unknown }).message === 'string') {
      return (json as { message: string }).message;
    }
    if (Buffer.isBuffer(json)) {
      try {
        const parsed = JSON.parse(json.toString('utf8')) as { message?: string };
        if (parsed.message) return parsed.message;
      } catch {
        /* fall through to the plain message */
      }
    }
  }
  return messageOf(err);
}

/** The HTTP status of a daemon error (404, 409, ...), if it has one. */
export function daemonStatus(err: unknown): number | undefined {
  const code = err && typeof err === 'object' ? (err as { statusCode?: unknown }).statusCode : undefined;
  return typeof code === 'number' ? code : undefined;
}
