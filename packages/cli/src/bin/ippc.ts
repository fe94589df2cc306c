#!/usr/bin/env -S node --import tsx
// ippc: the user's entry point. Every command takes --json.
import { Command } from 'commander';
import { registerCluster } from '../commands/cluster.js';
import { registerDoctor } from '../commands/doctor.js';
import { registerNet } from '../commands/net.js';
import { registerShowcase } from '../commands/showcase.js';
import { registerTask } from '../commands/task.js';
import { fail } from '../output.js';

// The testbed's containers need no reaper for detached clusters, and Ryuk cannot be pulled here.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';

const program = new Command('ippc')
  .description('IP-per-container for Mesos-style clusters: a local testbed')
  .showHelpAfterError()
  .configureHelp({ sortSubcommands: true });

registerCluster(program);
registerTask(program);
registerNet(program);
registerShowcase(program);
registerDoctor(program);

program
  .parseAsync()
  .then(() => {
    // gRPC channels and Docker sockets may keep the loop alive after the result is out.
    process.exit(process.exitCode ?? 0);
  })
  .catch((err: unknown) => fail(err, process.argv.includes('--json')));
