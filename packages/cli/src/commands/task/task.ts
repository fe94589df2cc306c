import type { Command } from 'commander';
import { realTestbed, type Testbed } from '../../context.js';
import { registerKill } from './kill.js';
import { registerList } from './list.js';
import { registerRun } from './run.js';

/** `ippc task`: run, list, kill. */
export function registerTask(program: Command, deps: { testbed?: Testbed } = {}): void {
  const testbed = deps.testbed ?? realTestbed;
  const task = program.command('task').description('run, list and kill tasks (as the framework ippc-cli)');
  registerRun(task, testbed);
  registerList(task, testbed);
  registerKill(task, testbed);
}
