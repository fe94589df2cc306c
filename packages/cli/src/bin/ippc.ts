#!/usr/bin/env -S node --import tsx
// ippc: the user's entry point. Every command takes --json.
import { Command } from 'commander';
import { registerDoctor } from '../commands/doctor.js';
import { fail } from '../output.js';

const program = new Command('ippc')
  .description('IP-per-container for Mesos-style clusters: a local testbed')
  .showHelpAfterError()
  .configureHelp({ sortSubcommands: true });

registerDoctor(program);

program.parseAsync().catch((err: unknown) => fail(err, process.argv.includes('--json')));
