import type { KeyedMutex, Logger } from '@ippc/core';
import type { CompiledPool } from '../pool.js';
import type { ReuseGuard } from '../service.js';
import type { IpamStore } from '../store/store.js';
import type { ServiceMetrics } from './metrics.js';
import type { NetworkState } from './pool-state.js';

/**
 * What the pieces of one IPAM service share: its options with their defaults applied, the
 * in-memory index, the per-key locks, the GC observations and the counters. Built once by
 * `createIpamService`; every verb takes it as its first argument.
 */
export interface ServiceContext {
  readonly store: IpamStore;
  readonly log: Logger;
  readonly now: () => number;
  readonly defaultCooldownMs: number;
  readonly maxAttempts: number;
  readonly gcGraceMs: number;
  readonly reuseGuard: ReuseGuard | undefined;
  /** The in-memory index: network -> pool id -> pool state. */
  readonly networks: Map<string, NetworkState>;
  /** Per-key locks: the calls on one lease key or one network key run one at a time. */
  readonly locks: KeyedMutex;
  /** GC observations: lease key -> epoch and time when first seen invalid. */
  readonly suspects: Map<string, { epoch: number; firstSeenMs: number }>;
  readonly metrics: ServiceMetrics;
  /** Resolves once the state is loaded and configured pools are ensured; throws IPAM_UNAVAILABLE once closed. */
  ready(): Promise<void>;
}

export const cooldownOf = (ctx: ServiceContext, pool: CompiledPool) =>
  pool.spec.cooldownSeconds !== undefined ? pool.spec.cooldownSeconds * 1000 : ctx.defaultCooldownMs;
