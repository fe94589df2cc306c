import { type Value_Range } from '@ippc/proto';
import { MesosError } from '../errors.js';

// Mesos's value ranges (src/common/values.cpp): inclusive integer ranges such as ports
// `[31000-31099]`, their arithmetic and their text form.

/** An inclusive range of integers, e.g. ports `[31000-31099]`. */
export interface Range {
  begin: number;
  end: number;
}

/** Sorts and merges overlapping or adjacent ranges: `[3-4, 1-2]` -> `[1-4]`. */
export function coalesceRanges(ranges: readonly Range[]): Range[] {
  const sorted = ranges
    .filter((r) => r.begin <= r.end)
    .map((r) => ({ begin: r.begin, end: r.end }))
    .sort((a, b) => a.begin - b.begin);
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
    throw new MesosError('RESOURCES_INVALID', `Expecting one or more "ranges" in '${text}': write them as [begin-end, ...]`);
  }
  const body = t.slice(1, -1).trim();
  if (body === '') return [];
  return body.split(',').map((part) => {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+))?\s*$/.exec(part);
    if (!m) throw new MesosError('RESOURCES_INVALID', `Bad range '${part.trim()}' in '${text}': expected begin-end with integers`);
    const begin = Number(m[1]);
    const end = m[2] === undefined ? begin : Number(m[2]);
    if (end < begin) throw new MesosError('RESOURCES_INVALID', `Bad range '${part.trim()}' in '${text}': begin > end`);
    return { begin, end };
  });
}

/** Ranges of a protobuf `Value.Ranges` as numbers. */
export function toRanges(r: readonly Value_Range[] | undefined): Range[] {
  return (r ?? []).map((x) => ({ begin: Number(x.begin ?? 0), end: Number(x.end ?? 0) }));
}
