import type { Command } from 'commander';
import { realTestbed, type Testbed } from '../../context.js';
import { registerDown } from './down.js';
import { registerEnv } from './env.js';
import { registerLogs } from './logs.js';
import { registerStatus } from './status.js';
import { registerUp } from './up.js';

/** `ippc cluster`: up, down, status, logs, env. */
export function registerCluster(program: Command, deps: { testbed?: Testbed } = {}): void {
  const testbed = deps.testbed ?? realTestbed;
  const cluster = program.command('cluster').description('start, inspect and remove a local ippc cluster (containers on this Docker daemon)');
  registerUp(cluster, testbed);
  registerDown(cluster, testbed);
  registerStatus(cluster, testbed);
  registerLogs(cluster, testbed);
  registerEnv(cluster, testbed);
}
