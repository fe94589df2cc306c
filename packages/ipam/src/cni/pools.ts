import { CniError, parseCidr, parseIp } from '@ippc/core';
import { isIpamError } from '../errors.js';
import type { IpamApi, RangeSpec } from '../types.js';
import { CNI_ERROR_CODES } from './cni-errors.js';
import { familyOfSet } from './net-conf.js';

/** The pools of the configs this daemon has seen: EnsurePool once per range set, not per ADD. */
export interface PoolCache {
  /**
   * The id of the pool for `set` of `network`, ensured at the service on first use, with the
   * config's `exclude` (those of the set's family) and `cooldownSeconds` (the network's cool-down).
   */
  ensure(network: string, set: RangeSpec[], options?: PoolOptions): Promise<string>;
  /** Ensure the network's pools again on next use (the service lost them). */
  forget(network: string): void;
}

/** What a CNI config's `ipam` section says of its pools beyond the ranges. */
export interface PoolOptions {
  exclude?: string[];
  cooldownSeconds?: number;
}

export function createPoolCache(ipam: IpamApi): PoolCache {
  /** Pools already ensured by this daemon: "network\0rangeSetJSON" -> pool id. */
  const ensured = new Map<string, Promise<string>>();

  function ensure(network: string, set: RangeSpec[], options: PoolOptions = {}): Promise<string> {
    const { exclude, cooldownSeconds } = options;
    const k = `${network}\0${JSON.stringify(set)}\0${JSON.stringify(exclude ?? [])}\0${cooldownSeconds ?? ''}`;
    let p = ensured.get(k);
    if (!p) {
      const family = familyOfSet(set);
      const ex = (exclude ?? []).filter((e) => (e.includes('/') ? parseCidr(e) : parseIp(e))?.family === family);
      p = ipam
        .ensurePool({ network, ranges: set, ...(ex.length > 0 ? { exclude: ex } : {}), ...(cooldownSeconds !== undefined ? { cooldownSeconds } : {}) })
        .then((r) => r.pool.spec.id)
        .catch((err: unknown) => {
          ensured.delete(k);
          if (isIpamError(err, 'IPAM_BAD_REQUEST'))
            throw new CniError(CNI_ERROR_CODES.INVALID_CONFIG, `ipam of network '${network}': ${(err as Error).message}`, 'IPAM_BAD_REQUEST');
          throw err;
        });
      ensured.set(k, p);
    }
    return p;
  }

  function forget(network: string): void {
    for (const k of [...ensured.keys()]) if (k.startsWith(`${network}\0`)) ensured.delete(k);
  }

  return { ensure, forget };
}
