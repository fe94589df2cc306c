import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parseDuration } from '@ippc/mesos';
import { parseConfigFile, type Cluster, type ClusterConfig, type StartPhase } from '@ippc/testbed';
import { clusterName, realTestbed, stderrProgress, type Progress, type Testbed } from '../context.js';
import { CliError } from '../errors.js';
import { emit, table } from '../output.js';
import { taskViews } from '../tasks-view.js';

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

/** Nodes of a cluster as rows: role, container name, address, what it runs. */
export function nodeRows(cluster: Cluster): string[][] {
  const order = (n: Cluster['nodes'][number]) => ({ master: 0, services: 1, agent: 2 })[n.role] * 100 + (n.index ?? 0);
  const nodes = [...cluster.nodes].sort((a, b) => order(a) - order(b));
  return [['ROLE', 'NODE', 'ADDRESS', 'RUNS'], ...nodes.map((n) => [n.role, n.name, n.address, n.daemons.join(',')])];
}

function summary(cluster: Cluster): Record<string, unknown> {
  return {
    name: cluster.name,
    network: cluster.network,
    master: { url: cluster.master.url, grpc: cluster.master.grpcAddress },
    ipam: cluster.ipam.grpcAddress,
    isolation: cluster.isolation.grpcAddress,
    dns: `${cluster.dns.address}:53`,
    agents: cluster.agents.map((a) => ({ index: a.index, name: a.name, address: a.address, url: a.url, subnets: a.subnets, ports: a.ports })),
    containerNetworks: cluster.config.containerNetworks.map((n) => ({ name: n.name, type: n.type, ipam: n.ipam, cidr: n.cidr })),
    dockerNetworks: cluster.dockerNetworks,
  };
}

async function health(url: string): Promise<string> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1500) });
    await res.body?.cancel();
    return res.ok ? 'ok' : `HTTP ${res.status}`;
  } catch (err) {
    return `down (${(err as Error).message})`;
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
export async function clusterUp(opts: UpOptions, deps: { testbed?: Testbed; progress?: Progress } = {}): Promise<{ cluster: Cluster; readyAfterMs: number; timings: Record<string, number> }> {
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

export function registerCluster(program: Command, deps: { testbed?: Testbed } = {}): void {
  const testbed = deps.testbed ?? realTestbed;
  const cluster = program.command('cluster').description('start, inspect and remove a local ippc cluster (containers on this Docker daemon)');

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
          table(nodeRows(c)),
          '',
          `master ${c.master.url}   networks: ${c.config.containerNetworks.map((n) => n.name).join(', ')}   Docker user networks: ${c.dockerNetworks.map((n) => n.name).join(', ') || '-'}`,
          `next: ippc task run web --network ${c.config.containerNetworks[0]?.name ?? 'NAME'} --group web --cmd 'exec busybox httpd -f -p 80'${c.name === 'ippc' ? '' : ` --cluster ${c.name}`}`,
          `tear down: ippc cluster down${c.name === 'ippc' ? '' : ` --name ${c.name}`}`,
        ].join('\n'),
      );
    });

  cluster
    .command('down')
    .description('remove a cluster: every container, network and volume labelled with it (tasks included)')
    .option('--name <name>', 'cluster name (default: IPPC_CLUSTER or ippc)')
    .option('--json', 'print what was removed as JSON')
    .addHelpText('after', '\nExamples:\n  ippc cluster down\n  ippc cluster down --name dev --json')
    .action(async (opts: { name?: string; json?: boolean }) => {
      const name = clusterName(opts.name);
      const report = await testbed.removeCluster(name);
      emit(opts.json, { name, ...report }, () =>
        report.containers + report.networks + report.volumes === 0 && report.errors.length === 0
          ? `no cluster named ${name}: nothing to remove`
          : `cluster ${name} removed: ${report.containers} containers, ${report.networks} networks, ${report.volumes} volumes${report.errors.length ? `\nerrors (run it again to finish):\n- ${report.errors.join('\n- ')}` : ''}`,
      );
      if (report.errors.length > 0) process.exitCode = 1;
    });

  cluster
    .command('status')
    .description('show a cluster: nodes, services’ health, agents at the master, tasks (or --all clusters)')
    .option('--name <name>', 'cluster name (default: IPPC_CLUSTER or ippc)')
    .option('--all', 'list every ippc cluster on this Docker daemon')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  ippc cluster status\n  ippc cluster status --all --json')
    .action(async (opts: { name?: string; all?: boolean; json?: boolean }) => {
      if (opts.all) {
        const clusters = await testbed.listClusters();
        emit(opts.json, { clusters }, () =>
          clusters.length === 0
            ? 'no ippc clusters on this Docker daemon'
            : table([
                ['CLUSTER', 'CONTAINERS', 'RUNNING', 'KIND'],
                ...clusters.map((c) => [c.name, String(c.containers.length), String(c.containers.filter((x) => x.state === 'running').length), c.retained ? 'detached (ippc cluster up)' : 'test session']),
              ]),
        );
        return;
      }
      const c = await testbed.attachCluster(clusterName(opts.name));
      const [state, services] = await Promise.all([
        c.masterState(),
        Promise.all([c.master, c.ipam, c.isolation, c.dns].map(async (s) => ({ service: s.daemon, address: s.grpcAddress, health: await health(s.url) }))),
      ]);
      const tasks = taskViews(state);
      const agents = state.slaves.map((s) => ({ id: s.id, address: s.hostname, active: s.active, resources: s.resources, used: s.used_resources }));
      emit(opts.json, { ...summary(c), services, masterAgents: agents, tasks: { running: tasks.filter((t) => t.state === 'TASK_RUNNING').length, total: tasks.length } }, () =>
        [
          `cluster ${c.name}: master ${c.master.url}, ${agents.filter((a) => a.active).length}/${c.agents.length} agents active, ${tasks.filter((t) => t.state === 'TASK_RUNNING').length} tasks running`,
          '',
          table(nodeRows(c)),
          '',
          table([['SERVICE', 'ADDRESS', 'HEALTH'], ...services.map((s) => [s.service, s.address, s.health])]),
          '',
          table([['AGENT ID', 'ADDRESS', 'ACTIVE', 'CPUS', 'MEM', 'PORTS'], ...agents.map((a) => [a.id, a.address, a.active ? 'yes' : 'no', `${a.used.cpus ?? 0}/${a.resources.cpus ?? 0}`, `${a.used.mem ?? 0}/${a.resources.mem ?? 0}`, String(a.resources.ports ?? '-')])]),
        ].join('\n'),
      );
      if (services.some((s) => s.health !== 'ok') || agents.some((a) => !a.active)) process.exitCode = 1;
    });

  cluster
    .command('logs')
    .description('print the nodes’ logs (the daemons’ JSON lines)')
    .option('--name <name>', 'cluster name (default: IPPC_CLUSTER or ippc)')
    .option('--node <node>', 'only this node: master, services, agent-0, ... or the container name')
    .option('--tail <lines>', 'only the last lines of each log')
    .option('--json', 'print {logs: {node: text}}')
    .addHelpText('after', '\nExamples:\n  ippc cluster logs --node agent-0 --tail 50\n  ippc cluster logs --json')
    .action(async (opts: { name?: string; node?: string; tail?: string; json?: boolean }) => {
      const tail = opts.tail === undefined ? undefined : Number(opts.tail);
      if (tail !== undefined && (!Number.isInteger(tail) || tail < 1)) throw new CliError('CLI_USAGE', `--tail '${opts.tail}' must be a whole number of lines, 1 or more`);
      const c = await testbed.attachCluster(clusterName(opts.name));
      const nodes = opts.node ? c.nodes.filter((n) => n.name === opts.node || n.name === `ippc-${c.name}-${opts.node}` || (n.role === opts.node && n.role !== 'agent')) : c.nodes;
      if (nodes.length === 0) throw new CliError('CLI_USAGE', `--node '${opts.node}' matches no node of ${c.name}; nodes: ${c.nodes.map((n) => n.name.replace(`ippc-${c.name}-`, '')).join(', ')}`);
      const logs: Record<string, string> = {};
      for (const n of nodes) logs[n.name] = await n.logs(tail ? { tail } : {}).catch((e: Error) => `(cannot read the log of ${n.name}: ${e.message})`);
      emit(opts.json, { logs }, () => Object.entries(logs).map(([n, text]) => `==> ${n} <==\n${text.trimEnd()}`).join('\n\n'));
    });
}
