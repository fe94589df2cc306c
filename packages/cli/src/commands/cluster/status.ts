import type { Command } from 'commander';
import { renderTable } from '@ippc/core';
import { clusterName, type Testbed } from '../../context.js';
import { emit } from '../../output.js';
import { taskViews } from '../../tasks-view.js';
import { nodeRows, summary } from './view.js';

async function health(url: string): Promise<string> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1500) });
    await res.body?.cancel();
    return res.ok ? 'ok' : `HTTP ${res.status}`;
  } catch (err) {
    return `down (${(err as Error).message})`;
  }
}

/** `ippc cluster status`: one cluster's nodes, services' health, agents and tasks, or every cluster (`--all`). */
export function registerStatus(cluster: Command, testbed: Testbed): void {
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
            : renderTable([
                ['CLUSTER', 'CONTAINERS', 'RUNNING', 'KIND'],
                ...clusters.map((c) => [
                  c.name,
                  String(c.containers.length),
                  String(c.containers.filter((x) => x.state === 'running').length),
                  c.retained ? 'detached (ippc cluster up)' : 'test session',
                ]),
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
      emit(
        opts.json,
        { ...summary(c), services, masterAgents: agents, tasks: { running: tasks.filter((t) => t.state === 'TASK_RUNNING').length, total: tasks.length } },
        () =>
          [
            `cluster ${c.name}: master ${c.master.url}, ${agents.filter((a) => a.active).length}/${c.agents.length} agents active, ${tasks.filter((t) => t.state === 'TASK_RUNNING').length} tasks running`,
            '',
            renderTable(nodeRows(c)),
            '',
            renderTable([['SERVICE', 'ADDRESS', 'HEALTH'], ...services.map((s) => [s.service, s.address, s.health])]),
            '',
            renderTable([
              ['AGENT ID', 'ADDRESS', 'ACTIVE', 'CPUS', 'MEM', 'PORTS'],
              ...agents.map((a) => [
                a.id,
                a.address,
                a.active ? 'yes' : 'no',
                `${a.used.cpus ?? 0}/${a.resources.cpus ?? 0}`,
                `${a.used.mem ?? 0}/${a.resources.mem ?? 0}`,
                String(a.resources.ports ?? '-'),
              ]),
            ]),
          ].join('\n'),
      );
      if (services.some((s) => s.health !== 'ok') || agents.some((a) => !a.active)) process.exitCode = 1;
    });
}
