/**
 * @ippc/core: what every ippc component shares.
 *
 * @example
 * ```ts
 * import { status } from '@grpc/grpc-js';
 * import { IppcError, createGrpcServer, createLogger } from '@ippc/core';
 * const log = createLogger({ component: 'ipam' });
 * const grpc = createGrpcServer({ auth: { token: process.env.IPPC_TOKEN! } });
 * await grpc.listen('127.0.0.1:0');
 * throw new IppcError('IPAM_POOL_EXHAUSTED', status.RESOURCE_EXHAUSTED, 'pool blue has no free address');
 * ```
 */
// The seams a component implements: a containerizer, an isolator.
export type { Containerizer, ExecutorStatus, InterfaceUsage, KnownContainer, LaunchSpec, NetworkUsage, Termination } from './containerizer.js';
export type { ContainerConfig, ContainerState, Isolator, LaunchInfo, Namespace } from './isolator.js';

// Errors: a code from a closed set, a message that says what to do, the gRPC status at the edge.
export {
  ContainerizerError,
  fromServiceError,
  grpcCodeName,
  IppcError,
  isIppcError,
  messageOf,
  toServiceError,
  type GrpcCode,
  type IppcErrorOptions,
} from './errors.js';

// A component's plumbing: gRPC with the cluster's shared secret and health, the HTTP endpoints and
// metrics, structured logs, and the flags every daemon takes in Mesos's style.
export {
  authClientInterceptor,
  authServerInterceptor,
  bearerAuthorizes,
  checkHealth,
  clientOptions,
  createGrpcServer,
  type AuthConfig,
  type GrpcServerOptions,
  type IppcGrpcServer,
} from './grpc.js';
export { createHttpRouter, createMetricsRegistry, metricsRoute, startHttpServer, type HttpServerOptions, type Route, type StartedHttpServer } from './http.js';
export { createLogger, silentLogger, type Logger, type LoggerConfig } from './log.js';
export {
  authFromFlags,
  BAD_FLAG_EXIT_CODE,
  checkedOption,
  createDaemonCommand,
  daemonAuth,
  exitBadFlag,
  FlagError,
  listenAddress,
  listenOption,
  loggerLevel,
  loggingLevelOption,
  noAuthOption,
  parseListen,
  tokenFileOption,
  type DaemonAuthOptions,
  type DaemonCommandOptions,
  type ListenAddress,
  type ListenFlagAccepts,
} from './daemon-flags.js';

// Thick CNI plugins: the thin forwarder a runtime executes, the daemon side that answers it, the
// spec's errors, and one reader of a CNI result's addresses.
export {
  CNI_FORWARDER_SOURCES,
  CniForwarderError,
  hasCCompiler,
  installCniForwarder,
  type CniForwarderErrorCode,
  type CniForwarderFlavor,
  type CniForwarderOptions,
  type InstalledCniForwarder,
} from './cni/forwarder.js';
export { CNI_MAX_CONFIG_BYTES, createCniDaemon, type CniCall, type CniDaemon, type CniDaemonOptions, type CniHandle } from './cni/daemon.js';
export type { CniRequest, CniResponse } from './cni/request.js';
export { CNI_SPEC_ERROR_CODES, CniError, defineCniErrorCodes } from './cni/errors.js';
export { compareVersions, containerAddresses, type CniResultAddresses, type CniResultIp } from './cni/result.js';

// Building blocks every component uses the one of: addresses and CIDRs, an async mutex, a
// backoff with jitter, a text table, waiting, writing a file atomically.
export {
  canonicalIp,
  cidrContains,
  cidrLast,
  cidrSize,
  cidrsOverlap,
  familyBits,
  formatCidr,
  formatIp,
  ipFamily,
  nthAddress,
  nthSubnet,
  parseCidr,
  parseIp,
  parseIpOrCidr,
  prefixMask,
  stripPrefix,
  type Cidr,
  type IpAddress,
  type IpFamily,
} from './ip.js';
export { KeyedMutex, Mutex } from './mutex.js';
export { Backoff, type BackoffOptions } from './backoff.js';
export { renderTable } from './table.js';
export { sleep, within } from './timers.js';
export { exists, writeAtomic, writeAtomicSync } from './files.js';
export { processAlive } from './process.js';
export { percentile, summarize, type SampleStats } from './stats.js';
export { createCommandRunner, type CommandResult, type CommandRunner, type CommandRunnerOptions } from './command.js';
