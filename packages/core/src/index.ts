/**
 * @ippc/core: what every ippc component shares.
 *
 * @example
 * ```ts
 * import { IppcError, createLogger } from '@ippc/core';
 * const log = createLogger({ component: 'ipam' });
 * throw new IppcError('IPAM_POOL_EXHAUSTED', status.RESOURCE_EXHAUSTED, 'pool blue has no free address');
 * ```
 */
export * from './errors.js';
export * from './log.js';
