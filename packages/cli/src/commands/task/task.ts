import type { Command } from 'commander';
import { realTestbed, type Testbed } from '../../context.js';
import { registerGroup } from './group.js';
import { registerKill } from './kill.js';
import { registerList } from './list.js';
import { registerRun } from './run.js';

/** `ippc task`: run, group, list, kill. */
export function registerTask(program: Command, deps: { testbed?: Testbed } = {}): void {
  const testbed = deps.testbed ?? realTestbed;
  const task = program.command('task').description('run tasks and task groups, list and kill them (as the framework ippc-cli)');
  registerRun(task, testbed);
  registerGroup(task, testbed);
  registerList(task, testbed);
  registerKill(task, testbed);
}
