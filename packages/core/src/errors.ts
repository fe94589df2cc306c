import { Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';

/**
 * The gRPC status an error maps to at a service edge. Every error code in ippc names exactly one,
 * so a client can rebuild the typed error from the status and the `ippc-error-code` trailer.
 */
export type GrpcCode = (typeof GrpcStatus)[keyof typeof GrpcStatus];

/** Options shared by every {@link IppcError}. */
export interface IppcErrorOptions {
  /** The lower-level error that caused this one. */
  cause?: unknown;
  /** Structured context (addresses, names, limits) that a caller or a log may use. */
  details?: Record<string, unknown>;
  /** Output of a failed command (stdout/stderr), kept verbatim for the operator. */
  output?: { stdout?: string; stderr?: string; exitCode?: number | null };
}

/**
 * Base class of every error ippc throws on purpose. `code` is a stable, SCREAMING_SNAKE name from
 * the closed set of the package that throws it (for example `IPAM_POOL_EXHAUSTED`); `message`
 * says what happened and what to do; `grpcCode` is what the error becomes on the wire.
 */
export class IppcError<C extends string = string> extends Error {
  readonly code: C;
  readonly grpcCode: GrpcCode;
  readonly details: Record<string, unknown>;
  readonly output: IppcErrorOptions['output'];

  constructor(code: C, grpcCode: GrpcCode, message: string, options: IppcErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'IppcError';
    this.code = code;
    this.grpcCode = grpcCode;
    this.details = options.details ?? {};
    this.output = options.output;
  }

  /** A plain object for `--json` output and structured logs. */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(Object.keys(this.details).length > 0 ? { details: this.details } : {}),
      ...(this.output ? { output: this.output } : {}),
    };
  }
}

/** True when `err` is an {@link IppcError}, optionally with one of the given codes. */
export function isIppcError<C extends string>(err: unknown, ...codes: C[]): err is IppcError<C> {
  return err instanceof IppcError && (codes.length === 0 || codes.includes(err.code as C));
}

const CODE_KEY = 'ippc-error-code';
const DETAILS_KEY = 'ippc-error-details-bin';

/**
 * Converts anything thrown inside a gRPC handler into a `ServiceError` for the callback. An
 * {@link IppcError} keeps its code and details in trailers; anything else becomes INTERNAL with
 * the message kept (never a stack trace).
 */
export function toServiceError(err: unknown): Partial<ServiceError> {
  const metadata = new Metadata();
  if (err instanceof IppcError) {
    metadata.set(CODE_KEY, err.code);
    if (Object.keys(err.details).length > 0) {
      metadata.set(DETAILS_KEY, Buffer.from(JSON.stringify(err.details)));
    }
    return { code: err.grpcCode, details: err.message, metadata };
  }
  const message = messageOf(err);
  metadata.set(CODE_KEY, 'INTERNAL');
  return { code: GrpcStatus.INTERNAL, details: message, metadata };
}

/**
 * Rebuilds a typed error from a failed gRPC call: the code from the trailer when the server was an
 * ippc service, else a transport code such as `UNAVAILABLE` or `DEADLINE_EXCEEDED`.
 */
export function fromServiceError(err: unknown): IppcError {
  if (err instanceof IppcError) return err;
  const se = err as Partial<ServiceError> | undefined;
  if (se && typeof se.code === 'number') {
    const code = (se.metadata?.get(CODE_KEY)[0] as string | undefined) ?? grpcCodeName(se.code);
    const rawDetails = se.metadata?.get(DETAILS_KEY)[0];
    let details: Record<string, unknown> | undefined;
    if (Buffer.isBuffer(rawDetails)) {
      try {
        details = JSON.parse(rawDetails.toString('utf8')) as Record<string, unknown>;
      } catch {
        details = undefined;
      }
    }
    return new IppcError(code, se.code as GrpcCode, se.details || se.message || code, { cause: err, details });
  }
  const message = messageOf(err);
  return new IppcError('INTERNAL', GrpcStatus.INTERNAL, message, { cause: err });
}

/** The message of anything thrown: an Error's message, else the value as a string. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The name of a numeric gRPC status, for example 14 -> `UNAVAILABLE`. */
export function grpcCodeName(code: number): string {
  for (const [name, value] of Object.entries(GrpcStatus)) if (value === code) return name;
  return 'UNKNOWN';
}

/**
 * A container could not be launched. `message` is what Mesos would put after
 * `Failed to launch container: ` (e.g. `Unknown CNI network 'blue'`).
 */
export class ContainerizerError extends IppcError<'CONTAINER_LAUNCH_FAILED' | 'CONTAINER_NOT_FOUND' | 'CONTAINER_DESTROY_FAILED'> {
  constructor(code: 'CONTAINER_LAUNCH_FAILED' | 'CONTAINER_NOT_FOUND' | 'CONTAINER_DESTROY_FAILED', message: string, options?: IppcErrorOptions) {
    super(code, code === 'CONTAINER_NOT_FOUND' ? GrpcStatus.NOT_FOUND : GrpcStatus.INTERNAL, message, options);
    this.name = 'ContainerizerError';
  }
}
