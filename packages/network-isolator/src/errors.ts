import { status } from '@grpc/grpc-js';
import { IppcError, messageOf, type IppcErrorOptions } from '@ippc/core';

/**
 * Why a CNI operation or an isolator step failed. Where Mesos has a message for the condition the
 * error's `message` is Mesos's, verbatim, so the agent can put it after `Failed to launch container: `.
 */
export type NetworkIsolatorErrorCode =
  /** `Unknown CNI network '<name>'`: no usable config of that name in the config folder. */
  | 'CNI_UNKNOWN_NETWORK'
  /** `Attempted to join CNI network '<name>' multiple times`. */
  | 'CNI_DUPLICATE_NETWORK'
  /** `Can only prepare CNI networks for a MESOS container`. */
  | 'CNI_NOT_MESOS_CONTAINER'
  /** `Container has already been prepared` (or isolated): the containerizer called twice. */
  | 'CNI_ALREADY_PREPARED'
  /** The request cannot be served as given (bad container id, interface name, label value). */
  | 'CNI_INVALID_REQUEST'
  /** A network config is unusable: bad JSON, missing `name`/`type`, bad `args`, unsupported version. */
  | 'CNI_INVALID_CONFIG'
  /** The config sets `args["org.apache.mesos"]` itself (Mesos's message: it is reserved). */
  | 'CNI_RESERVED_ARGS'
  /** A plugin named by a config is not in the plugin search path. */
  | 'CNI_PLUGIN_NOT_FOUND'
  /** A plugin exited non-zero ({@link CniPluginError}); `output` has its stdout and stderr. */
  | 'CNI_PLUGIN_FAILED'
  /** Attaching a container to a network failed; the message is Mesos's (plugin path, stdout, stderr). */
  | 'CNI_ATTACH_FAILED'
  /** Detaching (DEL) failed; the checkpoint stays so a later cleanup retries. */
  | 'CNI_DETACH_FAILED'
  /** CNI CHECK found the attachment not as expected, or the container is unknown. */
  | 'CNI_CHECK_FAILED'
  /** A plugin exited 0 but printed something that is not a CNI result. */
  | 'CNI_INVALID_RESULT'
  /** The operation needs a newer CNI version than the config declares (CHECK needs 0.4.0). */
  | 'CNI_INCOMPATIBLE_VERSION'
  /** CHECK found no cached ADD result for the attachment. */
  | 'CNI_NO_CACHED_RESULT'
  /** Writing hostname, hosts, resolv.conf or their bind mounts inside the container failed. */
  | 'CNI_SETUP_FAILED'
  /** A checkpoint or mount under the isolator's root could not be written, read or removed. */
  | 'CNI_CHECKPOINT_FAILED'
  /** A checkpoint found at recovery cannot be read (Mesos fails agent recovery then). */
  | 'CNI_RECOVERY_FAILED'
  /** The isolator cannot start with these options (Mesos's flag errors). */
  | 'CNI_BAD_OPTIONS';

const grpcCodes: Record<NetworkIsolatorErrorCode, number> = {
  CNI_UNKNOWN_NETWORK: status.NOT_FOUND,
  CNI_DUPLICATE_NETWORK: status.INVALID_ARGUMENT,
  CNI_NOT_MESOS_CONTAINER: status.INVALID_ARGUMENT,
  CNI_ALREADY_PREPARED: status.ALREADY_EXISTS,
  CNI_INVALID_REQUEST: status.INVALID_ARGUMENT,
  CNI_INVALID_CONFIG: status.FAILED_PRECONDITION,
  CNI_RESERVED_ARGS: status.FAILED_PRECONDITION,
  CNI_PLUGIN_NOT_FOUND: status.FAILED_PRECONDITION,
  CNI_PLUGIN_FAILED: status.INTERNAL,
  CNI_ATTACH_FAILED: status.INTERNAL,
  CNI_DETACH_FAILED: status.INTERNAL,
  CNI_CHECK_FAILED: status.FAILED_PRECONDITION,
  CNI_INVALID_RESULT: status.INTERNAL,
  CNI_INCOMPATIBLE_VERSION: status.FAILED_PRECONDITION,
  CNI_NO_CACHED_RESULT: status.NOT_FOUND,
  CNI_SETUP_FAILED: status.INTERNAL,
  CNI_CHECKPOINT_FAILED: status.INTERNAL,
  CNI_RECOVERY_FAILED: status.INTERNAL,
  CNI_BAD_OPTIONS: status.INVALID_ARGUMENT,
};

export class NetworkIsolatorError extends IppcError<NetworkIsolatorErrorCode> {
  constructor(code: NetworkIsolatorErrorCode, message: string, options?: IppcErrorOptions) {
    super(code, grpcCodes[code] as never, message, options);
    this.name = 'NetworkIsolatorError';
  }
}

/** What a failing plugin run left behind. */
export interface PluginFailure {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  /** The CNI error code when the plugin printed a CNI error object (`{"code": 7, "msg": ...}`). */
  cniCode?: number;
}

/**
 * A plugin exited non-zero (or was killed at its time limit). `plugin` is the binary's path,
 * `command` the CNI verb; stdout and stderr are kept verbatim so the isolator can build Mesos's
 * `The CNI plugin '<path>' failed to attach ...: stdout='...', stderr='...'`.
 */
export class CniPluginError extends NetworkIsolatorError {
  readonly plugin: string;
  readonly command: string;
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number | null;
  readonly cniCode: number | undefined;

  constructor(plugin: string, command: string, message: string, failure: PluginFailure) {
    super('CNI_PLUGIN_FAILED', message, {
      output: { stdout: failure.stdout, stderr: failure.stderr, exitCode: failure.exitCode },
      details: { plugin, command, ...(failure.cniCode !== undefined ? { cniCode: failure.cniCode } : {}) },
    });
    this.name = 'CniPluginError';
    this.plugin = plugin;
    this.command = command;
    this.stdout = failure.stdout;
    this.stderr = failure.stderr;
    this.exitCode = failure.exitCode;
    this.cniCode = failure.cniCode;
  }
}

/** Mesos's plugin message has only the plugin's output: say so when the plugin was killed for taking too long. */
export function timedOut(err: CniPluginError): string {
  return err.message.endsWith(': timed out') ? "; the plugin was killed after running past the plugin timeout (the agent's --network_cni_plugin_timeout)" : '';
}

/** Throws the first error alone, or all messages joined by newlines (Mesos joins failures so). */
export function throwAll(errors: unknown[], code: 'CNI_ATTACH_FAILED' | 'CNI_DETACH_FAILED'): never {
  if (errors.length === 1) throw errors[0];
  throw new NetworkIsolatorError(code, errors.map(messageOf).join('\n'), { cause: errors[0], details: { failures: errors.map(messageOf) } });
}
