import { formatIp } from '@ippc/core';
import { IpamError } from '../errors.js';
import { describeAssignable } from '../pool.js';
import type { ServiceContext } from './context.js';
import type { Entry, PoolState } from './pool-state.js';
import { holderText } from './records.js';
import type { Want } from './wants.js';

// Picking: how an address is chosen for a want. A requested address if it is free (or cooled and
// allowed by the reuse guard); otherwise the next fresh one, round robin (PoolState.nextFree);
// otherwise the longest-idle cooled one. A pick is marked pending in the index until the commit
// of its lease decides (see leases.ts), and is undone if that commit fails.

export interface Pick {
  ps: PoolState;
  value: bigint;
  /** Condition for the commit: the record we expect under the key (0: none). */
  expectRev: number;
  /** The round-robin position before this pick, restored when the pick is abandoned. */
  positionBefore?: [number, bigint];
}

export function unpick(picks: Pick[]): void {
  for (const p of [...picks].reverse()) {
    const e = p.ps.entries.get(p.value);
    if (e?.state === 'pending') p.ps.set(p.value, e.prev);
    if (p.positionBefore) p.ps.position = p.positionBefore;
  }
}

function markPending(ps: PoolState, value: bigint, prev: Entry | undefined): Pick {
  ps.set(value, { state: 'pending', rev: prev?.rev ?? 0, prev });
  return { ps, value, expectRev: prev?.rev ?? 0 };
}

async function guardAllows(ctx: ServiceContext, ps: PoolState, value: bigint, e: Entry): Promise<boolean> {
  if (!ctx.reuseGuard) return true;
  try {
    return await ctx.reuseGuard({
      network: ps.pool.network,
      pool: ps.pool.id,
      address: formatIp(ps.pool.family, value),
      previousHolder: holderText(e.holder),
      releasedAtMs: e.releasedAtMs ?? 0,
    });
  } catch (err) {
    ctx.log.warn({ err: (err as Error).message }, 'reuse guard failed; keeping the address cooling');
    return false;
  }
}

function exhausted(ctx: ServiceContext, want: Want, network: string): IpamError {
  const t = ctx.now();
  const parts = want.pools.map((ps) => {
    const c = ps.coolingNow(t);
    return {
      pool: ps.pool.id,
      size: ps.pool.size.toString(),
      assigned: ps.assigned + ps.pending,
      cooling: c.count,
      nextFreeAtMs: c.nextFreeAtMs,
      ranges: describeAssignable(ps.pool),
    };
  });
  const cooling = parts.reduce((n, p) => n + p.cooling, 0);
  const next = parts
    .map((p) => p.nextFreeAtMs)
    .filter((x): x is number => x !== undefined)
    .sort((a, b) => a - b)[0];
  const text = parts.map((p) => `${p.pool} (${p.ranges}): ${p.assigned} assigned, ${p.cooling} cooling of ${p.size}`).join('; ');
  const hint =
    cooling > 0
      ? `${cooling} released address${cooling === 1 ? ' is' : 'es are'} still cooling down (the first is free again in ${Math.ceil(((next ?? t) - t) / 1000)} s): retry then, release leaked leases (GC, ReleaseByOwner), or widen the ranges`
      : 'release leaked leases (GC, ReleaseByOwner) or widen the ranges';
  return new IpamError('IPAM_POOL_EXHAUSTED', `no free IPv${want.family} address in network '${network}': ${text}; ${hint}`, {
    details: { network, family: want.family, pools: parts, ...(next !== undefined ? { retryAfterMs: Math.max(0, next - t) } : {}) },
  });
}

/** Picks one address per want, marking each pending; all or nothing. */
export async function pickAll(ctx: ServiceContext, wants: Want[], network: string): Promise<Pick[]> {
  const picks: Pick[] = [];
  try {
    for (const want of wants) picks.push(await pickOne(ctx, want, network));
    return picks;
  } catch (err) {
    unpick(picks);
    throw err;
  }
}

async function pickOne(ctx: ServiceContext, want: Want, network: string): Promise<Pick> {
  const t = ctx.now();
  if (want.address !== undefined) {
    const ps = want.pools[0]!;
    const e = ps.entries.get(want.address);
    const text = formatIp(want.family, want.address);
    if (!e) return markPending(ps, want.address, undefined);
    // A request that names a released address gets it at once, cooling or not (as Calico gives a
    // requested address): the caller chose it, typically a fixed-address task restarted, and Mesos
    // has no window in which that fails. The cool-down keeps protecting automatic picks. The commit
    // is conditional on the cooling record's revision, and the old lease is gone, so a late release
    // of it (by handle, or by address with its epoch) frees nothing of the new one.
    if (e.state === 'cooling') {
      const pick = markPending(ps, want.address, e);
      if (await guardAllows(ctx, ps, want.address, e)) return pick;
      unpick([pick]);
      throw new IpamError(
        'IPAM_ADDRESS_TAKEN',
        `${text} was released by ${holderText(e.holder)} and may still be in an isolation allow-set; retry shortly or request another address`,
        {
          details: { network, address: text },
        },
      );
    }
    throw new IpamError(
      'IPAM_ADDRESS_TAKEN',
      `${text} is already assigned${e.holder ? ` to ${holderText(e.holder)}` : ' (assignment in progress)'} in network '${network}'; request another address or release that one first`,
      { details: { network, address: text, holder: holderText(e.holder) } },
    );
  }
  for (const ps of want.pools) {
    if (ps.freeCount() > 0n) {
      const before = ps.position;
      const v = ps.nextFree();
      if (v !== undefined) return { ...markPending(ps, v, undefined), positionBefore: before };
    }
  }
  for (const ps of want.pools) {
    for (const [value, e] of ps.reusable(t)) {
      const pick = markPending(ps, value, e);
      if (await guardAllows(ctx, ps, value, e)) return pick;
      unpick([pick]);
    }
  }
  throw exhausted(ctx, want, network);
}
