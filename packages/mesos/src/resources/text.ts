import { Value_Type, type Resource } from '@ippc/proto';
import { MesosError } from '../errors.js';
import { normalizeResources, rangesResource, scalarResource } from './arithmetic.js';
import { formatRanges, parseRanges, toRanges, type Range } from './ranges.js';

// The text forms of resources: Mesos's `stringify(Resources)` (used verbatim in its validation
// messages) and the `--resources` flag syntax, in text or JSON.

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
    if (!m) throw new MesosError('RESOURCES_INVALID', `Bad resource '${item}': expected name:value, e.g. cpus:2 or ports:[31000-31099]`);
    const [, name, role, value] = m as unknown as [string, string, string | undefined, string];
    const v = value.trim();
    let r: Resource;
    if (v.startsWith('[')) r = rangesResource(name, parseRanges(v));
    else if (v.startsWith('{')) {
      if (!v.endsWith('}')) throw new MesosError('RESOURCES_INVALID', `Bad set '${v}' for resource '${name}': expected {a,b}`);
      const items = v
        .slice(1, -1)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      r = { name, type: Value_Type.SET, set: { item: items }, reservations: [] };
    } else {
      const n = Number(v);
      if (!Number.isFinite(n) || v === '') throw new MesosError('RESOURCES_INVALID', `Bad scalar '${v}' for resource '${name}': expected a number`);
      if (n < 0) throw new MesosError('RESOURCES_INVALID', `Invalid scalar resource: value < 0 for '${name}'`);
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
    throw new MesosError('RESOURCES_INVALID', `Resources JSON does not parse: ${(err as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new MesosError('RESOURCES_INVALID', 'Resources JSON must be an array of resources');
  return normalizeResources(
    parsed.map((o: Record<string, unknown>) => {
      const type = String(o.type ?? 'SCALAR');
      const name = String(o.name ?? '');
      if (!name) throw new MesosError('RESOURCES_INVALID', 'Empty resource name');
      if (type === 'SCALAR') return scalarResource(name, Number((o.scalar as { value?: number } | undefined)?.value ?? NaN));
      if (type === 'RANGES') {
        const ranges = ((o.ranges as { range?: Range[] } | undefined)?.range ?? []).map((r) => ({ begin: Number(r.begin), end: Number(r.end) }));
        return rangesResource(name, ranges);
      }
      if (type === 'SET')
        return { name, type: Value_Type.SET, set: { item: ((o.set as { item?: string[] } | undefined)?.item ?? []).map(String) }, reservations: [] };
      throw new MesosError('RESOURCES_INVALID', `Unsupported resource type '${type}' for '${name}'`);
    }),
  );
}
