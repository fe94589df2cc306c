import { IpamError } from '../errors.js';
import { compilePool, describeRanges, poolsOverlap } from '../pool.js';
import { key } from '../store/store.js';
import type { PoolSpec, PoolUsage } from '../types.js';
import type { ServiceContext } from './context.js';
import { loadAll, loadNetwork, loadPoolAddresses } from './load.js';
import { addPool, type PoolState } from './pool-state.js';
import { netKey, poolKey, type NetRecord } from './records.js';

// Pools: EnsurePool (create once, idempotent, never overlapping), the pools of a network, usage.

function usage(ctx: ServiceContext, ps: PoolState): PoolUsage {
  return {
    spec: ps.pool.spec,
    family: ps.pool.family,
    size: ps.pool.size,
    used: ps.assigned + ps.pending,
    cooling: ps.coolingNow(ctx.now()).count,
    reserved: ps.pool.reservedInRanges,
  };
}

/** Same pool when the ranges match; node/exclude/cooldown must match when the request sets them. */
function compatible(existing: PoolSpec, wanted: PoolSpec, asked: PoolSpec): boolean {
  if (JSON.stringify(existing.ranges) !== JSON.stringify(wanted.ranges)) return false;
  if (asked.node && asked.node !== (existing.node ?? '')) return false;
  if (asked.exclude && asked.exclude.length > 0 && JSON.stringify(wanted.exclude ?? []) !== JSON.stringify(existing.exclude ?? [])) return false;
  if (asked.cooldownSeconds !== undefined && asked.cooldownSeconds !== existing.cooldownSeconds) return false;
  return true;
}

export async function ensurePool(ctx: ServiceContext, spec: PoolSpec): Promise<{ pool: PoolUsage; created: boolean }> {
  const compiled = compilePool(spec);
  return ctx.locks.run(netKey(compiled.network), async () => {
    for (let attempt = 0; attempt < ctx.maxAttempts; attempt++) {
      const [net, existing, all] = await Promise.all([
        ctx.store.get<NetRecord>(netKey(compiled.network)),
        ctx.store.get<PoolSpec>(poolKey(compiled.network, compiled.id)),
        ctx.store.list<PoolSpec>(key('pool', compiled.network) + '/'),
      ]);
      if (existing) {
        if (!compatible(existing.value, compiled.spec, spec)) {
          throw new IpamError(
            'IPAM_POOL_CONFLICT',
            `pool '${compiled.id}' of network '${compiled.network}' exists with another definition (${JSON.stringify(existing.value)}); ` +
              `use the same ranges, give the new pool another id, or remove the old one`,
            { details: { existing: existing.value, requested: compiled.spec } },
          );
        }
        let ps = ctx.networks.get(compiled.network)?.pools.get(compiled.id);
        if (!ps) {
          ps = addPool(ctx.networks, compilePool(existing.value));
          await loadPoolAddresses(ctx, ps);
        }
        return { pool: usage(ctx, ps), created: false };
      }
      for (const other of all) {
        const o = compilePool(other.value);
        if (poolsOverlap(o, compiled)) {
          throw new IpamError(
            'IPAM_POOL_CONFLICT',
            `pool '${compiled.id}' (${describeRanges(compiled)}) overlaps pool '${o.id}' (${describeRanges(o)}) of network '${compiled.network}'; ` +
              `give each agent its own subnet or disjoint rangeStart/rangeEnd`,
            { details: { existing: other.value, requested: compiled.spec } },
          );
        }
      }
      const ids = [...(net?.value.pools ?? []), compiled.id];
      const res = await ctx.store.commit(
        [
          { key: netKey(compiled.network), modRevision: net?.modRevision ?? 0 },
          { key: poolKey(compiled.network, compiled.id), modRevision: 0 },
        ],
        [
          { key: netKey(compiled.network), value: { pools: ids } satisfies NetRecord },
          { key: poolKey(compiled.network, compiled.id), value: compiled.spec },
        ],
      );
      if (res.ok) {
        const ps = addPool(ctx.networks, compiled);
        ctx.log.info({ network: compiled.network, pool: compiled.id, size: compiled.size.toString() }, 'pool created');
        return { pool: usage(ctx, ps), created: true };
      }
      ctx.metrics.conflicts.inc();
    }
    throw new IpamError('IPAM_CONFLICT', `could not create pool '${compiled.id}': the network changed ${ctx.maxAttempts} times while trying; retry`);
  });
}

export async function poolsOf(ctx: ServiceContext, network: string): Promise<PoolState[]> {
  let ns = ctx.networks.get(network);
  if ((!ns || ns.pools.size === 0) && ctx.store.shared) {
    await loadNetwork(ctx, network);
    ns = ctx.networks.get(network);
  }
  if (!ns || ns.pools.size === 0) {
    throw new IpamError(
      'IPAM_UNKNOWN_NETWORK',
      `network '${network}' has no address pools: define it in the IPAM service's config file, or send its ranges with EnsurePool ` +
        `(the ippc-ipam CNI plugin does this from the config's ipam.ranges)`,
      { details: { network } },
    );
  }
  return [...ns.pools.values()];
}

export async function listPools(ctx: ServiceContext, network?: string): Promise<PoolUsage[]> {
  await ctx.ready();
  if (ctx.store.shared) {
    if (network) await loadNetwork(ctx, network);
    else await loadAll(ctx);
  }
  const out: PoolUsage[] = [];
  for (const [name, ns] of ctx.networks) if (!network || name === network) for (const ps of ns.pools.values()) out.push(usage(ctx, ps));
  return out;
}
