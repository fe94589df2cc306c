import type { CompiledPool } from '../pool.js';

// The in-memory index: per pool, an entry for every address that is assigned, cooling or being
// picked, and the round-robin cursor. The store is the truth; the index makes picking cost
// independent of pool size.

export interface Entry {
  state: 'assigned' | 'cooling' | 'pending';
  /** modRevision of the stored record (0: none stored). */
  rev: number;
  holder?: string;
  releasedAtMs?: number;
  coolUntilMs?: number;
  /** For a pending entry: what was there before it was picked (restored if the commit fails). */
  prev?: Entry;
}

export class PoolState {
  readonly entries = new Map<bigint, Entry>();
  /** Cooling addresses, oldest release first: reused longest-idle first once nothing fresh is left. */
  readonly coolingQueue = new Map<bigint, true>();
  assigned = 0;
  cooling = 0;
  pending = 0;
  private rangeIndex = 0;
  private cursor: bigint;

  constructor(readonly pool: CompiledPool) {
    this.cursor = pool.ranges[0]!.start;
  }

  set(value: bigint, entry: Entry | undefined): void {
    const old = this.entries.get(value);
    if (old) this.count(old.state, -1);
    if (old?.state === 'cooling') this.coolingQueue.delete(value);
    if (entry) {
      this.entries.set(value, entry);
      this.count(entry.state, 1);
      if (entry.state === 'cooling') this.coolingQueue.set(value, true);
    } else this.entries.delete(value);
  }

  private count(state: Entry['state'], delta: number): void {
    if (state === 'assigned') this.assigned += delta;
    else if (state === 'cooling') this.cooling += delta;
    else this.pending += delta;
  }

  /** Never-used (or swept) addresses left: size minus everything with an entry. */
  freeCount(): bigint {
    return this.pool.size - BigInt(this.assigned + this.cooling + this.pending);
  }

  /**
   * The next address without an entry, round-robin from the cursor (host-local's order: a
   * crash-looping container does not get the same address straight back). Cost grows with the
   * entries skipped, not with the pool size; only called when freeCount() > 0.
   */
  nextFree(): bigint | undefined {
    const ranges = this.pool.ranges;
    const bound = this.entries.size + 2 * (this.pool.reserved.length + ranges.length) + 8;
    let ri = this.rangeIndex;
    let v = this.cursor;
    for (let step = 0; step <= bound; step++) {
      const r = ranges[ri]!;
      if (v < r.start) v = r.start;
      if (v > r.end) {
        ri = (ri + 1) % ranges.length;
        v = ranges[ri]!.start;
        continue;
      }
      const reserved = this.pool.reserved.find(([a, b]) => v >= a && v <= b);
      if (reserved) {
        v = reserved[1] + 1n;
        continue;
      }
      if (this.entries.has(v)) {
        v += 1n;
        continue;
      }
      this.rangeIndex = ri;
      this.cursor = v + 1n;
      return v;
    }
    return undefined;
  }

  /** Cooling addresses whose cool-down has passed, oldest first (a snapshot: picking changes the queue). */
  reusable(now: number): Array<[bigint, Entry]> {
    const out: Array<[bigint, Entry]> = [];
    for (const value of this.coolingQueue.keys()) {
      const e = this.entries.get(value);
      if (e && e.state === 'cooling' && (e.coolUntilMs ?? 0) <= now) out.push([value, e]);
    }
    return out;
  }

  get position(): [number, bigint] {
    return [this.rangeIndex, this.cursor];
  }

  set position([ri, v]: [number, bigint]) {
    this.rangeIndex = ri;
    this.cursor = v;
  }

  /** Cooling addresses still inside their cool-down, and when the first of them comes free. */
  coolingNow(now: number): { count: number; nextFreeAtMs?: number } {
    let count = 0;
    let next: number | undefined;
    for (const value of this.coolingQueue.keys()) {
      const until = this.entries.get(value)?.coolUntilMs ?? 0;
      if (until > now) {
        count++;
        if (next === undefined || until < next) next = until;
      }
    }
    return { count, nextFreeAtMs: next };
  }
}

export interface NetworkState {
  pools: Map<string, PoolState>;
}

export function addPool(networks: Map<string, NetworkState>, pool: CompiledPool): PoolState {
  let ns = networks.get(pool.network);
  if (!ns) networks.set(pool.network, (ns = { pools: new Map() }));
  let ps = ns.pools.get(pool.id);
  if (!ps) ns.pools.set(pool.id, (ps = new PoolState(pool)));
  return ps;
}
