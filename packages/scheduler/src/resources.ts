import { Value_Type, type Resource, type Value_Range } from '@ippc/proto';
import { SchedulerError } from './errors.js';

// Mesos's resource model (src/common/resources.cpp, values.cpp) as plain functions over
// `Resource[]`: text form, arithmetic with ranges for ports, containment, and the JSON
// object the state endpoints show. Scalars keep three decimal digits like Mesos's fixed point.

/** An inclusive range of integers, e.g. ports `[31000-31099]`. */
export interface Range {
  begin: number;
  end: number;
}

const round3 = (v: number): number => Math.round(v * 1000) / 1000;

/** Sorts and merges overlapping or adjacent ranges: `[3-4, 1-2]` -> `[1-4]`. */
export function coalesceRanges(ranges: readonly Range[]): Range[] {
  const sorted = ranges.filter((r) => r.begin <= r.end).map((r) => ({ begin: r.begin, end: r.end })).sort((a, b) => a.begin - b.begin);
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.begin <= last.end + 1) last.end = Math.max(last.end, r.end);
    else out.push(r);
  }
  return out;
}

/** `a + b` (union). */
export function addRanges(a: readonly Range[], b: readonly Range[]): Range[] {
  return coalesceRanges([...a, ...b]);
}

/** `a - b`: what is in `a` and not in `b`. */
export function subtractRanges(a: readonly Range[], b: readonly Range[]): Range[] {
  let left = coalesceRanges(a);
  for (const cut of coalesceRanges(b)) {
    const next: Range[] = [];
    for (const r of left) {
      if (cut.end < r.begin || cut.begin > r.end) {
        next.push(r);
        continue;
      }
      if (cut.begin > r.begin) next.push({ begin: r.begin, end: cut.begin - 1 });
      if (cut.end < r.end) next.push({ begin: cut.end + 1, end: r.end });
    }
    left = next;
  }
  return left;
}

/** True when every value of `inner` is in `outer`. */
export function rangesContain(outer: readonly Range[], inner: readonly Range[]): boolean {
  return subtractRanges(inner, outer).length === 0;
}

/** How many integers the ranges hold. */
export function rangesSize(ranges: readonly Range[]): number {
  return coalesceRanges(ranges).reduce((n, r) => n + (r.end - r.begin + 1), 0);
}

/** The first `count` values of the ranges, in order (e.g. ports to hand out). */
export function takeFromRanges(ranges: readonly Range[], count: number): number[] {
  const out: number[] = [];
  for (const r of coalesceRanges(ranges)) {
    for (let v = r.begin; v <= r.end && out.length < count; v++) out.push(v);
    if (out.length >= count) break;
  }
  return out;
}

/** Single values as ranges: `[31000, 31001, 31005]` -> `[31000-31001, 31005-31005]`. */
export function rangesOfValues(values: readonly number[]): Range[] {
  return coalesceRanges(values.map((v) => ({ begin: v, end: v })));
}

/** Mesos's text form: `[31000-31005, 31010-31010]` (values.cpp). */
export function formatRanges(ranges: readonly Range[]): string {
  return `[${ranges.map((r) => `${r.begin}-${r.end}`).join(', ')}]`;
}

/** Parses `[31000-31005, 31010-31010]` (spaces optional; a bare `N` means `N-N`). */
export function parseRanges(text: string): Range[] {
  const t = text.trim();
  if (!t.startsWith('[') || !t.endsWith(']')) {
    throw new SchedulerError('RESOURCES_INVALID', `Expecting one or more "ranges" in '${text}': write them as [begin-end, ...]`);
  }
  const body = t.slice(1, -1).trim();
  if (body === '') return [];
  return body.split(',').map((part) => {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+))?\s*$/.exec(part);
    if (!m) throw new SchedulerError('RESOURCES_INVALID', `Bad range '${part.trim()}' in '${text}': expected begin-end with integers`);
    const begin = Number(m[1]);
    const end = m[2] === undefined ? begin : Number(m[2]);
    if (end < begin) throw new SchedulerError('RESOURCES_INVALID', `Bad range '${part.trim()}' in '${text}': begin > end`);
    return { begin, end };
  });
}

function toRanges(r: readonly Value_Range[] | undefined): Range[] {
  return (r ?? []).map((x) => ({ begin: Number(x.begin ?? 0), end: Number(x.end ?? 0) }));
}

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
        ranges: sign === 1 ? addRanges(toRanges(a.ranges?.range), toRanges(b.ranges?.range)) : subtractRanges(toRanges(a.ranges?.range), toRanges(b.ranges?.range)),
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
  return round3(resources.filter((r) => r.name === name && (r.type ?? Value_Type.SCALAR) === Value_Type.SCALAR).reduce((s, r) => s + (r.scalar?.value ?? 0), 0));
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

/** A C++ `ostream << double` rendering (6 significant digits, no trailing zeros). */
function formatScalar(v: number): string {
  return String(Number(v.toPrecision(6)));
}

/**
 * Mesos's `stringify(Resources)`: `cpus(allocated: *):0.1; mem(allocated: *):32; ports(allocated: *):[31000-31000]`,
 * `{}` when empty. Used verbatim in Mesos's validation messages.
 */
export function formatResources(resources: readonly Resource[]): string {
  if (resources.length === 0) return '{}';
  return resources
    .map((r) => {
      let s = r.name ?? '';
      if (r.allocationInfo?.role !== undefined) s += `(allocated: ${r.allocationInfo.role})`;
      if ((r.reservations ?? []).length > 0) {
        s += `(reservations: [${(r.reservations ?? []).map((x) => `(${['UNKNOWN', 'STATIC', 'DYNAMIC'][x.type ?? 0]},${x.role ?? ''}${x.principal ? `,${x.principal}` : ''})`).join(',')}])`;
      }
      s += ':';
      switch (r.type ?? Value_Type.SCALAR) {
        case Value_Type.SCALAR:
          return s + formatScalar(r.scalar?.value ?? 0);
        case Value_Type.RANGES:
          return s + formatRanges(toRanges(r.ranges?.range));
        case Value_Type.SET:
          return s + `{${(r.set?.item ?? []).join(', ')}}`;
        default:
          return s;
      }
    })
    .join('; ');
}

/**
 * Parses Mesos's `--resources` text (`cpus:2;mem:1024;ports:[31000-31099];disks:{a,b}`, a role in
 * parentheses: `cpus(web):1`) or its JSON form (an array of Resource objects, snake_case keys).
 * Throws RESOURCES_INVALID with what is wrong.
 */
export function parseResources(text: string): Resource[] {
  const t = text.trim();
  if (t.startsWith('[') && t.endsWith(']') && t.includes('{')) return parseResourcesJson(t);
  const out: Resource[] = [];
  for (const raw of t.split(';')) {
    const item = raw.trim();
    if (item === '') continue;
    const m = /^([A-Za-z0-9_.\-/]+)(?:\(([^)]*)\))?\s*:\s*(.+)$/.exec(item);
    if (!m) throw new SchedulerError('RESOURCES_INVALID', `Bad resource '${item}': expected name:value, e.g. cpus:2 or ports:[31000-31099]`);
    const [, name, role, value] = m as unknown as [string, string, string | undefined, string];
    const v = value.trim();
    let r: Resource;
    if (v.startsWith('[')) r = rangesResource(name, parseRanges(v));
    else if (v.startsWith('{')) {
      if (!v.endsWith('}')) throw new SchedulerError('RESOURCES_INVALID', `Bad set '${v}' for resource '${name}': expected {a,b}`);
      const items = v.slice(1, -1).split(',').map((s) => s.trim()).filter(Boolean);
      r = { name, type: Value_Type.SET, set: { item: items }, reservations: [] };
    } else {
      const n = Number(v);
      if (!Number.isFinite(n) || v === '') throw new SchedulerError('RESOURCES_INVALID', `Bad scalar '${v}' for resource '${name}': expected a number`);
      if (n < 0) throw new SchedulerError('RESOURCES_INVALID', `Invalid scalar resource: value < 0 for '${name}'`);
      r = scalarResource(name, n);
    }
    if (role && role !== '*') r.role = role;
    out.push(r);
  }
  return normalizeResources(out);
}

function parseResourcesJson(text: string): Resource[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new SchedulerError('RESOURCES_INVALID', `Resources JSON does not parse: ${(err as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new SchedulerError('RESOURCES_INVALID', 'Resources JSON must be an array of resources');
  return normalizeResources(
    parsed.map((o: Record<string, unknown>) => {
      const type = String(o.type ?? 'SCALAR');
      const name = String(o.name ?? '');
      if (!name) throw new SchedulerError('RESOURCES_INVALID', 'Empty resource name');
      if (type === 'SCALAR') return scalarResource(name, Number((o.scalar as { value?: number } | undefined)?.value ?? NaN));
      if (type === 'RANGES') {
        const ranges = ((o.ranges as { range?: Range[] } | undefined)?.range ?? []).map((r) => ({ begin: Number(r.begin), end: Number(r.end) }));
        return rangesResource(name, ranges);
      }
      if (type === 'SET') return { name, type: Value_Type.SET, set: { item: ((o.set as { item?: string[] } | undefined)?.item ?? []).map(String) }, reservations: [] };
      throw new SchedulerError('RESOURCES_INVALID', `Unsupported resource type '${type}' for '${name}'`);
    }),
  );
}

/**
 * Mesos's `Resources::validate` for one resource, with Mesos's messages (`Empty resource name`,
 * `Invalid scalar resource: value < 0`, `Invalid ranges resource: begin > end`, ...). Returns the
 * first error or undefined.
 */
export function validateResource(r: Resource): string | undefined {
  if (!r.name) return 'Empty resource name';
  const type = r.type;
  if (type === undefined || !(type in Value_Type) || Value_Type[type] === 'UNRECOGNIZED') return 'Invalid resource type';
  if (type === Value_Type.SCALAR) {
    if (!r.scalar || r.ranges || r.set) return 'Invalid scalar resource';
    if ((r.scalar.value ?? 0) < 0) return 'Invalid scalar resource: value < 0';
  } else if (type === Value_Type.RANGES) {
    if (r.scalar || !r.ranges || r.set) return 'Invalid ranges resource';
    const ranges = toRanges(r.ranges.range);
    for (let i = 0; i < ranges.length; i++) {
      const a = ranges[i]!;
      if (a.begin > a.end) return 'Invalid ranges resource: begin > end';
      for (let j = i + 1; j < ranges.length; j++) {
        const b = ranges[j]!;
        if (a.begin <= b.begin && b.begin <= a.end) return 'Invalid ranges resource: overlapping ranges';
      }
    }
  } else if (type === Value_Type.SET) {
    if (r.scalar || r.ranges || !r.set) return 'Invalid set resource';
    const items = r.set.item ?? [];
    if (new Set(items).size !== items.length) return 'Invalid set resource: duplicated elements';
  } else {
    return 'Unsupported resource type';
  }
  return undefined;
}

/** The first invalid resource's error (Mesos's `Resources::validate(RepeatedPtrField)`). */
export function validateResources(resources: readonly Resource[]): string | undefined {
  for (const r of resources) {
    const err = validateResource(r);
    if (err) return err;
  }
  return undefined;
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
