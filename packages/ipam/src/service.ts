import { createMetricsRegistry, silentLogger, type Logger } from '@ippc/core';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { formatIp, parseIp, type Family } from './addr.js';
import { IpamError, isIpamError } from './errors.js';
import { compilePool, describeRanges, isReserved, isValidIfName, isValidName, poolsOverlap, rangeOf, type CompiledPool } from './pool.js';
import { key, type IpamStore, type StoreCondition, type StoreEntry, type StoreWrite } from './store/store.js';
import type {
  AddressRequest,
  AllocateRequest,
  AllocateResult,
  AssignedAddress,
  GarbageCollectRequest,
  GarbageCollectResult,
  Handle,
  IpamApi,
  Label,
  Lease,
  LeaseFilter,
  PoolSpec,
  PoolUsage,
  ReleaseResult,
} from './types.js';

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

// ---- stored records ------------------------------------------------------------------------

interface LeaseRecord {
  handle: Handle;
  owner: string;
  node: string;
  addresses: AssignedAddress[];
  createdAtMs: number;
  groups: string[];
  labels: Label[];
}

type AddrRecord = { state: 'assigned'; holder: string } | { state: 'cooling'; holder: string; releasedAtMs: number; coolUntilMs: number };

interface NetRecord {
  pools: string[];
}

const netKey = (network: string) => key('net', network);
const poolKey = (network: string, id: string) => key('pool', network, id);
const leaseKey = (h: Handle) => key('lease', h.network, h.containerId, h.ifName);
const addrKey = (network: string, pool: string, address: string) => key('addr', network, pool, address);

// ---- in-memory index -----------------------------------------------------------------------

interface Entry {
  state: 'assigned' | 'cooling' | 'pending';
  /** modRevision of the stored record (0: none stored). */
  rev: number;
  holder?: string;
  releasedAtMs?: number;
  coolUntilMs?: number;
  /** For a pending entry: what was there before it was picked (restored if the commit fails). */
  prev?: Entry;
}

class PoolState {
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

interface NetworkState {
  pools: Map<string, PoolState>;
}

/** What one wanted address resolved to, before picking. */
interface Want {
  pools: PoolState[];
  address?: bigint;
  family: Family;
}

interface Pick {
  ps: PoolState;
  value: bigint;
  /** Condition for the commit: the record we expect under the key (0: none). */
  expectRev: number;
  /** The round-robin position before this pick, restored when the pick is abandoned. */
  positionBefore?: [number, bigint];
}

function bad(message: string, details?: Record<string, unknown>): IpamError {
  return new IpamError('IPAM_BAD_REQUEST', message, { details });
}

function handleText(h: Handle): string {
  return `${h.network}/${h.containerId}/${h.ifName}`;
}

/** "lease/blue/c1/eth0" (URI-encoded segments) -> "blue/c1/eth0", for messages. */
function holderText(leaseKeyText: string | undefined): string {
  if (!leaseKeyText) return '';
  return leaseKeyText.split('/').slice(1).map(decodeURIComponent).join('/');
}

function validateHandle(h: Handle | undefined): Handle {
  if (!h || typeof h !== 'object') throw bad('a handle is required: {network, containerId, ifName}');
  if (!isValidName(h.network)) throw bad(`network name '${h.network ?? ''}' is invalid: use letters, digits, '_', '.', '-' (CNI's rule)`);
  if (!isValidName(h.containerId)) throw bad(`container id '${h.containerId ?? ''}' is invalid: it must match ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$ (CNI_CONTAINERID's rule)`);
  if (!isValidIfName(h.ifName)) throw bad(`interface name '${h.ifName ?? ''}' is invalid: 1 to 15 characters, no '/', ':' or spaces`);
  return { network: h.network, containerId: h.containerId, ifName: h.ifName };
}

function toLease(e: StoreEntry<LeaseRecord>): Lease {
  const r = e.value;
  return { handle: r.handle, owner: r.owner, node: r.node, addresses: r.addresses, epoch: e.modRevision, createdAtMs: r.createdAtMs, groups: r.groups, labels: r.labels };
}

/**
 * The IPAM: pools per network, leases per handle, cool-down, fencing, GC, metrics; persistence in
 * an {@link IpamStore}. Serve it over gRPC with `createIpamServer`, or call it in process.
 */
export function createIpamService(options: IpamServiceOptions): IpamService {
  const store = options.store;
  const log = options.logger ?? silentLogger();
  const now = options.now ?? Date.now;
  const defaultCooldownMs = options.cooldownMs ?? 30_000;
  const maxAttempts = options.maxAttempts ?? 16;
  const gcGraceMs = options.gcGraceMs ?? 0;
  const networks = new Map<string, NetworkState>();
  const locks = new Map<string, Promise<unknown>>();
  /** GC observations: lease key -> epoch and time when first seen invalid. */
  const suspects = new Map<string, { epoch: number; firstSeenMs: number }>();
  const registry = options.metrics ?? createMetricsRegistry('ipam');
  let closed = false;

  // ---- metrics ----
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
  const allocations = new Counter({ name: 'ippc_ipam_allocations_total', help: 'Allocate calls by result code', labelNames: ['result'], registers: [registry] });
  const releases = new Counter({ name: 'ippc_ipam_released_leases_total', help: 'Leases released (by handle, owner, address or GC)', labelNames: ['via'], registers: [registry] });
  const conflicts = new Counter({ name: 'ippc_ipam_commit_conflicts_total', help: 'Commits that lost a race and were retried', registers: [registry] });
  const allocSeconds = new Histogram({
    name: 'ippc_ipam_allocate_seconds',
    help: 'Allocate latency inside the service',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    registers: [registry],
  });

  // ---- loading ----
  const cooldownOf = (pool: CompiledPool) => (pool.spec.cooldownSeconds !== undefined ? pool.spec.cooldownSeconds * 1000 : defaultCooldownMs);

  function applyAddrRecord(ps: PoolState, value: bigint, e: StoreEntry<AddrRecord> | undefined): void {
    if (!e) return ps.set(value, undefined);
    const r = e.value;
    if (r.state === 'assigned') ps.set(value, { state: 'assigned', rev: e.modRevision, holder: r.holder });
    else ps.set(value, { state: 'cooling', rev: e.modRevision, holder: r.holder, releasedAtMs: r.releasedAtMs, coolUntilMs: r.coolUntilMs });
  }

  function addPool(pool: CompiledPool): PoolState {
    let ns = networks.get(pool.network);
    if (!ns) networks.set(pool.network, (ns = { pools: new Map() }));
    let ps = ns.pools.get(pool.id);
    if (!ps) ns.pools.set(pool.id, (ps = new PoolState(pool)));
    return ps;
  }

  /** (Re)reads one network's pools and address records from the store. */
  async function loadNetwork(network: string): Promise<void> {
    const pools = await store.list<PoolSpec>(key('pool', network) + '/');
    for (const p of pools) {
      const ps = addPool(compilePool(p.value));
      await loadPoolAddresses(ps);
    }
  }

  async function loadPoolAddresses(ps: PoolState): Promise<void> {
    const records = await store.list<AddrRecord>(key('addr', ps.pool.network, ps.pool.id) + '/');
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

  async function loadAll(): Promise<void> {
    const nets = new Set<string>();
    for (const p of await store.list<PoolSpec>('pool/')) nets.add(p.value.network);
    for (const n of nets) await loadNetwork(n);
  }

  const readyPromise = (async () => {
    await loadAll();
    for (const spec of options.pools ?? []) await ensurePool(spec);
    log.info({ store: store.kind, networks: [...networks.keys()] }, 'IPAM state loaded');
  })();
  readyPromise.catch(() => undefined);

  let resyncTimer: NodeJS.Timeout | undefined;
  const resyncMs = options.resyncIntervalMs ?? (store.shared ? 10_000 : 0);
  if (resyncMs > 0) {
    resyncTimer = setInterval(() => {
      loadAll().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'IPAM resync failed'));
    }, resyncMs);
    resyncTimer.unref();
  }

  async function ready(): Promise<void> {
    if (closed) throw new IpamError('IPAM_UNAVAILABLE', 'the IPAM service is closed');
    await readyPromise;
  }

  async function withLock<T>(k: string, fn: () => Promise<T>): Promise<T> {
    const prev = locks.get(k) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    locks.set(k, tail);
    try {
      return await run;
    } finally {
      if (locks.get(k) === tail) locks.delete(k);
    }
  }

  // ---- pools ----
  function usage(ps: PoolState): PoolUsage {
    return { spec: ps.pool.spec, family: ps.pool.family, size: ps.pool.size, used: ps.assigned + ps.pending, cooling: ps.coolingNow(now()).count, reserved: ps.pool.reservedInRanges };
  }

  /** Same pool when the ranges match; node/exclude/cooldown must match when the request sets them. */
  function compatible(existing: PoolSpec, wanted: PoolSpec, asked: PoolSpec): boolean {
    if (JSON.stringify(existing.ranges) !== JSON.stringify(wanted.ranges)) return false;
    if (asked.node && asked.node !== (existing.node ?? '')) return false;
    if (asked.exclude && asked.exclude.length > 0 && JSON.stringify(wanted.exclude ?? []) !== JSON.stringify(existing.exclude ?? [])) return false;
    if (asked.cooldownSeconds !== undefined && asked.cooldownSeconds !== existing.cooldownSeconds) return false;
    return true;
  }

  async function ensurePool(spec: PoolSpec): Promise<{ pool: PoolUsage; created: boolean }> {
    const compiled = compilePool(spec);
    return withLock(netKey(compiled.network), async () => {
      for (let attempt = 0; attempt < maxAttempts; attempt++) {
        const [net, existing, all] = await Promise.all([
          store.get<NetRecord>(netKey(compiled.network)),
          store.get<PoolSpec>(poolKey(compiled.network, compiled.id)),
          store.list<PoolSpec>(key('pool', compiled.network) + '/'),
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
          let ps = networks.get(compiled.network)?.pools.get(compiled.id);
          if (!ps) {
            ps = addPool(compilePool(existing.value));
            await loadPoolAddresses(ps);
          }
          return { pool: usage(ps), created: false };
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
        const res = await store.commit(
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
          const ps = addPool(compiled);
          log.info({ network: compiled.network, pool: compiled.id, size: compiled.size.toString() }, 'pool created');
          return { pool: usage(ps), created: true };
        }
        conflicts.inc();
      }
      throw new IpamError('IPAM_CONFLICT', `could not create pool '${compiled.id}': the network changed ${maxAttempts} times while trying; retry`);
    });
  }

  async function poolsOf(network: string): Promise<PoolState[]> {
    let ns = networks.get(network);
    if ((!ns || ns.pools.size === 0) && store.shared) {
      await loadNetwork(network);
      ns = networks.get(network);
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

  // ---- allocation ----
  async function resolveWants(req: AllocateRequest, network: string): Promise<Want[]> {
    const pools = await poolsOf(network);
    const node = req.node ?? '';
    const affine = node ? pools.filter((p) => p.pool.spec.node === node) : [];
    const defaults = affine.length > 0 ? affine : pools.filter((p) => !p.pool.spec.node);
    const requests: AddressRequest[] = req.requests && req.requests.length > 0 ? req.requests : [];
    if (requests.length === 0) {
      if (defaults.length === 0) {
        throw new IpamError(
          'IPAM_UNKNOWN_NETWORK',
          `network '${network}' has no pool for node '${node}' (its pools belong to ${[...new Set(pools.map((p) => p.pool.spec.node))].join(', ')}); ` +
            `define a pool for this node or name a pool in the request`,
          { details: { network, node } },
        );
      }
      const families = [...new Set(defaults.map((p) => p.pool.family))].sort();
      return families.map((family) => ({ family, pools: defaults.filter((p) => p.pool.family === family) }));
    }
    const seen = new Set<string>();
    return requests.map((r, i): Want => {
      if (r.family !== undefined && r.family !== 4 && r.family !== 6) throw bad(`request ${i}: family must be 4 or 6, not ${String(r.family)}`);
      let candidates = pools;
      if (r.pool) {
        const p = pools.find((x) => x.pool.id === r.pool);
        if (!p) {
          throw new IpamError('IPAM_UNKNOWN_NETWORK', `network '${network}' has no pool '${r.pool}' (pools: ${pools.map((x) => x.pool.id).join(', ')}); ensure the pool first`, {
            details: { network, pool: r.pool },
          });
        }
        candidates = [p];
      }
      if (r.address) {
        const ip = parseIp(r.address);
        if (!ip) throw bad(`request ${i}: '${r.address}' is not an IP address`);
        if (r.family && r.family !== ip.family) throw bad(`request ${i}: ${r.address} is not an IPv${r.family} address`);
        const text = formatIp(ip.family, ip.value);
        if (seen.has(text)) throw bad(`request ${i}: ${text} is requested twice`);
        seen.add(text);
        const inRange = candidates.filter((p) => p.pool.family === ip.family && rangeOf(p.pool, ip.value));
        const holder = inRange[0];
        if (!holder) {
          const ranges = candidates.filter((p) => p.pool.family === ip.family).map((p) => `${p.pool.id}: ${describeRanges(p.pool)}`);
          throw new IpamError(
            'IPAM_ADDRESS_OUTSIDE_POOL',
            `${text} is outside every pool of network '${network}'${r.pool ? ` named in the request (${r.pool})` : ''}; ` +
              (ranges.length > 0 ? `request an address within ${ranges.join('; ')}` : `the network has no IPv${ip.family} pool`),
            { details: { network, address: text } },
          );
        }
        if (isReserved(holder.pool, ip.value)) {
          const gw = holder.pool.ranges.some((x) => x.gateway === ip.value);
          throw new IpamError(
            'IPAM_ADDRESS_OUTSIDE_POOL',
            `${text} is ${gw ? 'the gateway' : 'reserved (network, broadcast or excluded address)'} of pool '${holder.pool.id}' in network '${network}' and is never assigned; ` +
              `request another address within ${describeRanges(holder.pool)}`,
            { details: { network, address: text, pool: holder.pool.id } },
          );
        }
        return { family: ip.family, pools: [holder], address: ip.value };
      }
      const family = r.family ?? (r.pool ? candidates[0]!.pool.family : 4);
      const inFamily = (r.pool ? candidates : defaults).filter((p) => p.pool.family === family);
      if (inFamily.length === 0) {
        throw new IpamError('IPAM_UNKNOWN_NETWORK', `network '${network}' has no IPv${family} pool${node ? ` for node '${node}'` : ''}; define one or ask for another family`, {
          details: { network, family },
        });
      }
      return { family, pools: inFamily };
    });
  }

  function unpick(picks: Pick[]): void {
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

  async function guardAllows(ps: PoolState, value: bigint, e: Entry): Promise<boolean> {
    if (!options.reuseGuard) return true;
    try {
      return await options.reuseGuard({
        network: ps.pool.network,
        pool: ps.pool.id,
        address: formatIp(ps.pool.family, value),
        previousHolder: holderText(e.holder),
        releasedAtMs: e.releasedAtMs ?? 0,
      });
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'reuse guard failed; keeping the address cooling');
      return false;
    }
  }

  function exhausted(want: Want, network: string): IpamError {
    const t = now();
    const parts = want.pools.map((ps) => {
      const c = ps.coolingNow(t);
      return { pool: ps.pool.id, size: ps.pool.size.toString(), assigned: ps.assigned + ps.pending, cooling: c.count, nextFreeAtMs: c.nextFreeAtMs, ranges: describeRanges(ps.pool) };
    });
    const cooling = parts.reduce((n, p) => n + p.cooling, 0);
    const next = parts.map((p) => p.nextFreeAtMs).filter((x): x is number => x !== undefined).sort((a, b) => a - b)[0];
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
  async function pickAll(wants: Want[], network: string): Promise<Pick[]> {
    const picks: Pick[] = [];
    try {
      for (const want of wants) picks.push(await pickOne(want, network));
      return picks;
    } catch (err) {
      unpick(picks);
      throw err;
    }
  }

  async function pickOne(want: Want, network: string): Promise<Pick> {
    const t = now();
    if (want.address !== undefined) {
      const ps = want.pools[0]!;
      const e = ps.entries.get(want.address);
      const text = formatIp(want.family, want.address);
      if (!e) return markPending(ps, want.address, undefined);
      if (e.state === 'cooling' && (e.coolUntilMs ?? 0) <= t) {
        const pick = markPending(ps, want.address, e);
        if (await guardAllows(ps, want.address, e)) return pick;
        unpick([pick]);
        throw new IpamError('IPAM_ADDRESS_TAKEN', `${text} was released by ${holderText(e.holder)} and may still be in an isolation allow-set; retry shortly or request another address`, {
          details: { network, address: text },
        });
      }
      if (e.state === 'cooling') {
        throw new IpamError(
          'IPAM_ADDRESS_TAKEN',
          `${text} was released by ${holderText(e.holder)} and is cooling down until ${new Date(e.coolUntilMs ?? 0).toISOString()} ` +
            `(cool-down ${cooldownOf(ps.pool) / 1000} s); retry after that or request another address`,
          { details: { network, address: text, coolingUntilMs: e.coolUntilMs, retryAfterMs: Math.max(0, (e.coolUntilMs ?? 0) - t) } },
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
        if (await guardAllows(ps, value, e)) return pick;
        unpick([pick]);
      }
    }
    throw exhausted(want, network);
  }

  async function allocate(req: AllocateRequest): Promise<AllocateResult> {
    const started = process.hrtime.bigint();
    try {
      await ready();
      if (!req || typeof req !== 'object') throw bad('an allocate request is required');
      const handle = validateHandle(req.handle);
      const owner = req.owner || req.node || '';
      for (const g of req.groups ?? []) if (typeof g !== 'string' || g === '') throw bad('groups must be non-empty strings');
      for (const l of req.labels ?? []) if (!l || typeof l.key !== 'string' || typeof l.value !== 'string') throw bad('labels must be {key, value} strings');
      const lk = leaseKey(handle);
      const result = await withLock(lk, async () => {
        for (let attempt = 0; attempt < maxAttempts; attempt++) {
          // A retried Allocate (timeout after commit) gets its lease back.
          const existing = await store.get<LeaseRecord>(lk);
          if (existing) return sameOrReject(toLease(existing), req);
          let wants = await resolveWants(req, handle.network);
          let picks: Pick[];
          try {
            picks = await pickAll(wants, handle.network);
          } catch (err) {
            // On a shared store another instance may have freed addresses: re-read once before refusing.
            if (!store.shared || !isIpamError(err, 'IPAM_POOL_EXHAUSTED', 'IPAM_ADDRESS_TAKEN')) throw err;
            await loadNetwork(handle.network);
            wants = await resolveWants(req, handle.network);
            picks = await pickAll(wants, handle.network);
          }
          const t = now();
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
            res = await store.commit(conditions, writes);
          } catch (err) {
            unpick(picks);
            throw err;
          }
          if (res.ok) {
            for (const p of picks) p.ps.set(p.value, { state: 'assigned', rev: res.revision, holder: lk });
            const lease: Lease = { ...record, epoch: res.revision };
            log.debug({ handle, addresses: addresses.map((a) => a.address), epoch: res.revision }, 'allocated');
            return { lease, existing: false };
          }
          // Lost a race: another writer created the lease or took an address. Refresh and retry.
          conflicts.inc();
          unpick(picks);
          await Promise.all(
            picks.map(async (p) => {
              const e = await store.get<AddrRecord>(addrKey(handle.network, p.ps.pool.id, formatIp(p.ps.pool.family, p.value)));
              if (p.ps.entries.get(p.value)?.state !== 'pending') applyAddrRecord(p.ps, p.value, e);
            }),
          );
        }
        throw new IpamError('IPAM_CONFLICT', `could not allocate for ${handleText(handle)}: lost ${maxAttempts} races to other writers; nothing was assigned, retry`);
      });
      allocations.inc({ result: result.existing ? 'existing' : 'ok' });
      return result;
    } catch (err) {
      allocations.inc({ result: isIpamError(err) ? err.code : 'INTERNAL' });
      throw err;
    } finally {
      allocSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    }
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
  async function releaseLease(lk: string, epoch: number | undefined, via: string): Promise<ReleaseResult> {
    return withLock(lk, async () => {
      for (let attempt = 0; attempt < maxAttempts; attempt++) {
        const e = await store.get<LeaseRecord>(lk);
        if (!e) return { released: [], stale: false };
        if (epoch && e.modRevision !== epoch) return { released: [], stale: true };
        const lease = toLease(e);
        const t = now();
        const writes: StoreWrite[] = [{ key: lk, delete: true }];
        const updates: Array<[PoolState | undefined, bigint, Entry | undefined]> = [];
        for (const a of lease.addresses) {
          const ps = networks.get(lease.handle.network)?.pools.get(a.pool);
          const ak = addrKey(lease.handle.network, a.pool, a.address);
          const cooldown = ps ? cooldownOf(ps.pool) : defaultCooldownMs;
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
        const res = await store.commit([{ key: lk, modRevision: e.modRevision }], writes);
        if (res.ok) {
          for (const [ps, value, entry] of updates) {
            if (!ps) continue;
            if (ps.entries.get(value)?.state === 'pending') continue; // cannot happen: it was assigned
            ps.set(value, entry && { ...entry, rev: res.revision });
          }
          releases.inc({ via });
          log.debug({ handle: lease.handle, epoch: lease.epoch, via }, 'released');
          return { released: [lease], stale: false };
        }
        conflicts.inc();
      }
      throw new IpamError('IPAM_CONFLICT', `could not release ${lk}: it changed ${maxAttempts} times while trying; retry`);
    });
  }

  async function release(handle: Handle, epoch?: number): Promise<ReleaseResult> {
    await ready();
    const h = validateHandle(handle);
    if (epoch !== undefined && (!Number.isSafeInteger(epoch) || epoch < 0)) throw bad(`epoch must be a whole number, not ${String(epoch)}`);
    return releaseLease(leaseKey(h), epoch || undefined, 'handle');
  }

  async function listLeases(filter: LeaseFilter = {}): Promise<Lease[]> {
    await ready();
    if (filter.network !== undefined && filter.network !== '' && !isValidName(filter.network)) throw bad(`network name '${filter.network}' is invalid`);
    const prefix = filter.network ? key('lease', filter.network) + '/' : 'lease/';
    const entries = await store.list<LeaseRecord>(prefix);
    return entries.map(toLease).filter((l) => (!filter.owner || l.owner === filter.owner) && (!filter.node || l.node === filter.node));
  }

  async function releaseByOwner(owner: string, network?: string): Promise<ReleaseResult> {
    await ready();
    if (typeof owner !== 'string' || owner === '') throw bad('owner is required: the owner given at Allocate (default: the node)');
    const leases = await listLeases({ owner, network });
    const released: Lease[] = [];
    for (const l of leases) released.push(...(await releaseLease(leaseKey(l.handle), l.epoch, 'owner')).released);
    return { released, stale: false };
  }

  async function releaseAddress(network: string, address: string, epoch: number): Promise<ReleaseResult> {
    await ready();
    if (!isValidName(network)) throw bad(`network name '${network}' is invalid`);
    const ip = parseIp(address);
    if (!ip) throw bad(`'${address}' is not an IP address`);
    if (!Number.isSafeInteger(epoch) || epoch <= 0) throw bad('epoch is required to release by address (the lease epoch from Allocate or ListLeases): it fences a late release');
    const pools = await poolsOf(network);
    const ps = pools.find((p) => p.pool.family === ip.family && rangeOf(p.pool, ip.value));
    if (!ps) throw new IpamError('IPAM_ADDRESS_OUTSIDE_POOL', `${address} is outside every pool of network '${network}'`, { details: { network, address } });
    const text = formatIp(ip.family, ip.value);
    const rec = await store.get<AddrRecord>(addrKey(network, ps.pool.id, text));
    if (!rec || rec.value.state !== 'assigned') return { released: [], stale: false };
    if (rec.modRevision !== epoch) return { released: [], stale: true };
    return releaseLease(rec.value.holder, epoch, 'address');
  }

  async function getLease(handle: Handle): Promise<Lease> {
    await ready();
    const h = validateHandle(handle);
    const e = await store.get<LeaseRecord>(leaseKey(h));
    if (!e) throw new IpamError('IPAM_LEASE_NOT_FOUND', `${handleText(h)} holds no lease; allocate first (or it was released)`, { details: { handle: h } });
    return toLease(e);
  }

  async function listPools(network?: string): Promise<PoolUsage[]> {
    await ready();
    if (store.shared) {
      if (network) await loadNetwork(network);
      else await loadAll();
    }
    const out: PoolUsage[] = [];
    for (const [name, ns] of networks) if (!network || name === network) for (const ps of ns.pools.values()) out.push(usage(ps));
    return out;
  }

  async function garbageCollect(req: GarbageCollectRequest): Promise<GarbageCollectResult> {
    await ready();
    if (!req || !isValidName(req.network)) throw bad(`network name '${req?.network ?? ''}' is invalid`);
    if (!Array.isArray(req.valid)) throw bad('valid must be a list of {containerId, ifName} (may be empty)');
    const valid = new Set(req.valid.map((v) => leaseKey({ network: req.network, containerId: v.containerId, ifName: v.ifName })));
    // Leases are read after the caller built its valid set; a lease created in between is only
    // suspected now and is valid by the next call (whereabouts #207).
    const leases = await listLeases({ network: req.network, node: req.node || undefined });
    const t = now();
    const reclaimed: Lease[] = [];
    const suspected: Lease[] = [];
    const inScope = new Set<string>();
    for (const lease of leases) {
      const lk = leaseKey(lease.handle);
      inScope.add(lk);
      if (valid.has(lk)) {
        suspects.delete(lk);
        continue;
      }
      const seen = suspects.get(lk);
      if (seen && seen.epoch === lease.epoch && t - seen.firstSeenMs >= gcGraceMs) {
        // Second observation, same epoch: reclaim, fenced by the epoch so a re-assignment since
        // the read is never freed.
        const res = await releaseLease(lk, lease.epoch, 'gc');
        suspects.delete(lk);
        reclaimed.push(...res.released);
      } else {
        if (!seen || seen.epoch !== lease.epoch) suspects.set(lk, { epoch: lease.epoch, firstSeenMs: t });
        suspected.push(lease);
      }
    }
    const prefix = key('lease', req.network) + '/';
    for (const k of [...suspects.keys()]) if (k.startsWith(prefix) && !inScope.has(k) && !req.node) suspects.delete(k);
    if (reclaimed.length > 0) log.info({ network: req.network, node: req.node, reclaimed: reclaimed.map((l) => handleText(l.handle)) }, 'GC reclaimed leaked leases');
    return { reclaimed, suspected };
  }

  return {
    metrics: registry,
    store,
    ready,
    ensurePool: async (spec) => {
      await ready();
      return ensurePool(spec);
    },
    listPools,
    allocate,
    release,
    releaseByOwner,
    releaseAddress,
    getLease,
    listLeases,
    garbageCollect,
    async close() {
      if (closed) return;
      closed = true;
      if (resyncTimer) clearInterval(resyncTimer);
      await readyPromise.catch(() => undefined);
      await Promise.allSettled([...locks.values()]);
      await store.close();
    },
  };
}
