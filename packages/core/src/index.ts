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
export * from './cni/daemon.js';
export * from './cni/errors.js';
export * from './cni/forwarder.js';
export * from './cni/request.js';
export * from './cni/result.js';
export * from './containerizer.js';
export * from './daemon-flags.js';
export * from './errors.js';
export * from './grpc.js';
export * from './http.js';
export * from './isolator.js';
export * from './log.js';
export * from './process.js';
export * from './stats.js';

// Building blocks every component uses the one of: addresses and CIDRs, an async mutex, a
// backoff with jitter, a text table, waiting, writing a file atomically.
export { canonicalIp, cidrContains, cidrLast, cidrSize, cidrsOverlap, familyBits, formatCidr, formatIp, ipFamily, nthAddress, nthSubnet, parseCidr, parseIp, parseIpOrCidr, prefixMask, stripPrefix, type Cidr, type IpAddress, type IpFamily } from './ip.js';
export { KeyedMutex, Mutex } from './mutex.js';
export { Backoff, type BackoffOptions } from './backoff.js';
export { renderTable } from './table.js';
export { sleep, within } from './timers.js';
export { exists, writeAtomic } from './files.js';
