import { cidrContains, cidrLast, formatCidr, formatIp, parseCidr, parseIp, type Cidr, type IpFamily } from '@ippc/core';
import { bad } from './errors.js';
import type { PoolSpec, RangeSpec } from './types.js';

/** A range with every default applied, as bigints. */
export interface CompiledRange {
  subnet: Cidr;
  start: bigint;
  end: bigint;
  gateway: bigint;
}

/**
 * A pool ready for allocation: ranges, the reserved intervals inside them, and the assignable size.
 * Reserved addresses are kept as merged intervals so a /8 exclude costs the same as a /32.
 */
export interface CompiledPool {
  id: string;
  network: string;
  family: IpFamily;
  spec: PoolSpec & { id: string };
  ranges: CompiledRange[];
  /** Merged, sorted, inclusive [from, to] intervals never handed out. */
  reserved: Array<[bigint, bigint]>;
  size: bigint;
  reservedInRanges: bigint;
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** CNI's rule for network names and container ids (libcni ValidateNetworkName / ValidateContainerID). */
export function isValidName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 253 && NAME.test(value);
}

/** Linux interface names: 1-15 bytes, no '/', ':' or whitespace, not '.' or '..'. */
export function isValidIfName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 15 && !/[/:\s]/.test(value) && value !== '.' && value !== '..';
}

function mergeIntervals(list: Array<[bigint, bigint]>): Array<[bigint, bigint]> {
  const sorted = [...list].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: Array<[bigint, bigint]> = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1] + 1n) {
      if (b > last[1]) last[1] = b;
    } else out.push([a, b]);
  }
  return out;
}

function compileRange(network: string, range: RangeSpec, index: number): CompiledRange {
  const where = `network '${network}' range ${index}`;
  if (!range || typeof range !== 'object') throw bad(`${where}: a range must be an object like {"subnet": "10.210.1.0/24"}`);
  const subnet = parseCidr(range.subnet);
  if (!subnet) throw bad(`${where}: subnet '${range.subnet ?? ''}' is not a CIDR; write it like "10.210.1.0/24" or "fd10:210::/64"`);
  const bits = subnet.family === 4 ? 32 : 128;
  if (subnet.prefixLength > bits - 2) {
    throw bad(`${where}: subnet ${formatCidr(subnet)} is too small to allocate from; use a /${bits - 2} or larger`);
  }
  const last = cidrLast(subnet);
  const parseIn = (text: string | undefined, field: string, fallback: bigint): bigint => {
    if (text === undefined || text === '') return fallback;
    const ip = parseIp(text);
    if (!ip || !cidrContains(subnet, ip)) throw bad(`${where}: ${field} '${text}' is not an address inside ${formatCidr(subnet)}`);
    return ip.value;
  };
  const start = parseIn(range.rangeStart, 'rangeStart', subnet.network + 1n);
  const end = parseIn(range.rangeEnd, 'rangeEnd', subnet.family === 4 ? last - 1n : last);
  const gateway = parseIn(range.gateway, 'gateway', subnet.network + 1n);
  if (start > end) throw bad(`${where}: rangeStart ${formatIp(subnet.family, start)} is after rangeEnd ${formatIp(subnet.family, end)}`);
  return { subnet, start, end, gateway };
}

/** The id a pool gets when its spec names none: the first range's canonical subnet. */
export function defaultPoolId(spec: Pick<PoolSpec, 'ranges'>): string | undefined {
  const cidr = parseCidr(spec.ranges?.[0]?.subnet ?? '');
  return cidr && formatCidr(cidr);
}

/**
 * Validates a pool spec and applies defaults. Throws IPAM_BAD_REQUEST with a message that names
 * the field and shows the expected shape.
 */
export function compilePool(spec: PoolSpec, defaultCooldownSeconds?: number): CompiledPool {
  if (!spec || typeof spec !== 'object') throw bad('a pool spec must be an object: {"network": "blue", "ranges": [{"subnet": "10.210.1.0/24"}]}');
  if (!isValidName(spec.network)) throw bad(`network name '${spec.network ?? ''}' is invalid: use letters, digits, '_', '.', '-' (CNI's rule)`);
  if (!Array.isArray(spec.ranges) || spec.ranges.length === 0) throw bad(`pool of network '${spec.network}' has no ranges: give at least one {"subnet": ...}`);
  const ranges = spec.ranges.map((r, i) => compileRange(spec.network, r, i));
  const family = ranges[0]!.subnet.family;
  if (ranges.some((r) => r.subnet.family !== family)) {
    throw bad(`pool of network '${spec.network}' mixes IPv4 and IPv6 ranges; put each family in its own pool (its own range set)`);
  }
  const sorted = [...ranges].sort((a, b) => (a.start < b.start ? -1 : 1));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.start <= sorted[i - 1]!.end) {
      throw bad(
        `pool of network '${spec.network}': ranges ${formatIp(family, sorted[i - 1]!.start)}-${formatIp(family, sorted[i - 1]!.end)} and ${formatIp(family, sorted[i]!.start)}-${formatIp(family, sorted[i]!.end)} overlap`,
      );
    }
  }
  const id = spec.id && spec.id !== '' ? spec.id : formatCidr(ranges[0]!.subnet);
  if (typeof id !== 'string' || id.length > 128 || /[\s]/.test(id)) throw bad(`pool id '${String(id)}' is invalid: up to 128 characters, no spaces`);
  const reservedList: Array<[bigint, bigint]> = [];
  for (const r of ranges) {
    reservedList.push([r.gateway, r.gateway], [r.subnet.network, r.subnet.network]);
    if (family === 4) reservedList.push([cidrLast(r.subnet), cidrLast(r.subnet)]);
  }
  const exclude: string[] = [];
  for (const item of spec.exclude ?? []) {
    const cidr = item.includes('/') ? parseCidr(item) : undefined;
    const ip = item.includes('/') ? undefined : parseIp(item);
    if (cidr && cidr.family === family) {
      reservedList.push([cidr.network, cidrLast(cidr)]);
      exclude.push(formatCidr(cidr));
    } else if (ip && ip.family === family) {
      reservedList.push([ip.value, ip.value]);
      exclude.push(formatIp(family, ip.value));
    } else throw bad(`pool '${id}' of network '${spec.network}': exclude entry '${item}' is not an IPv${family} address or CIDR`);
  }
  const cooldown = spec.cooldownSeconds ?? defaultCooldownSeconds;
  if (cooldown !== undefined && (!Number.isInteger(cooldown) || cooldown < 0 || cooldown > 86_400)) {
    throw bad(`pool '${id}': cooldownSeconds must be a whole number from 0 to 86400`);
  }
  const reserved = mergeIntervals(reservedList);
  let total = 0n;
  let reservedInRanges = 0n;
  for (const r of ranges) {
    total += r.end - r.start + 1n;
    for (const [a, b] of reserved) {
      const lo = a > r.start ? a : r.start;
      const hi = b < r.end ? b : r.end;
      if (lo <= hi) reservedInRanges += hi - lo + 1n;
    }
  }
  // The canonical spec: what is stored and compared by EnsurePool, defaults written out.
  const canonical: PoolSpec & { id: string } = {
    network: spec.network,
    id,
    ranges: ranges.map((r) => ({
      subnet: formatCidr(r.subnet),
      rangeStart: formatIp(family, r.start),
      rangeEnd: formatIp(family, r.end),
      gateway: formatIp(family, r.gateway),
    })),
    ...(spec.node ? { node: spec.node } : {}),
    ...(exclude.length > 0 ? { exclude } : {}),
    ...(spec.cooldownSeconds !== undefined ? { cooldownSeconds: spec.cooldownSeconds } : {}),
  };
  return { id, network: spec.network, family, spec: canonical, ranges, reserved, size: total - reservedInRanges, reservedInRanges };
}

export function isReserved(pool: CompiledPool, value: bigint): boolean {
  for (const [a, b] of pool.reserved) {
    if (value < a) return false;
    if (value <= b) return true;
  }
  return false;
}

/** The range holding `value`, if any (reserved addresses included: callers check separately). */
export function rangeOf(pool: CompiledPool, value: bigint): CompiledRange | undefined {
  return pool.ranges.find((r) => value >= r.start && value <= r.end);
}

/**
 * Whether two pools could hand out the same address: their ranges intersect. Pools may share a
 * subnet (per-agent slices of one subnet) as long as their ranges are disjoint.
 */
export function poolsOverlap(a: CompiledPool, b: CompiledPool): boolean {
  if (a.family !== b.family) return false;
  for (const ra of a.ranges) {
    for (const rb of b.ranges) {
      if (ra.start <= rb.end && rb.start <= ra.end) return true;
    }
  }
  return false;
}

/** Human text of a pool's ranges as configured (reserved addresses included), for messages about the ranges themselves: "10.210.1.1-10.210.1.254". */
export function describeRanges(pool: CompiledPool): string {
  return pool.ranges.map((r) => `${formatIp(pool.family, r.start)}-${formatIp(pool.family, r.end)}`).join(', ');
}

/** The assignable stretches of a pool: its ranges minus the reserved intervals, in order. */
export function assignableIntervals(pool: CompiledPool): Array<[bigint, bigint]> {
  const out: Array<[bigint, bigint]> = [];
  for (const r of [...pool.ranges].sort((a, b) => (a.start < b.start ? -1 : 1))) {
    let from = r.start;
    for (const [a, b] of pool.reserved) {
      if (b < from || a > r.end) continue;
      if (a > from) out.push([from, a - 1n]);
      from = b + 1n;
    }
    if (from <= r.end) out.push([from, r.end]);
  }
  return out;
}

/**
 * Human text of what a pool can hand out, for messages that tell the caller what to ask for
 * instead: "10.210.1.2-10.210.1.254", never naming the network address, gateway, broadcast or an
 * excluded address. Long lists are cut after `limit` stretches ("... and 7 more").
 */
export function describeAssignable(pool: CompiledPool, limit = 4): string {
  const parts = assignableIntervals(pool);
  if (parts.length === 0) return 'no assignable address (every address of its ranges is reserved)';
  const text = (a: bigint, b: bigint) => (a === b ? formatIp(pool.family, a) : `${formatIp(pool.family, a)}-${formatIp(pool.family, b)}`);
  const shown = parts.slice(0, limit).map(([a, b]) => text(a, b));
  return parts.length > limit ? `${shown.join(', ')} and ${parts.length - limit} more` : shown.join(', ');
}

/** Same pool definition (canonical specs equal). */
export function sameSpec(a: PoolSpec, b: PoolSpec): boolean {
  return JSON.stringify(canonicalOrder(a)) === JSON.stringify(canonicalOrder(b));
}

function canonicalOrder(s: PoolSpec): unknown {
  return [s.network, s.id, s.ranges.map((r) => [r.subnet, r.rangeStart, r.rangeEnd, r.gateway]), s.node ?? '', s.exclude ?? [], s.cooldownSeconds ?? null];
}
