import type { Command } from 'commander';
import { renderTable } from '@ippc/core';
import { clusterName, type Testbed } from '../../context.js';
import { emit } from '../../output.js';
import { taskRows, taskViews } from '../../tasks-view.js';

/** `ippc task list`: the tasks of every framework, as `/master/state` has them. */
export function registerList(task: Command, testbed: Testbed): void {
  task
    .command('list')
    .description('list tasks of every framework: state, agent, containerizer, networks, groups, addresses')
    .option('--all', 'include finished tasks')
    .option('--cluster <name>', 'cluster name (default: IPPC_CLUSTER or ippc)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  ippc task list\n  ippc task list --all --json')
    .action(async (opts: { all?: boolean; cluster?: string; json?: boolean }) => {
      const cluster = await testbed.attachCluster(clusterName(opts.cluster));
      const tasks = taskViews(await cluster.masterState(), { all: !!opts.all });
      emit(opts.json, { tasks }, () => (tasks.length === 0 ? `no tasks in cluster ${cluster.name}` : renderTable(taskRows(tasks))));
    });
}
