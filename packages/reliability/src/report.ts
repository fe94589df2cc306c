import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFigures, type FigureRecord } from './figures.js';

// The report: runs the suite (each test file in its own process through the repository's test
// runner), collects the figures the tests recorded and the runner's counts, and sums them up.

export interface SuiteFigures {
  suite: string;
  cases: number;
  faults: number;
  leaks: number;
  duplicates: number;
  cycles: number;
  /** Per fault (or other record) that measured one: what and how long. */
  recoveries: Array<{ name: string; ms: number }>;
  memory: NonNullable<FigureRecord['memory']>[];
  pools: Array<{ name: string; before: number; after: number }>;
  notes: string[];
}

export interface TestCounts {
  tests: number;
  pass: number;
  fail: number;
  skipped: number;
  durationMs: number;
}

export interface ReliabilityReport {
  suites: SuiteFigures[];
  totals: { cases: number; faults: number; leaks: number; duplicates: number; cycles: number };
  tests: TestCounts;
  /** True when every test passed and no leak or duplicate was found. */
  ok: boolean;
}

const SUITE_ORDER = ['bad-input', 'executors', 'faults', 'churn', 'security', 'fuzz'];

/** Sums the records by suite. Pure: the unit spec feeds it records. */
export function summarize(records: FigureRecord[], tests: TestCounts): ReliabilityReport {
  const bySuite = new Map<string, SuiteFigures>();
  for (const r of records) {
    let s = bySuite.get(r.suite);
    if (!s) {
      s = { suite: r.suite, cases: 0, faults: 0, leaks: 0, duplicates: 0, cycles: 0, recoveries: [], memory: [], pools: [], notes: [] };
      bySuite.set(r.suite, s);
    }
    s.cases += r.cases ?? 0;
    s.faults += r.faults ?? 0;
    s.leaks += r.leaks ?? 0;
    s.duplicates += r.duplicates ?? 0;
    s.cycles += r.cycles ?? 0;
    if (r.recoveryMs !== undefined) s.recoveries.push({ name: r.name, ms: r.recoveryMs });
    if (r.memory) s.memory.push(r.memory);
    if (r.pool) s.pools.push({ name: r.name, ...r.pool });
    if (r.note) s.notes.push(`${r.name}: ${r.note}`);
  }
  const suites = [...bySuite.values()].sort((a, b) => rank(a.suite) - rank(b.suite));
  const totals = suites.reduce(
    (t, s) => ({
      cases: t.cases + s.cases,
      faults: t.faults + s.faults,
      leaks: t.leaks + s.leaks,
      duplicates: t.duplicates + s.duplicates,
      cycles: t.cycles + s.cycles,
    }),
    { cases: 0, faults: 0, leaks: 0, duplicates: 0, cycles: 0 },
  );
  return { suites, totals, tests, ok: tests.fail === 0 && tests.tests > 0 && totals.leaks === 0 && totals.duplicates === 0 };
}

function rank(suite: string): number {
  const i = SUITE_ORDER.indexOf(suite);
  return i < 0 ? SUITE_ORDER.length : i;
}

/** The report as text, one figure a line. */
export function formatReport(r: ReliabilityReport): string {
  const lines: string[] = [];
  lines.push('ippc reliability report');
  lines.push(`tests: ${r.tests.pass}/${r.tests.tests} passed, ${r.tests.fail} failed, ${r.tests.skipped} skipped, ${(r.tests.durationMs / 1000).toFixed(1)} s`);
  lines.push(
    `totals: ${r.totals.cases} cases tried, ${r.totals.faults} faults injected, ${r.totals.cycles} launch/kill cycles, ${r.totals.leaks} leaks found, ${r.totals.duplicates} duplicates found`,
  );
  for (const s of r.suites) {
    lines.push('');
    lines.push(`[${s.suite}] cases ${s.cases}, faults ${s.faults}, cycles ${s.cycles}, leaks ${s.leaks}, duplicates ${s.duplicates}`);
    for (const x of s.recoveries) lines.push(`  recovery  ${x.name}: ${x.ms} ms`);
    for (const m of s.memory) lines.push(`  memory    ${m.process}: ${m.firstMiB} → ${m.lastMiB} MiB (max ${m.maxMiB}, ${m.samples} samples)`);
    for (const p of s.pools) lines.push(`  pool      ${p.name}: ${p.before} free before, ${p.after} after`);
    for (const n of s.notes) lines.push(`  note      ${n}`);
  }
  lines.push('');
  lines.push(r.ok ? 'result: OK (no test failed, nothing leaked, no address held twice)' : 'result: FAILED');
  return lines.join('\n');
}

export interface RunOptions {
  /** Only the test files whose name contains this (e.g. `churn`). */
  only?: string;
  /** Churn cycles (IPPC_SOAK_CYCLES); default the CI's 150. */
  soakCycles?: number;
  /** Where the test output goes. Default: standard error (standard output is the report's). */
  output?: NodeJS.WritableStream;
}

/** Runs the integration suite and returns the report. Needs root (namespaces, iptables). */
export async function runReliabilitySuite(options: RunOptions = {}): Promise<ReliabilityReport> {
  const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
  const scratch = mkdtempSync(join(tmpdir(), 'rl-report-'));
  const figures = join(scratch, 'figures.jsonl');
  const summary = join(scratch, 'summary.jsonl');
  try {
    const args = [
      join(pkg, '..', '..', 'tools', 'run-tests.mjs'),
      'src',
      '--tier',
      'integration',
      '--timeout',
      '600000',
      ...(options.only ? ['--only', options.only] : []),
    ];
    const child = spawn(process.execPath, args, {
      cwd: pkg,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        IPPC_RELIABILITY_FIGURES: figures,
        IPPC_TEST_SUMMARY: summary,
        ...(options.soakCycles ? { IPPC_SOAK_CYCLES: String(options.soakCycles) } : {}),
      },
    });
    const out = options.output ?? process.stderr;
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    await new Promise((resolve) => child.on('close', resolve));
    let tests: TestCounts = { tests: 0, pass: 0, fail: 0, skipped: 0, durationMs: 0 };
    try {
      const line = readFileSync(summary, 'utf8').trim().split('\n').at(-1)!;
      const s = JSON.parse(line) as TestCounts & { cancelled?: number };
      tests = { tests: s.tests, pass: s.pass, fail: s.fail + (s.cancelled ?? 0), skipped: s.skipped, durationMs: s.durationMs };
    } catch {
      tests.fail = 1;
    }
    return summarize(readFigures(figures), tests);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
