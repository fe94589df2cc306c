/**
 * @ippc/reliability: ippc's reliability and security suite, and the report of its figures.
 * The suite is the `*.int.ts` files (bad input, faults, churn, security, fuzz) against a real
 * master, agent, IPAM and isolation service in a scratch node; this entry runs it and reports.
 *
 * @example
 * ```ts
 * import { formatReport, runReliabilitySuite } from '@ippc/reliability';
 * const report = await runReliabilitySuite({ only: 'churn', soakCycles: 5000 });
 * console.log(formatReport(report));
 * ```
 */
export { formatReport, runReliabilitySuite, summarize, type ReliabilityReport, type RunOptions, type SuiteFigures, type TestCounts } from './report.js';
export { readFigures, recordFigure, type FigureRecord } from './figures.js';
export * from './probe.js';
