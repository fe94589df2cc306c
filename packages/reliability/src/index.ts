/**
 * @ippc/reliability: ippc's reliability and security suite, and the report of its figures.
 * The suite itself is the `*.int.ts` files (bad input, faults, churn, security, fuzz) against a
 * real master, agent, IPAM and isolation service in a scratch node; this entry exports what the
 * report and other suites reuse.
 *
 * @example
 * ```ts
 * import { runReliabilitySuite, formatReport } from '@ippc/reliability';
 * const report = await runReliabilitySuite({ soak: false });
 * console.log(formatReport(report));
 * ```
 */
export * from './figures.js';
export * from './probe.js';
