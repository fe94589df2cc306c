import type { Command } from 'commander';
import type { Cluster } from '@ippc/testbed';
import { realTestbed, stderrProgress, type Progress, type Testbed } from '../../context.js';
import { emit } from '../../output.js';
import { taskViews } from '../../tasks-view.js';
import { clusterUp, readClusterFile } from '../cluster/up.js';
import { netCheck } from '../net.js';
import { resolveNames } from './dns-names.js';
import { launchShowcase } from './launch.js';
import { showcaseReport } from './report.js';
import { showcaseTasksFor } from './tasks.js';

// `ippc showcase`: the tour. A cluster (started, or the running one of that name), then opt-in and
// plain tasks side by side on every agent, in both containerizers and all Docker network modes,
// in isolation groups, two tasks of one custom executor and a pod of two, each pair on one
// address; a table of where everything runs and with which address; the measured
// reachability matrix against the policy, with its picture; and how to tear it all down.

export interface ShowcaseOptions {
  /** A cluster file for a new cluster (as `cluster up -f`). */
  config?: string;
  name?: string;
  agents?: string;
  svg?: string;
  json?: boolean;
}

/** The cluster to show: the running one of that name, else a new one started as `cluster up` does. */
async function showcaseCluster(
  opts: ShowcaseOptions,
  testbed: Testbed,
  progress: Progress,
): Promise<{ cluster: Cluster; name: string; readyAfterMs: number | undefined }> {
  const file = opts.config ? await readClusterFile(opts.config) : undefined;
  const name = opts.name ?? process.env.IPPC_CLUSTER ?? file?.name ?? 'ippc';
  const existing = (await testbed.listClusters()).find((c) => c.name === name);
  let cluster: Cluster;
  let readyAfterMs: number | undefined;
  if (existing) {
    progress(`cluster ${name} is already running: using it (ippc cluster down${name === 'ippc' ? '' : ` --name ${name}`} first for a fresh one)`);
    cluster = await testbed.attachCluster(name);
  } else {
    const up = await clusterUp(
      { name, ...(opts.config ? { config: opts.config } : {}), ...(opts.agents || !file ? { agents: opts.agents ?? '3' } : {}) },
      { testbed, progress },
    );
    cluster = up.cluster;
    readyAfterMs = up.readyAfterMs;
  }
  return { cluster, name, readyAfterMs };
}

/** `ippc showcase` as a function: the cluster, the tasks, their DNS names and the net check; resolves with the report. */
export async function runShowcase(
  opts: ShowcaseOptions,
  deps: { testbed?: Testbed; progress?: Progress } = {},
): Promise<{ ok: boolean; report: Record<string, unknown>; text: string }> {
  const testbed = deps.testbed ?? realTestbed;
  const progress = deps.progress ?? stderrProgress;
  const { cluster, name, readyAfterMs } = await showcaseCluster(opts, testbed, progress);
  const specs = await showcaseTasksFor(cluster);
  const outcomes = await launchShowcase(cluster, specs, progress);

  const views = taskViews(await cluster.masterState()).filter((t) => outcomes.some((o) => o.id === t.id));
  const dns = await resolveNames(
    cluster,
    views
      .filter((v) => v.state === 'TASK_RUNNING')
      .map((v) => ({ id: v.id, name: v.name, framework: v.framework, ...(v.addresses[0] ? { address: v.addresses[0] } : {}) })),
  );

  progress('checking reachability between every pair (net check)');
  const check = await netCheck(cluster, { ...(opts.svg ? { svg: opts.svg } : {}) }, progress);
  return showcaseReport({ cluster, name, readyAfterMs, outcomes, views, dns, check });
}

export function registerShowcase(program: Command, deps: { testbed?: Testbed } = {}): void {
  program
    .command('showcase')
    .description('bring up a cluster and show opt-in and plain tasks side by side, Docker modes, groups, a custom executor, a pod, and the reachability matrix')
    .option('--name <name>', 'cluster name (default: IPPC_CLUSTER, the file’s name, or ippc); a running cluster of that name is reused')
    .option('-f, --config <file>', 'cluster file for a new cluster (as cluster up -f)')
    .option('--agents <n>', 'agents of a new cluster (default: the file’s, or 3)')
    .option('--svg <file>', 'where to write the matrix picture (default $TMPDIR/ippc-net-check-<cluster>.svg)')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nExits 1 when a task did not run or the matrix differs from the policy.\n\nExamples:\n  ippc showcase\n  ippc showcase --name demo --agents 2 --svg /tmp/demo.svg',
    )
    .action(async (opts: ShowcaseOptions) => {
      const { ok, report, text } = await runShowcase(opts, deps);
      emit(opts.json, { ok, ...report }, () => text);
      if (!ok) process.exitCode = 1;
    });
}
