import { formatIp, parseIp } from '@ippc/core';
import { bad, IpamError, isIpamError } from '../errors.js';
import { isValidName, rangeOf } from '../pool.js';
import { key, type StoreCondition, type StoreWrite } from '../store/store.js';
import type { AllocateRequest, AllocateResult, AssignedAddress, Handle, Lease, LeaseFilter, ReleaseResult } from '../types.js';
import { cooldownOf, type ServiceContext } from './context.js';
import { applyAddrRecord, loadNetwork } from './load.js';
import { pickAll, unpick, type Pick } from './pick.js';
import type { Entry, PoolState } from './pool-state.js';
import { poolsOf } from './pools.js';
import { addrKey, handleText, leaseKey, toLease, type AddrRecord, type LeaseRecord } from './records.js';
import { validateHandle } from './validate.js';
import { resolveWants } from './wants.js';

// Leases: a lease is recorded by allocate (the lease and its addresses in one conditional commit),
// and released by handle, owner or address (its addresses cool down before anyone gets them again).

// ---- allocation ----
export async function allocate(ctx: ServiceContext, req: AllocateRequest): Promise<AllocateResult> {
  const started = process.hrtime.bigint();
  try {
    await ctx.ready();
    if (!req || typeof req !== 'object') throw bad('an allocate request is required');
    const handle = validateHandle(req.handle);
    const owner = req.owner || req.node || '';
    for (const g of req.groups ?? []) if (typeof g !== 'string' || g === '') throw bad('groups must be non-empty strings');
    for (const l of req.labels ?? []) if (!l || typeof l.key !== 'string' || typeof l.value !== 'string') throw bad('labels must be {key, value} strings');
    const lk = leaseKey(handle);
    const result = await ctx.locks.run(lk, async () => {
      for (let attempt = 0; attempt < ctx.maxAttempts; attempt++) {
        // A retried Allocate (timeout after commit) gets its lease back.
        const existing = await ctx.store.get<LeaseRecord>(lk);
        if (existing) return sameOrReject(toLease(existing), req);
        const picks = await pickFor(ctx, req, handle.network);
        const recorded = await recordLease(ctx, req, handle, owner, lk, picks);
        if (recorded) return recorded;
      }
      throw new IpamError(
        'IPAM_CONFLICT',
        `could not allocate for ${handleText(handle)}: lost ${ctx.maxAttempts} races to other writers; nothing was assigned, retry`,
      );
    });
    ctx.metrics.allocations.inc({ result: result.existing ? 'existing' : 'ok' });
    return result;
  } catch (err) {
    ctx.metrics.allocations.inc({ result: isIpamError(err) ? err.code : 'INTERNAL' });
    throw err;
  } finally {
    ctx.metrics.allocSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
  }
}

/** The addresses for a request; on a shared store, re-read the network once before refusing. */
async function pickFor(ctx: ServiceContext, req: AllocateRequest, network: string): Promise<Pick[]> {
  const wants = await resolveWants(ctx, req, network);
  try {
    return await pickAll(ctx, wants, network);
  } catch (err) {
    // On a shared store another instance may have freed addresses: re-read once before refusing.
    if (!ctx.store.shared || !isIpamError(err, 'IPAM_POOL_EXHAUSTED', 'IPAM_ADDRESS_TAKEN')) throw err;
    await loadNetwork(ctx, network);
    return pickAll(ctx, await resolveWants(ctx, req, network), network);
  }
}

/**
 * Records the lease and its addresses in one conditional commit. Undefined when another writer won
 * the race (created the lease or took an address): the picks are undone and refreshed for a retry.
 */
async function recordLease(
  ctx: ServiceContext,
  req: AllocateRequest,
  handle: Handle,
  owner: string,
  lk: string,
  picks: Pick[],
): Promise<AllocateResult | undefined> {
  const t = ctx.now();
  const addresses: AssignedAddress[] = picks.map((p) => {
    const r = rangeOf(p.ps.pool, p.value)!;
    return {
      pool: p.ps.pool.id,
      family: p.ps.pool.family,
      address: formatIp(p.ps.pool.family, p.value),
      prefixLength: r.subnet.prefixLength,
      gateway: formatIp(p.ps.pool.family, r.gateway),
    };
  });
  const record: LeaseRecord = { handle, owner, node: req.node ?? '', addresses, createdAtMs: t, groups: req.groups ?? [], labels: req.labels ?? [] };
  const conditions: StoreCondition[] = [{ key: lk, modRevision: 0 }];
  const writes: StoreWrite[] = [{ key: lk, value: record }];
  for (const p of picks) {
    const ak = addrKey(handle.network, p.ps.pool.id, formatIp(p.ps.pool.family, p.value));
    conditions.push({ key: ak, modRevision: p.expectRev });
    writes.push({ key: ak, value: { state: 'assigned', holder: lk } satisfies AddrRecord });
  }
  let res;
  try {
    res = await ctx.store.commit(conditions, writes);
  } catch (err) {
    unpick(picks);
    throw err;
  }
  if (res.ok) {
    for (const p of picks) p.ps.set(p.value, { state: 'assigned', rev: res.revision, holder: lk });
    const lease: Lease = { ...record, epoch: res.revision };
    ctx.log.debug({ handle, addresses: addresses.map((a) => a.address), epoch: res.revision }, 'allocated');
    return { lease, existing: false };
  }
  // Lost a race: another writer created the lease or took an address. Refresh and retry.
  ctx.metrics.conflicts.inc();
  unpick(picks);
  await Promise.all(
    picks.map(async (p) => {
      const e = await ctx.store.get<AddrRecord>(addrKey(handle.network, p.ps.pool.id, formatIp(p.ps.pool.family, p.value)));
      if (p.ps.entries.get(p.value)?.state !== 'pending') applyAddrRecord(p.ps, p.value, e);
    }),
  );
  return undefined;
}

function sameOrReject(lease: Lease, req: AllocateRequest): AllocateResult {
  for (const r of req.requests ?? []) {
    if (!r.address) continue;
    const want = parseIp(r.address);
    if (want && !lease.addresses.some((a) => a.address === formatIp(want.family, want.value))) {
      throw bad(
        `${handleText(lease.handle)} already holds ${lease.addresses.map((a) => a.address).join(', ')} (epoch ${lease.epoch}); release it before asking for ${r.address}`,
        { lease },
      );
    }
  }
  return { lease, existing: true };
}

// ---- release ----
export async function releaseLease(ctx: ServiceContext, lk: string, epoch: number | undefined, via: string): Promise<ReleaseResult> {
  return ctx.locks.run(lk, async () => {
    for (let attempt = 0; attempt < ctx.maxAttempts; attempt++) {
      const e = await ctx.store.get<LeaseRecord>(lk);
      if (!e) return { released: [], stale: false };
      if (epoch && e.modRevision !== epoch) return { released: [], stale: true };
      const lease = toLease(e);
      const t = ctx.now();
      const writes: StoreWrite[] = [{ key: lk, delete: true }];
      const updates: Array<[PoolState | undefined, bigint, Entry | undefined]> = [];
      for (const a of lease.addresses) {
        const ps = ctx.networks.get(lease.handle.network)?.pools.get(a.pool);
        const ak = addrKey(lease.handle.network, a.pool, a.address);
        const cooldown = ps ? cooldownOf(ctx, ps.pool) : ctx.defaultCooldownMs;
        const ip = parseIp(a.address)!;
        if (cooldown > 0) {
          const rec: AddrRecord = { state: 'cooling', holder: lk, releasedAtMs: t, coolUntilMs: t + cooldown };
          writes.push({ key: ak, value: rec });
          updates.push([ps, ip.value, { state: 'cooling', rev: 0, holder: lk, releasedAtMs: t, coolUntilMs: t + cooldown }]);
        } else {
          writes.push({ key: ak, delete: true });
          updates.push([ps, ip.value, undefined]);
        }
      }
      const res = await ctx.store.commit([{ key: lk, modRevision: e.modRevision }], writes);
      if (res.ok) {
        for (const [ps, value, entry] of updates) {
          if (!ps) continue;
          if (ps.entries.get(value)?.state === 'pending') continue; // cannot happen: it was assigned
          ps.set(value, entry && { ...entry, rev: res.revision });
        }
        ctx.metrics.releases.inc({ via });
        ctx.log.debug({ handle: lease.handle, epoch: lease.epoch, via }, 'released');
        return { released: [lease], stale: false };
      }
      ctx.metrics.conflicts.inc();
    }
    throw new IpamError('IPAM_CONFLICT', `could not release ${lk}: it changed ${ctx.maxAttempts} times while trying; retry`);
  });
}

export async function release(ctx: ServiceContext, handle: Handle, epoch?: number): Promise<ReleaseResult> {
  await ctx.ready();
  const h = validateHandle(handle);
  if (epoch !== undefined && (!Number.isSafeInteger(epoch) || epoch < 0)) throw bad(`epoch must be a whole number, not ${String(epoch)}`);
  return releaseLease(ctx, leaseKey(h), epoch || undefined, 'handle');
}

export async function listLeases(ctx: ServiceContext, filter: LeaseFilter = {}): Promise<Lease[]> {
  await ctx.ready();
  if (filter.network !== undefined && filter.network !== '' && !isValidName(filter.network)) throw bad(`network name '${filter.network}' is invalid`);
  const prefix = filter.network ? key('lease', filter.network) + '/' : 'lease/';
  const entries = await ctx.store.list<LeaseRecord>(prefix);
  return entries.map(toLease).filter((l) => (!filter.owner || l.owner === filter.owner) && (!filter.node || l.node === filter.node));
}

export async function releaseByOwner(ctx: ServiceContext, owner: string, network?: string): Promise<ReleaseResult> {
  await ctx.ready();
  if (typeof owner !== 'string' || owner === '') throw bad('owner is required: the owner given at Allocate (default: the node)');
  const leases = await listLeases(ctx, { owner, network });
  const released: Lease[] = [];
  for (const l of leases) released.push(...(await releaseLease(ctx, leaseKey(l.handle), l.epoch, 'owner')).released);
  return { released, stale: false };
}

export async function releaseAddress(ctx: ServiceContext, network: string, address: string, epoch: number): Promise<ReleaseResult> {
  await ctx.ready();
  if (!isValidName(network)) throw bad(`network name '${network}' is invalid`);
  const ip = parseIp(address);
  if (!ip) throw bad(`'${address}' is not an IP address`);
  if (!Number.isSafeInteger(epoch) || epoch <= 0)
    throw bad('epoch is required to release by address (the lease epoch from Allocate or ListLeases): it fences a late release');
  const pools = await poolsOf(ctx, network);
  const ps = pools.find((p) => p.pool.family === ip.family && rangeOf(p.pool, ip.value));
  if (!ps) throw new IpamError('IPAM_ADDRESS_OUTSIDE_POOL', `${address} is outside every pool of network '${network}'`, { details: { network, address } });
  const text = formatIp(ip.family, ip.value);
  const rec = await ctx.store.get<AddrRecord>(addrKey(network, ps.pool.id, text));
  if (!rec || rec.value.state !== 'assigned') return { released: [], stale: false };
  if (rec.modRevision !== epoch) return { released: [], stale: true };
  return releaseLease(ctx, rec.value.holder, epoch, 'address');
}

export async function getLease(ctx: ServiceContext, handle: Handle): Promise<Lease> {
  await ctx.ready();
  const h = validateHandle(handle);
  const e = await ctx.store.get<LeaseRecord>(leaseKey(h));
  if (!e) throw new IpamError('IPAM_LEASE_NOT_FOUND', `${handleText(h)} holds no lease; allocate first (or it was released)`, { details: { handle: h } });
  return toLease(e);
}
