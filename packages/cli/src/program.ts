import { Command } from 'commander';
import { registerCluster } from './commands/cluster/cluster.js';
import { registerDoctor } from './commands/doctor.js';
import { registerIsolation } from './commands/isolation.js';
import { registerNet } from './commands/net.js';
import { registerShowcase } from './commands/showcase/showcase.js';
import { registerTask } from './commands/task/task.js';
import type { Testbed } from './context.js';

/** The whole `ippc` command tree (the bin parses argv with it; specs inspect it). */
export function createProgram(deps: { testbed?: Testbed } = {}): Command {
  const program = new Command('ippc')
    .description('IP-per-container for Mesos-style clusters: a local testbed')
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: true });
  registerCluster(program, deps);
  registerTask(program, deps);
  registerNet(program, deps);
  registerIsolation(program, deps);
  registerShowcase(program, deps);
  registerDoctor(program);
  return program;
}
