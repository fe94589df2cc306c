import { bad } from '../errors.js';
import { isValidName } from '../pool.js';
import { key } from '../store/store.js';
import type { GarbageCollectRequest, GarbageCollectResult, Lease } from '../types.js';
import type { ServiceContext } from './context.js';
import { listLeases, releaseLease } from './leases.js';
import { handleText, leaseKey } from './records.js';

// GC: a lease missing from the caller's valid set is suspected at the first call and reclaimed at
// the next one only if it is still missing with the same epoch (and gcGraceMs has passed).

export async function garbageCollect(ctx: ServiceContext, req: GarbageCollectRequest): Promise<GarbageCollectResult> {
  await ctx.ready();
  if (!req || !isValidName(req.network)) throw bad(`network name '${req?.network ?? ''}' is invalid`);
  if (!Array.isArray(req.valid)) throw bad('valid must be a list of {containerId, ifName} (may be empty)');
  const valid = new Set(req.valid.map((v) => leaseKey({ network: req.network, containerId: v.containerId, ifName: v.ifName })));
  // Leases are read after the caller built its valid set; a lease created in between is only
  // suspected now and is valid by the next call (whereabouts #207).
  const leases = await listLeases(ctx, { network: req.network, node: req.node || undefined });
  const t = ctx.now();
  const reclaimed: Lease[] = [];
  const suspected: Lease[] = [];
  const inScope = new Set<string>();
  for (const lease of leases) {
    const lk = leaseKey(lease.handle);
    inScope.add(lk);
    if (valid.has(lk)) {
      ctx.suspects.delete(lk);
      continue;
    }
    const seen = ctx.suspects.get(lk);
    if (seen && seen.epoch === lease.epoch && t - seen.firstSeenMs >= ctx.gcGraceMs) {
      // Second observation, same epoch: reclaim, fenced by the epoch so a re-assignment since
      // the read is never freed.
      const res = await releaseLease(ctx, lk, lease.epoch, 'gc');
      ctx.suspects.delete(lk);
      reclaimed.push(...res.released);
    } else {
      if (!seen || seen.epoch !== lease.epoch) ctx.suspects.set(lk, { epoch: lease.epoch, firstSeenMs: t });
      suspected.push(lease);
    }
  }
  const prefix = key('lease', req.network) + '/';
  for (const k of [...ctx.suspects.keys()]) if (k.startsWith(prefix) && !inScope.has(k) && !req.node) ctx.suspects.delete(k);
  if (reclaimed.length > 0)
    ctx.log.info({ network: req.network, node: req.node, reclaimed: reclaimed.map((l) => handleText(l.handle)) }, 'GC reclaimed leaked leases');
  return { reclaimed, suspected };
}
