import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { renderTable } from '@ippc/core';
import { parseDuration } from '@ippc/mesos';
import { parseConfigFile, type Cluster, type ClusterConfig, type StartPhase } from '@ippc/testbed';
import { realTestbed, stderrProgress, type Progress, type Testbed } from '../../context.js';
import { CliError } from '../../errors.js';
import { emit } from '../../output.js';
import { nodeRows, summary } from './view.js';

const PHASES: Record<StartPhase, string> = {
  prepare: 'prepare (node image, Docker daemon, name free)',
  network: 'networks (cluster network, Docker user networks)',
  containers: 'containers (master, services, agents)',
  services: 'services ready (master, IPAM, isolation provider, DNS)',
  agents: 'agents registered with the master',
};

/** Reads a cluster file (YAML or JSON; unknown fields are errors naming the field). */
export async function readClusterFile(path: string): Promise<ClusterConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CliError('CLI_CONFIG_FILE', `cannot read the cluster file ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseConfigFile(text, path);
}

/** `--wait 90s` / `90secs` / `1mins` / `60000ms` → milliseconds. */
export function parseWait(text: string): number {
  const normalized = /^\d+(\.\d+)?s$/.test(text) ? `${text.slice(0, -1)}secs` : /^\d+(\.\d+)?m$/.test(text) ? `${text.slice(0, -1)}mins` : text;
  try {
    const ms = parseDuration(normalized);
    if (!(ms > 0)) throw new Error('not positive');
    return ms;
  } catch {
    throw new CliError('CLI_USAGE', `--wait '${text}' must be a duration like 60s, 90secs, 2mins or 500ms`);
  }
}

export interface UpOptions {
  config?: string;
  name?: string;
  agents?: string;
  wait?: string;
  retain?: boolean;
  json?: boolean;
}

/** `cluster up` as a function (the showcase calls it too). Returns the started cluster (detached). */
export async function clusterUp(
  opts: UpOptions,
  deps: { testbed?: Testbed; progress?: Progress } = {},
): Promise<{ cluster: Cluster; readyAfterMs: number; timings: Record<string, number> }> {
  const testbed = deps.testbed ?? realTestbed;
  const progress = deps.progress ?? stderrProgress;
  const file = opts.config ? await readClusterFile(opts.config) : undefined;
  let agents: number | undefined;
  if (opts.agents !== undefined) {
    agents = Number(opts.agents);
    if (!Number.isInteger(agents) || agents < 1) throw new CliError('CLI_USAGE', `--agents '${opts.agents}' must be a whole number of agents, 1 or more`);
  }
  const name = opts.name ?? process.env.IPPC_CLUSTER ?? file?.name;
  const timeoutMs = opts.wait ? parseWait(opts.wait) : undefined;
  const label = name ?? 'ippc';
  progress(`cluster ${label}: starting${file ? ` from ${opts.config}` : ''}`);
  const started = await testbed.startCluster({
    ...(file ? { config: file } : {}),
    ...(name ? { name } : {}),
    ...(agents ? { agents } : {}),
    detached: true,
    retainOnFailure: !!opts.retain,
    ...(timeoutMs ? { timeoutMs } : {}),
    onProgress: (e) => progress(e.status === 'start' ? `  ${PHASES[e.phase]} ...` : `  ${PHASES[e.phase]}: done in ${e.ms} ms`),
  });
  progress(`cluster ${started.name}: ready after ${(started.readyAfterMs / 1000).toFixed(1)} s`);
  return { cluster: started, readyAfterMs: started.readyAfterMs, timings: started.timings };
}

/** `ippc cluster up`: starts a detached cluster and shows it. */
export function registerUp(cluster: Command, testbed: Testbed): void {
  cluster
    .command('up')
    .description('start a cluster that outlives this command: master, agents, IPAM, isolation provider, DNS')
    .option('-f, --config <file>', 'cluster file (YAML or JSON, apiVersion ippc.dev/v1alpha1; unknown fields are errors)')
    .option('--name <name>', 'cluster name (default: IPPC_CLUSTER, the file’s name, or ippc)')
    .option('--agents <n>', 'number of agents (default: the file’s, or 2)')
    .option('--wait <duration>', 'readiness deadline, e.g. 90s (default 60s)')
    .option('--retain', 'keep the containers of a failed start for debugging (default: roll back)')
    .option('--json', 'print the cluster as JSON')
    .addHelpText('after', '\nExamples:\n  ippc cluster up\n  ippc cluster up --name dev --agents 3\n  ippc cluster up -f cluster.yaml --wait 90s --json')
    .action(async (opts: UpOptions) => {
      const { cluster: c, readyAfterMs, timings } = await clusterUp(opts, { testbed });
      emit(opts.json, { ...summary(c), readyAfterMs, timings }, () =>
        [
          `cluster ${c.name} ready after ${(readyAfterMs / 1000).toFixed(1)} s`,
          '',
          renderTable(nodeRows(c)),
          '',
          `master ${c.master.url}   networks: ${c.config.containerNetworks.map((n) => n.name).join(', ')}   Docker user networks: ${c.dockerNetworks.map((n) => n.name).join(', ') || '-'}`,
          `next: ippc task run web --network ${c.config.containerNetworks[0]?.name ?? 'NAME'} --group web --cmd 'exec busybox httpd -f -p 80'${c.name === 'ippc' ? '' : ` --cluster ${c.name}`}`,
          `tear down: ippc cluster down${c.name === 'ippc' ? '' : ` --name ${c.name}`}`,
        ].join('\n'),
      );
    });
}
