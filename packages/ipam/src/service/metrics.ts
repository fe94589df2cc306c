import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { NetworkState, PoolState } from './pool-state.js';

/** The counters the verbs update; the pool gauges read the index when scraped. */
export interface ServiceMetrics {
  allocations: Counter<'result'>;
  releases: Counter<'via'>;
  conflicts: Counter;
  allocSeconds: Histogram;
}

/** Registers the pool gauges (per network and pool) and the verbs' counters in `registry`. */
export function createServiceMetrics(registry: Registry, networks: Map<string, NetworkState>, now: () => number): ServiceMetrics {
  const poolLabels = ['network', 'pool'] as const;
  const collectPools = (g: Gauge<'network' | 'pool'>, value: (ps: PoolState) => number) => {
    g.reset();
    for (const [network, ns] of networks) for (const [id, ps] of ns.pools) g.set({ network, pool: id }, value(ps));
  };
  new Gauge({
    name: 'ippc_ipam_pool_size',
    help: 'Assignable addresses of the pool (ranges minus reserved)',
    labelNames: poolLabels,
    registers: [registry],
    collect() {
      collectPools(this, (ps) => Number(ps.pool.size));
    },
  });
  new Gauge({
    name: 'ippc_ipam_pool_used',
    help: 'Addresses assigned (including in-flight assignments)',
    labelNames: poolLabels,
    registers: [registry],
    collect() {
      collectPools(this, (ps) => ps.assigned + ps.pending);
    },
  });
  new Gauge({
    name: 'ippc_ipam_pool_cooling',
    help: 'Released addresses still inside their cool-down (unavailable)',
    labelNames: poolLabels,
    registers: [registry],
    collect() {
      const t = now();
      collectPools(this, (ps) => ps.coolingNow(t).count);
    },
  });
  const allocations = new Counter({
    name: 'ippc_ipam_allocations_total',
    help: 'Allocate calls by result code',
    labelNames: ['result'],
    registers: [registry],
  });
  const releases = new Counter({
    name: 'ippc_ipam_released_leases_total',
    help: 'Leases released (by handle, owner, address or GC)',
    labelNames: ['via'],
    registers: [registry],
  });
  const conflicts = new Counter({ name: 'ippc_ipam_commit_conflicts_total', help: 'Commits that lost a race and were retried', registers: [registry] });
  const allocSeconds = new Histogram({
    name: 'ippc_ipam_allocate_seconds',
    help: 'Allocate latency inside the service',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    registers: [registry],
  });
  return { allocations, releases, conflicts, allocSeconds };
}
