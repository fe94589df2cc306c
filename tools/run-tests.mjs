#!/usr/bin/env node
// Runs one tier of tests of one project with node's built-in runner (through tsx) and fails when
// no test ran. Node 20 neither expands globs nor fails on "no files", so we find the files here.
//
//   node tools/run-tests.mjs <dir> [--tier unit|integration|e2e] [--concurrency N] [--timeout MS]
//
// unit        = *.spec.ts  (fast, no root, no Docker; fakes at a seam are fine)
// integration = *.int.ts   (real plugins, namespaces, daemons; needs the bootstrapped host)
// e2e         = *.e2e.ts   (a real cluster)
//
// Each run appends one JSON line {project, tier, tests, pass, fail, skipped, durationMs, failures} to
// the file named by IPPC_TEST_SUMMARY (if set) so the top-level test script can print totals and,
// last of all, which tests failed and why (CI keeps only the tail of a long log).
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    tier: { type: 'string', default: 'unit' },
    concurrency: { type: 'string' },
    timeout: { type: 'string' },
    only: { type: 'string' },
  },
});
const suffix = { unit: '.spec.ts', integration: '.int.ts', e2e: '.e2e.ts' }[values.tier];
if (!suffix) {
  console.error(`run-tests: unknown tier '${values.tier}' (expected unit, integration or e2e)`);
  process.exit(2);
}
const root = resolve(positionals[0] ?? 'src');
const project = basename(process.cwd());

function find(dir) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === 'gen' || entry === 'dist') continue;
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (entry.endsWith(suffix)) out.push(p);
  }
  return out.sort();
}

let files = find(root);
if (values.only) files = files.filter((f) => f.includes(values.only));
if (files.length === 0) {
  console.error(`run-tests: no ${suffix} files under ${relative(process.cwd(), root) || '.'} in ${project}`);
  process.exit(1);
}

const scratch = mkdtempSync(join(tmpdir(), 'ippc-tests-'));
const tap = join(scratch, 'out.tap');
const args = [
  '--import',
  'tsx',
  '--test',
  '--test-reporter=spec',
  '--test-reporter-destination=stdout',
  '--test-reporter=tap',
  `--test-reporter-destination=${tap}`,
];
const concurrency = values.concurrency ?? (values.tier === 'unit' ? undefined : '1');
if (concurrency) args.push(`--test-concurrency=${concurrency}`);
if (values.timeout) args.push(`--test-timeout=${values.timeout}`);
args.push(...files);

const started = Date.now();
const child = spawn(process.execPath, args, { stdio: 'inherit' });
const code = await new Promise((done) => child.on('exit', (c, signal) => done(c ?? (signal ? 1 : 0))));

// The TAP reporter ends with "# tests N", "# pass N", "# fail N", ... lines.
const text = readFileSync(tap, 'utf8');
const count = (key) => Number((text.match(new RegExp(`^# ${key} (\\d+)$`, 'm')) ?? [])[1] ?? 0);
const summary = {
  failures: failuresOf(text),
  project,
  tier: values.tier,
  files: files.length,
  tests: count('tests'),
  pass: count('pass'),
  fail: count('fail'),
  cancelled: count('cancelled'),
  skipped: count('skipped'),
  todo: count('todo'),
  durationMs: Date.now() - started,
};
rmSync(scratch, { recursive: true, force: true });
// Move `failures` last so the JSON line reads like the table.
const { failures, ...counts } = summary;
Object.assign(summary, counts, { failures });
if (process.env.IPPC_TEST_SUMMARY) appendFileSync(process.env.IPPC_TEST_SUMMARY, JSON.stringify(summary) + '\n');

if (summary.tests === 0) {
  console.error(`run-tests: ${project} ${values.tier}: no test ran`);
  process.exit(1);
}
if (code !== 0 || summary.fail > 0 || summary.cancelled > 0) {
  console.error(`run-tests: ${project} ${values.tier}: ${summary.fail} failed, ${summary.cancelled} cancelled of ${summary.tests}`);
  process.exit(code || 1);
}
console.log(
  `run-tests: ${project} ${values.tier}: ${summary.pass}/${summary.tests} passed (${summary.skipped} skipped) in ${(summary.durationMs / 1000).toFixed(1)} s`,
);

/**
 * The leaf tests that failed, from the TAP text: "not ok N - name" followed by a YAML block. Suites
 * whose only failure is a failed subtest (failureType 'subtestsFailed') are skipped; the subtest
 * itself is listed with its suite path, location and the first lines of its error.
 */
function failuresOf(tapText) {
  const lines = tapText.split('\n');
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^( *)not ok \d+ - (.*)$/.exec(lines[i]);
    if (!m) continue;
    const indent = m[1].length;
    const yaml = [];
    let j = i + 1;
    if (lines[j]?.trim() === '---') {
      for (j++; j < lines.length && lines[j].trim() !== '...'; j++) yaml.push(lines[j].slice(indent + 2));
    }
    const field = (key) => {
      const k = yaml.findIndex((l) => l.startsWith(`${key}: `));
      if (k < 0) return undefined;
      const v = yaml[k].slice(key.length + 2);
      if (v !== '|-' && v !== '|') return v.replace(/^'(.*)'$/, '$1').replace(/''/g, "'");
      const block = [];
      for (let b = k + 1; b < yaml.length && yaml[b].startsWith('  '); b++) block.push(yaml[b].slice(2));
      return block.join('\n');
    };
    if (field('failureType') === 'subtestsFailed') continue;
    // The suite path: the nearest less-indented "ok/not ok" lines that follow (TAP prints a
    // suite's line after its subtests).
    const path = [m[2]];
    let want = indent;
    for (let k = j; k < lines.length && want > 0; k++) {
      const p = /^( *)(?:not )?ok \d+ - (.*)$/.exec(lines[k]);
      if (p && p[1].length < want) {
        path.unshift(p[2]);
        want = p[1].length;
      }
    }
    out.push({
      name: path.join(' > '),
      location: field('location'),
      error: (field('error') ?? '').split('\n').slice(0, 6).join('\n').slice(0, 800),
    });
  }
  return out;
}
