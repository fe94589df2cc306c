#!/usr/bin/env node
// Prints the totals that tools/run-tests.mjs recorded, per project and tier, and fails when a tier
// that was asked for ran no test (a silent "0 tests, exit 0" must never pass CI).
import { readFileSync } from 'node:fs';

const [file, only = 'all'] = process.argv.slice(2);
const rows = readFileSync(file, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l));
const pad = (s, n) => String(s).padEnd(n);
console.log(`\n${pad('project', 22)}${pad('tier', 13)}${pad('files', 7)}${pad('tests', 7)}${pad('pass', 7)}${pad('fail', 6)}time`);
for (const r of rows) {
  console.log(
    `${pad(r.project, 22)}${pad(r.tier, 13)}${pad(r.files, 7)}${pad(r.tests, 7)}${pad(r.pass, 7)}${pad(r.fail + r.cancelled, 6)}${(r.durationMs / 1000).toFixed(1)} s`,
  );
}
const wanted = only === 'all' ? ['unit', 'integration', 'e2e'] : only === 'static' ? [] : [only];
let bad = false;
for (const tier of wanted) {
  const tests = rows.filter((r) => r.tier === tier).reduce((n, r) => n + r.tests, 0);
  if (tests === 0) {
    console.error(`no ${tier} test ran`);
    bad = true;
  }
}
const total = rows.reduce((n, r) => n + r.tests, 0);
const fails = rows.reduce((n, r) => n + r.fail + r.cancelled, 0);
const failures = rows.flatMap((r) => (r.failures ?? []).map((f) => ({ ...f, project: r.project, tier: r.tier })));
if (failures.length > 0) {
  console.log('\nfailed tests:');
  // Enough to see what broke; a failed hook can fail dozens of tests the same way.
  for (const f of failures.slice(0, 40)) {
    console.log(`- ${f.project} ${f.tier}: ${f.name}${f.location ? `  (${f.location.replace(/^.*\/packages\//, 'packages/')})` : ''}`);
    for (const line of f.error.split('\n')) console.log(`    ${line}`);
  }
  if (failures.length > 40) console.log(`... and ${failures.length - 40} more`);
}
console.log(`total: ${total} tests, ${fails} failed`);
process.exit(bad || fails > 0 ? 1 : 0);
