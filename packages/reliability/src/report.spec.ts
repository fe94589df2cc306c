import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readFigures, recordFigure } from './figures.js';
import { formatReport, summarize } from './report.js';

describe('the report', () => {
  const tests = { tests: 10, pass: 10, fail: 0, skipped: 0, durationMs: 12_345 };

  it('sums figures by suite, keeps recovery times, memory and pools, in the suite order', () => {
    const r = summarize(
      [
        { suite: 'faults', name: 'kill -9 of the master', faults: 1, recoveryMs: 812 },
        { suite: 'bad-input', name: 'launches', cases: 73, leaks: 0, duplicates: 0 },
        { suite: 'faults', name: 'leaks and duplicates over all faults', leaks: 0, duplicates: 0 },
        { suite: 'faults', name: 'kill -9 of the IPAM', faults: 1, recoveryMs: 1500 },
        { suite: 'churn', name: '200 cycles', cycles: 200, pool: { before: 500, after: 500 } },
        { suite: 'churn', name: 'memory of the agent', memory: { process: 'agent', firstMiB: 90, lastMiB: 95, maxMiB: 99, samples: 11 } },
      ],
      tests,
    );
    assert.deepEqual(
      r.suites.map((s) => s.suite),
      ['bad-input', 'faults', 'churn'],
    );
    assert.deepEqual(r.totals, { cases: 73, faults: 2, leaks: 0, duplicates: 0, cycles: 200 });
    assert.deepEqual(r.suites[1]!.recoveries, [
      { name: 'kill -9 of the master', ms: 812 },
      { name: 'kill -9 of the IPAM', ms: 1500 },
    ]);
    assert.equal(r.ok, true);
    const text = formatReport(r);
    assert.match(text, /^totals: 73 cases tried, 2 faults injected, 200 launch\/kill cycles, 0 leaks found, 0 duplicates found$/m);
    assert.match(text, /recovery {2}kill -9 of the master: 812 ms/);
    assert.match(text, /memory {4}agent: 90 → 95 MiB \(max 99, 11 samples\)/);
    assert.match(text, /pool {6}200 cycles: 500 free before, 500 after/);
    assert.match(text, /result: OK/);
  });

  it('is not OK with a leak, a duplicate, a failed test, or no test at all', () => {
    assert.equal(summarize([{ suite: 'churn', name: 'x', leaks: 1 }], tests).ok, false);
    assert.equal(summarize([{ suite: 'churn', name: 'x', duplicates: 2 }], tests).ok, false);
    assert.equal(summarize([], { ...tests, fail: 1 }).ok, false);
    assert.equal(summarize([], { ...tests, tests: 0, pass: 0 }).ok, false);
    assert.match(formatReport(summarize([{ suite: 'churn', name: 'x', leaks: 1 }], tests)), /result: FAILED/);
  });

  it('records figures as JSON lines and reads them back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rl-figures-'));
    try {
      const file = join(dir, 'f.jsonl');
      recordFigure({ suite: 'fuzz', name: 'a', cases: 3 }, file);
      recordFigure({ suite: 'fuzz', name: 'b', cases: 4 }, file);
      assert.deepEqual(
        readFigures(file).map((f) => f.cases),
        [3, 4],
      );
      assert.deepEqual(readFigures(join(dir, 'none')), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
