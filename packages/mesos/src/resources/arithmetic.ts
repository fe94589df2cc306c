import { Value_Type, type Resource } from '@ippc/proto';
import { addRanges, coalesceRanges, formatRanges, rangesContain, rangesOfValues, subtractRanges, takeFromRanges, toRanges, type Range } from './ranges.js';

// Mesos's resource model (src/common/resources.cpp) as plain functions over `Resource[]`:
// arithmetic with ranges for ports, containment, allocation, and the JSON object the state
// endpoints show. Scalars keep three decimal digits like Mesos's fixed point.

/** Rounds to Mesos's fixed point (three decimal digits). */
export const round3 = (v: number): number => Math.round(v * 1000) / 1000;

/** The role a resource is allocated to, if any (`allocation_info.role`). */
function allocationRole(r: Resource): string | undefined {
  return r.allocationInfo?.role;
}

/** Resources with the same key combine by addition (Mesos: same name, type, role, reservations). */
function keyOf(r: Resource): string {
  const reservations = (r.reservations ?? []).map((x) => `${x.type ?? ''}/${x.role ?? ''}/${x.principal ?? ''}`).join(',');
  return [r.name, r.type ?? Value_Type.SCALAR, r.role ?? '*', allocationRole(r) ?? '', reservations].join('|');
}

function isEmptyResource(r: Resource): boolean {
  switch (r.type ?? Value_Type.SCALAR) {
    case Value_Type.SCALAR:
      return round3(r.scalar?.value ?? 0) <= 0;
    case Value_Type.RANGES:
      return coalesceRanges(toRanges(r.ranges?.range)).length === 0;
    case Value_Type.SET:
      return (r.set?.item ?? []).length === 0;
    default:
      return false;
  }
}

function withValue(template: Resource, value: { scalar?: number; ranges?: Range[]; set?: string[] }): Resource {
  const out: Resource = { ...template, scalar: undefined, ranges: undefined, set: undefined, reservations: [...(template.reservations ?? [])] };
  if (value.scalar !== undefined) out.scalar = { value: round3(value.scalar) };
  if (value.ranges !== undefined) out.ranges = { range: value.ranges.map((r) => ({ begin: r.begin, end: r.end })) };
  if (value.set !== undefined) out.set = { item: value.set };
  return out;
}

/** The same resource with nothing in it, to add to. */
function zeroOf(r: Resource): Resource {
  switch (r.type ?? Value_Type.SCALAR) {
    case Value_Type.RANGES:
      return withValue(r, { ranges: [] });
    case Value_Type.SET:
      return withValue(r, { set: [] });
    default:
      return withValue(r, { scalar: 0 });
  }
}

function combine(a: Resource, b: Resource, sign: 1 | -1): Resource {
  switch (a.type ?? Value_Type.SCALAR) {
    case Value_Type.SCALAR:
      return withValue(a, { scalar: (a.scalar?.value ?? 0) + sign * (b.scalar?.value ?? 0) });
    case Value_Type.RANGES:
      return withValue(a, {
        ranges:
          sign === 1 ? addRanges(toRanges(a.ranges?.range), toRanges(b.ranges?.range)) : subtractRanges(toRanges(a.ranges?.range), toRanges(b.ranges?.range)),
      });
    case Value_Type.SET: {
      const bs = new Set(b.set?.item ?? []);
      const items = sign === 1 ? [...new Set([...(a.set?.item ?? []), ...bs])] : (a.set?.item ?? []).filter((i) => !bs.has(i));
      return withValue(a, { set: items });
    }
    default:
      return a;
  }
}

/** Merges entries with the same key and drops empty ones (Mesos keeps `Resources` this way). */
export function normalizeResources(resources: readonly Resource[]): Resource[] {
  const byKey = new Map<string, Resource>();
  for (const r of resources) {
    const k = keyOf(r);
    const prev = byKey.get(k);
    byKey.set(k, combine(prev ?? zeroOf(r), r, 1));
  }
  return [...byKey.values()].filter((r) => !isEmptyResource(r));
}

/** `a + b`. */
export function addResources(a: readonly Resource[], b: readonly Resource[]): Resource[] {
  return normalizeResources([...a, ...b]);
}

/** `a - b` (what `b` does not have of `a` is kept; scalars never go below zero). */
export function subtractResources(a: readonly Resource[], b: readonly Resource[]): Resource[] {
  const left = new Map(normalizeResources(a).map((r) => [keyOf(r), r]));
  for (const r of normalizeResources(b)) {
    const k = keyOf(r);
    const have = left.get(k);
    if (!have) continue;
    const next = combine(have, r, -1);
    if ((next.type ?? Value_Type.SCALAR) === Value_Type.SCALAR && (next.scalar?.value ?? 0) < 0) next.scalar = { value: 0 };
    left.set(k, next);
  }
  return [...left.values()].filter((r) => !isEmptyResource(r));
}

/** True when `outer` holds everything in `inner` (Mesos's `Resources::contains`). */
export function containsResources(outer: readonly Resource[], inner: readonly Resource[]): boolean {
  const have = new Map(normalizeResources(outer).map((r) => [keyOf(r), r]));
  for (const r of normalizeResources(inner)) {
    const h = have.get(keyOf(r));
    if (!h) return false;
    switch (r.type ?? Value_Type.SCALAR) {
      case Value_Type.SCALAR:
        if (round3(h.scalar?.value ?? 0) < round3(r.scalar?.value ?? 0)) return false;
        break;
      case Value_Type.RANGES:
        if (!rangesContain(toRanges(h.ranges?.range), toRanges(r.ranges?.range))) return false;
        break;
      case Value_Type.SET: {
        const hs = new Set(h.set?.item ?? []);
        if (!(r.set?.item ?? []).every((i) => hs.has(i))) return false;
        break;
      }
    }
  }
  return true;
}

/** Total of a scalar resource (e.g. `cpus`), 0 if absent. */
export function scalarOf(resources: readonly Resource[], name: string): number {
  return round3(
    resources.filter((r) => r.name === name && (r.type ?? Value_Type.SCALAR) === Value_Type.SCALAR).reduce((s, r) => s + (r.scalar?.value ?? 0), 0),
  );
}

/** All ranges of a ranges resource (e.g. `ports`), coalesced. */
export function rangesOf(resources: readonly Resource[], name: string): Range[] {
  return coalesceRanges(resources.filter((r) => r.name === name && r.type === Value_Type.RANGES).flatMap((r) => toRanges(r.ranges?.range)));
}

/** A copy with `allocation_info.role` set on every resource (Mesos's `allocate(role)`). */
export function allocateResources(resources: readonly Resource[], role: string): Resource[] {
  return resources.map((r) => ({ ...r, allocationInfo: { role } }));
}

/** A copy without allocation info (Mesos's `unallocate()`). */
export function unallocateResources(resources: readonly Resource[]): Resource[] {
  return resources.map((r) => ({ ...r, allocationInfo: undefined }));
}

/** A scalar resource. */
export function scalarResource(name: string, value: number, role?: string): Resource {
  return { name, type: Value_Type.SCALAR, scalar: { value: round3(value) }, ...(role ? { allocationInfo: { role } } : {}), reservations: [] };
}

/** A ranges resource. */
export function rangesResource(name: string, ranges: readonly Range[], role?: string): Resource {
  return { name, type: Value_Type.RANGES, ranges: { range: coalesceRanges(ranges) }, ...(role ? { allocationInfo: { role } } : {}), reservations: [] };
}

/**
 * The `resources` object of the state endpoints (Mesos `model(Resources)`): `cpus`, `disk`,
 * `gpus`, `mem` always present as numbers, other scalars as numbers, ranges as text
 * (`"ports": "[31000-31000]"`), sets as `{a, b}` text.
 */
export function resourcesJson(resources: readonly Resource[]): Record<string, number | string> {
  const out: Record<string, number | string> = { cpus: 0, disk: 0, gpus: 0, mem: 0 };
  const norm = normalizeResources(unallocateResources(resources).map((r) => ({ ...r, reservations: [], role: undefined })));
  for (const r of norm) {
    const name = r.name ?? '';
    switch (r.type ?? Value_Type.SCALAR) {
      case Value_Type.SCALAR:
        out[name] = round3(((out[name] as number | undefined) ?? 0) + (r.scalar?.value ?? 0));
        break;
      case Value_Type.RANGES:
        out[name] = formatRanges(toRanges(r.ranges?.range));
        break;
      case Value_Type.SET:
        out[name] = `{${(r.set?.item ?? []).join(', ')}}`;
        break;
    }
  }
  return out;
}

/** What a task asks of an offer; see {@link pickResources}. */
export interface ResourceRequest {
  cpus?: number;
  mem?: number;
  disk?: number;
  /** How many ports (lowest first), or exactly which ones. */
  ports?: number | readonly number[];
}

/**
 * Takes `request` out of `available` (an offer's resources, or what is left of them), keeping the
 * offered resources' role and allocation so the master finds them in the offer. Returns undefined
 * when `available` cannot hold the request.
 */
export function pickResources(available: readonly Resource[], request: ResourceRequest): Resource[] | undefined {
  const out: Resource[] = [];
  const template = (name: string): Resource | undefined => available.find((r) => r.name === name);
  for (const name of ['cpus', 'mem', 'disk'] as const) {
    const want = request[name];
    if (!want) continue;
    const t = template(name);
    if (!t || scalarOf(available, name) < round3(want)) return undefined;
    out.push({ ...withValue(t, { scalar: want }) });
  }
  if (request.ports !== undefined && (typeof request.ports !== 'number' || request.ports > 0)) {
    const t = template('ports');
    if (!t) return undefined;
    const free = rangesOf(available, 'ports');
    const ports = typeof request.ports === 'number' ? takeFromRanges(free, request.ports) : [...request.ports];
    const wanted = rangesOfValues(ports);
    if (typeof request.ports === 'number' && ports.length < request.ports) return undefined;
    if (!rangesContain(free, wanted)) return undefined;
    // Keep the order the caller asked for: PORT0 is the first port given.
    out.push({ ...withValue(t, { ranges: [] }), ranges: { range: ports.map((p) => ({ begin: p, end: p })) } });
  }
  return out;
}
