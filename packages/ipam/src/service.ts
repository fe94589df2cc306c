import { createMetricsRegistry, KeyedMutex, silentLogger, type Logger } from '@ippc/core';
import type { Registry } from 'prom-client';
import { IpamError } from './errors.js';
import type { ServiceContext } from './service/context.js';
import { garbageCollect } from './service/gc.js';
import { allocate, getLease, listLeases, release, releaseAddress, releaseByOwner } from './service/leases.js';
import { loadAll, startResync } from './service/load.js';
import { createServiceMetrics } from './service/metrics.js';
import type { NetworkState } from './service/pool-state.js';
import { ensurePool, listPools } from './service/pools.js';
import type { IpamStore } from './store/store.js';
import type { IpamApi, PoolSpec } from './types.js';

/** What the isolation provider (or anyone) is asked before a released address goes to a new holder. */
export interface ReuseCandidate {
  network: string;
  pool: string;
  address: string;
  /** The handle that held it last: "network/containerId/ifName". */
  previousHolder: string;
  releasedAtMs: number;
}

/**
 * The seam for issue 7: return false while the address may still be in some allow-set, and it
 * stays cooling (unavailable) until a later allocation asks again. Called only for addresses whose
 * cool-down has passed; must be fast (it runs inside an allocation).
 */
export type ReuseGuard = (candidate: ReuseCandidate) => boolean | Promise<boolean>;

export interface IpamServiceOptions {
  store: IpamStore;
  /** Cool-down before a released address is handed out again (pools may override). Default 30 000 ms. */
  cooldownMs?: number;
  /** Pools declared by configuration, ensured when the service starts (EnsurePool semantics). */
  pools?: PoolSpec[];
  /** Asked before reusing a released address; see {@link ReuseGuard}. Default: none (cool-down only). */
  reuseGuard?: ReuseGuard;
  /** Minimum time between the two GC observations of a leak. Default 0 (two calls suffice). */
  gcGraceMs?: number;
  /** For shared stores: re-read pools and addresses this often. Default 10 000 ms when `store.shared`, else never. */
  resyncIntervalMs?: number;
  /** Bounded retries when a commit loses a race. Default 16. */
  maxAttempts?: number;
  logger?: Logger;
  /** Registry for the pool gauges and counters. Default: a new `createMetricsRegistry('ipam')`. */
  metrics?: Registry;
  /** Clock, for tests. Default Date.now. */
  now?: () => number;
}

export interface IpamService extends IpamApi {
  readonly metrics: Registry;
  readonly store: IpamStore;
  /** Resolves once the state is loaded and configured pools are ensured; rejects if that failed. */
  ready(): Promise<void>;
  /** Stops timers and closes the store. */
  close(): Promise<void>;
}

/**
 * The IPAM: pools per network, leases per handle, cool-down, fencing, GC, metrics; persistence in
 * an {@link IpamStore}. Serve it over gRPC with `createIpamServer`, or call it in process.
 *
 * It composes the pieces under `service/`: the pools (`pools.ts`), how an address is picked
 * (`wants.ts`, `pick.ts`), the leases (`leases.ts`), GC (`gc.ts`), loading from the store
 * (`load.ts`) and the metrics (`metrics.ts`); they share one {@link ServiceContext}.
 */
export function createIpamService(options: IpamServiceOptions): IpamService {
  const store = options.store;
  const now = options.now ?? Date.now;
  const networks = new Map<string, NetworkState>();
  const registry = options.metrics ?? createMetricsRegistry('ipam');
  let closed = false;
  const ctx: ServiceContext = {
    store,
    log: options.logger ?? silentLogger(),
    now,
    defaultCooldownMs: options.cooldownMs ?? 30_000,
    maxAttempts: options.maxAttempts ?? 16,
    gcGraceMs: options.gcGraceMs ?? 0,
    reuseGuard: options.reuseGuard,
    networks,
    locks: new KeyedMutex(),
    suspects: new Map(),
    metrics: createServiceMetrics(registry, networks, now),
    ready,
  };

  const readyPromise = (async () => {
    await loadAll(ctx);
    for (const spec of options.pools ?? []) await ensurePool(ctx, spec);
    ctx.log.info({ store: store.kind, networks: [...networks.keys()] }, 'IPAM state loaded');
  })();
  readyPromise.catch(() => undefined);

  const resyncTimer = startResync(ctx, options.resyncIntervalMs ?? (store.shared ? 10_000 : 0));

  async function ready(): Promise<void> {
    if (closed) throw new IpamError('IPAM_UNAVAILABLE', 'the IPAM service is closed');
    await readyPromise;
  }

  return {
    metrics: registry,
    store,
    ready,
    ensurePool: async (spec) => {
      await ready();
      return ensurePool(ctx, spec);
    },
    listPools: (network) => listPools(ctx, network),
    allocate: (req) => allocate(ctx, req),
    release: (handle, epoch) => release(ctx, handle, epoch),
    releaseByOwner: (owner, network) => releaseByOwner(ctx, owner, network),
    releaseAddress: (network, address, epoch) => releaseAddress(ctx, network, address, epoch),
    getLease: (handle) => getLease(ctx, handle),
    listLeases: (filter) => listLeases(ctx, filter),
    garbageCollect: (req) => garbageCollect(ctx, req),
    async close() {
      if (closed) return;
      closed = true;
      if (resyncTimer) clearInterval(resyncTimer);
      await readyPromise.catch(() => undefined);
      await ctx.locks.idle();
      await store.close();
    },
  };
}
