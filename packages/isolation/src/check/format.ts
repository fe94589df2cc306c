import type { CheckReport } from './check.js';

// Output of `net check`: three text tables (expected, observed, difference) and JSON; the SVG
// picture of the matrix beside the topology is in svg.ts.

const MARK = { allowed: '.', blocked: 'X', self: '-', unknown: '?', mismatch: '!' } as const;

function cell(v: boolean | null, self: boolean): string {
  if (self) return MARK.self;
  if (v === null) return MARK.unknown;
  return v ? MARK.allowed : MARK.blocked;
}

function matrix(report: CheckReport, title: string, value: (i: number, j: number) => string): string {
  const n = report.endpoints.length;
  const w = String(n).length;
  const labelWidth = Math.max(...report.endpoints.map((e, i) => `${String(i + 1).padStart(w)} ${e.id}`.length));
  const lines = [title, `${' '.repeat(labelWidth)}  ${report.endpoints.map((_, j) => String(j + 1).padStart(w)).join(' ')}`];
  report.endpoints.forEach((e, i) => {
    lines.push(`${`${String(i + 1).padStart(w)} ${e.id}`.padEnd(labelWidth)}  ${report.endpoints.map((_, j) => value(i, j).padStart(w)).join(' ')}`);
  });
  return lines.join('\n');
}

/** Expected, observed and difference tables, the mismatches with their reasons, and the verdict. */
export function formatCheckText(report: CheckReport): string {
  const out: string[] = [];
  out.push(`reachability over ${report.protocol}, ${report.endpoints.length} endpoints, rows = from, columns = to`);
  out.push(
    `legend: ${MARK.allowed} allowed  ${MARK.blocked} blocked  ${MARK.self} self  ${MARK.unknown} unknown (row control failed)  ${MARK.mismatch} differs from the policy`,
  );
  out.push('');
  out.push(matrix(report, 'expected (from the policy)', (i, j) => cell(report.expected[i]![j]!, i === j)));
  out.push('');
  out.push(matrix(report, 'observed (probed)', (i, j) => cell(report.observed[i]![j]!, i === j)));
  out.push('');
  const wrong = new Set(report.mismatches.map((m) => `${m.from}\u0000${m.to}`));
  out.push(
    matrix(report, 'difference (. agrees)', (i, j) => {
      if (i === j) return MARK.self;
      if (report.rows[i]!.status === 'unknown') return MARK.unknown;
      return wrong.has(`${report.endpoints[i]!.id}\u0000${report.endpoints[j]!.id}`) ? MARK.mismatch : '.';
    }),
  );
  const unknown = report.rows.filter((r) => r.status === 'unknown');
  if (unknown.length > 0) {
    out.push('');
    out.push('rows whose positive control failed (their blocked cells prove nothing):');
    for (const r of unknown) out.push(`  ${r.id}: could not reach ${r.control} (${detailOf(report, r.id, r.control!)})`);
  }
  if (report.mismatches.length > 0) {
    out.push('');
    out.push('mismatches:');
    for (const m of report.mismatches) {
      out.push(
        `  ${m.from} -> ${m.to}: expected ${m.expected ? 'allowed' : 'blocked'} (${m.reason}), observed ${m.observed ? 'allowed' : 'blocked'} (${m.detail})`,
      );
    }
  }
  out.push('');
  const c = report.counts;
  out.push(
    `result: ${report.status.toUpperCase()} — ${c.cells} pairs, ${c.mismatches} mismatches, ${c.unknownRows} unknown rows, ${c.probes} probes (${c.retried} retried), ${(report.durationMs / 1000).toFixed(1)} s`,
  );
  return out.join('\n');
}

function detailOf(report: CheckReport, from: string, to: string): string {
  const i = report.endpoints.findIndex((e) => e.id === from);
  const j = report.endpoints.findIndex((e) => e.id === to);
  return report.details[i]?.[j] || 'no answer';
}

/** A plain object for `--json`: the matrices keyed by endpoint id. */
export function checkReportJson(report: CheckReport): Record<string, unknown> {
  const byId = (m: (boolean | null)[][]) =>
    Object.fromEntries(report.endpoints.map((e, i) => [e.id, Object.fromEntries(report.endpoints.map((t, j) => [t.id, m[i]![j]!]))]));
  return {
    status: report.status,
    port: report.port,
    protocol: report.protocol,
    endpoints: report.endpoints,
    expected: byId(report.expected),
    observed: byId(report.observed),
    mismatches: report.mismatches,
    rows: report.rows,
    counts: report.counts,
    durationMs: Math.round(report.durationMs),
  };
}
