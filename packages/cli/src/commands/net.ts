import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { renderTable } from '@ippc/core';
import { checkReportJson, formatCheckText, renderCheckSvg } from '@ippc/isolation';
import type { Cluster } from '@ippc/testbed';
import { clusterName, realTestbed, stderrProgress, type Progress, type Testbed } from '../context.js';
import { CliError } from '../errors.js';
import { checkCluster, type NetCheckRun } from '../net-check.js';

export interface NetCheckFlags {
  port?: string;
  timeoutMs?: string;
  concurrency?: string;
  svg?: string;
  json?: boolean;
}

function int(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new CliError('CLI_USAGE', `${flag} '${text}' must be a whole number, 1 or more`);
  return n;
}

/** Runs the check and writes the picture; the showcase calls it too. */
export async function netCheck(cluster: Cluster, flags: NetCheckFlags, progress: Progress = stderrProgress): Promise<NetCheckRun & { svgPath: string }> {
  const port = int('--port', flags.port);
  const timeoutMs = int('--timeout-ms', flags.timeoutMs);
  const concurrency = int('--concurrency', flags.concurrency);
  let lastShown = 0;
  const run = await checkCluster(cluster, {
    ...(port ? { port } : {}),
    ...(timeoutMs ? { timeoutMs } : {}),
    ...(concurrency ? { concurrency } : {}),
    onProbe: (done, total) => {
      // A line per quarter, not per probe.
      if (done === total || done - lastShown >= Math.max(4, Math.ceil(total / 4))) {
        lastShown = done;
        progress(`  probed ${done}/${total} pairs`);
      }
    },
  });
  const svgPath = flags.svg ? resolve(flags.svg) : join(tmpdir(), `ippc-net-check-${cluster.name}.svg`);
  await writeFile(svgPath, renderCheckSvg(run.report, run.topology));
  return { ...run, svgPath };
}

/** The endpoints table: what each row/column of the matrix is. */
export function endpointRows(run: NetCheckRun): string[][] {
  return [
    ['#', 'ENDPOINT', 'KIND', 'AGENT', 'ADDRESS', 'PORT', 'GROUPS'],
    ...run.endpoints.map((e, i) => [String(i + 1), e.id, e.kind, e.agentId, e.address, String(e.port ?? run.report.port), e.groups.join(',') || '-']),
  ];
}

export function netCheckText(run: NetCheckRun & { svgPath: string }): string {
  const out = [renderTable(endpointRows(run)), '', formatCheckText(run.report)];
  if (run.skipped.length > 0) out.push('', 'not probed:', ...run.skipped.map((s) => `  ${s.name} (${s.id}): ${s.reason}`));
  out.push('', `picture (matrix and topology): ${run.svgPath}`);
  return out.join('\n');
}

export function registerNet(program: Command, deps: { testbed?: Testbed } = {}): void {
  const testbed = deps.testbed ?? realTestbed;
  const net = program.command('net').description('the network: reachability between tasks, agents and groups');
  net
    .command('check')
    .description('probe every pair of running opt-in containers, host-network tasks and agents; compare with the isolation policy')
    .option('--port <port>', 'port probed in each endpoint (host-network tasks get the following ones)', '8080')
    .option('--timeout-ms <ms>', 'per probe', '1000')
    .option('--concurrency <n>', 'probes in flight', '16')
    .option('--svg <file>', 'where to write the picture (default $TMPDIR/ippc-net-check-<cluster>.svg)')
    .option('--cluster <name>', 'cluster name (default: IPPC_CLUSTER or ippc)')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nExits 1 when the observed matrix differs from the policy (or a row could not be checked).\n\nExamples:\n  ippc net check\n  ippc net check --json --svg /tmp/matrix.svg',
    )
    .action(async (opts: NetCheckFlags & { cluster?: string }) => {
      const cluster = await testbed.attachCluster(clusterName(opts.cluster));
      const run = await netCheck(cluster, opts);
      if (opts.json) {
        console.log(
          JSON.stringify({ ...checkReportJson(run.report), skipped: run.skipped, rules: run.rules, topology: run.topology, svg: run.svgPath }, null, 2),
        );
      } else {
        console.log(netCheckText(run));
      }
      if (run.report.status !== 'pass') process.exitCode = 1;
    });
}
