import { Value_Type, type Resource } from '@ippc/proto';
import { toRanges } from './ranges.js';

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
