#!/usr/bin/env -S node --import tsx
// ippc-reliability: runs the reliability and security suite and prints its figures.
//
//   ippc-reliability [--json] [--only NAME] [--soak CYCLES]
//
// Needs root (network namespaces, iptables). The tests' own output goes to standard error; the
// report (text, or JSON with --json) to standard output. Exits 1 when a test failed or a leak or a
// duplicate address was found.
import { Command } from 'commander';
import { formatReport, runReliabilitySuite } from '../report.js';

const program = new Command('ippc-reliability')
  .description('Run the reliability and security suite (bad input, faults, churn, security, fuzz) and report its figures')
  .option('--json', 'print the report as JSON')
  .option('--only <name>', 'only the test files whose name contains this (bad-input, faults, churn, security, fuzz)')
  .option('--soak <cycles>', 'launch/kill cycles of the churn suite (default 150; thousands for a soak)')
  .parse();
const o = program.opts<{ json?: boolean; only?: string; soak?: string }>();
const soak = o.soak === undefined ? undefined : Number(o.soak);
if (soak !== undefined && !(Number.isInteger(soak) && soak > 0)) {
  console.error(`ippc-reliability: --soak '${o.soak}' must be a positive number of cycles, e.g. --soak 5000`);
  process.exit(2);
}
const report = await runReliabilitySuite({ ...(o.only ? { only: o.only } : {}), ...(soak ? { soakCycles: soak } : {}) });
console.log(o.json ? JSON.stringify(report, null, 2) : formatReport(report));
process.exit(report.ok ? 0 : 1);
