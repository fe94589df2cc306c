import { parseIp } from '@ippc/core';
import { compilePool } from '../pool.js';
import { key, type StoreEntry } from '../store/store.js';
import type { PoolSpec } from '../types.js';
import type { ServiceContext } from './context.js';
import { addPool, type PoolState } from './pool-state.js';
import type { AddrRecord } from './records.js';

// Loading: the in-memory index is (re)read from the store at start, on every resync of a shared
// store, and for one network when a shared store may know more than the index.

export function applyAddrRecord(ps: PoolState, value: bigint, e: StoreEntry<AddrRecord> | undefined): void {
  if (!e) return ps.set(value, undefined);
  const r = e.value;
  if (r.state === 'assigned') ps.set(value, { state: 'assigned', rev: e.modRevision, holder: r.holder });
  else ps.set(value, { state: 'cooling', rev: e.modRevision, holder: r.holder, releasedAtMs: r.releasedAtMs, coolUntilMs: r.coolUntilMs });
}

/** (Re)reads one network's pools and address records from the store. */
export async function loadNetwork(ctx: ServiceContext, network: string): Promise<void> {
  const pools = await ctx.store.list<PoolSpec>(key('pool', network) + '/');
  for (const p of pools) {
    const ps = addPool(ctx.networks, compilePool(p.value));
    await loadPoolAddresses(ctx, ps);
  }
}

export async function loadPoolAddresses(ctx: ServiceContext, ps: PoolState): Promise<void> {
  const records = await ctx.store.list<AddrRecord>(key('addr', ps.pool.network, ps.pool.id) + '/');
  const seen = new Set<bigint>();
  // Cooling records in release order, so reuse is longest-idle first.
  records.sort((a, b) => (a.value.state === 'cooling' ? a.value.coolUntilMs : 0) - (b.value.state === 'cooling' ? b.value.coolUntilMs : 0));
  for (const r of records) {
    const ip = parseIp(decodeURIComponent(r.key.slice(r.key.lastIndexOf('/') + 1)));
    if (!ip) continue;
    seen.add(ip.value);
    const cur = ps.entries.get(ip.value);
    if (cur?.state === 'pending') continue; // an in-flight pick of ours: its commit decides
    applyAddrRecord(ps, ip.value, r);
  }
  for (const [value, e] of [...ps.entries]) if (!seen.has(value) && e.state !== 'pending') ps.set(value, undefined);
}

export async function loadAll(ctx: ServiceContext): Promise<void> {
  const nets = new Set<string>();
  for (const p of await ctx.store.list<PoolSpec>('pool/')) nets.add(p.value.network);
  for (const n of nets) await loadNetwork(ctx, n);
}

/** Re-reads everything every `intervalMs` (for shared stores; none unless above 0), on a timer that does not hold the process. */
export function startResync(ctx: ServiceContext, intervalMs: number): NodeJS.Timeout | undefined {
  let resyncTimer: NodeJS.Timeout | undefined;
  if (intervalMs > 0) {
    resyncTimer = setInterval(() => {
      loadAll(ctx).catch((err: unknown) => ctx.log.warn({ err: (err as Error).message }, 'IPAM resync failed'));
    }, intervalMs);
    resyncTimer.unref();
  }
  return resyncTimer;
}
