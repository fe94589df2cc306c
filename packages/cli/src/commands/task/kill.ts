import type { Command } from 'commander';
import { taskStateToJSON } from '@ippc/proto';
import { clusterName, type Testbed } from '../../context.js';
import { CliError } from '../../errors.js';
import { CLI_FRAMEWORK, closeCliFramework, connectCliFramework } from '../../framework.js';
import { emit } from '../../output.js';
import { taskViews, type TaskView } from '../../tasks-view.js';
import { parseWait } from '../cluster/up.js';

/** Finds a task by id, or by name when exactly one live task has it. */
export function findTask(tasks: TaskView[], idOrName: string): TaskView {
  const byId = tasks.find((t) => t.id === idOrName);
  if (byId) return byId;
  const byName = tasks.filter((t) => t.name === idOrName);
  if (byName.length === 1) return byName[0]!;
  if (byName.length > 1)
    throw new CliError('CLI_USAGE', `${byName.length} tasks are named '${idOrName}' (${byName.map((t) => t.id).join(', ')}); give the task id`);
  throw new CliError('CLI_TASK_NOT_FOUND', `no live task with id or name '${idOrName}'; 'ippc task list' shows them`);
}

/** `ippc task kill`: kills a task the CLI launched and waits for its end. */
export function registerKill(task: Command, testbed: Testbed): void {
  task
    .command('kill')
    .description('kill a task the CLI launched and wait until it is gone (CNI DEL: its address is released)')
    .argument('<task>', 'task id (or a name only one live task has)')
    .option('--wait', 'wait for the terminal state (the default)')
    .option('--no-wait', 'return once the kill was sent')
    .option('--timeout <duration>', 'how long to wait for the terminal state (default 30s)')
    .option('--cluster <name>', 'cluster name (default: IPPC_CLUSTER or ippc)')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      [
        '',
        'A task of a pod (ippc task group) ends its whole group, as in Mesos; the other tasks of a custom executor run on,',
        'and so does the executor (its container and address stay until the cluster goes).',
        '',
        'Examples:',
        '  ippc task kill web-1a2b3c4d',
        '  ippc task kill web --json',
      ].join('\n'),
    )
    .action(async (idOrName: string, opts: { wait?: boolean; timeout?: string; cluster?: string; json?: boolean }) => {
      const timeoutMs = opts.timeout ? parseWait(opts.timeout) : 30_000;
      const cluster = await testbed.attachCluster(clusterName(opts.cluster));
      const t = findTask(taskViews(await cluster.masterState()), idOrName);
      if (t.framework !== CLI_FRAMEWORK) {
        throw new CliError(
          'CLI_USAGE',
          `task ${t.id} belongs to framework '${t.framework}' (${t.frameworkId}); ippc kills only the tasks it launched (framework ${CLI_FRAMEWORK})`,
        );
      }
      const scheduler = await connectCliFramework(cluster);
      try {
        await scheduler.kill(t.id, { agentId: t.agentId });
        let state = 'KILL_SENT';
        if (opts.wait !== false) {
          const s = await scheduler.waitForState(
            t.id,
            ['TASK_KILLED', 'TASK_FINISHED', 'TASK_FAILED', 'TASK_LOST', 'TASK_GONE', 'TASK_DROPPED', 'TASK_ERROR'],
            timeoutMs,
          );
          state = taskStateToJSON(s.state ?? 0);
        }
        emit(opts.json, { id: t.id, name: t.name, state }, () => `task ${t.id} ${state}`);
      } finally {
        await closeCliFramework(scheduler);
      }
    });
}
