#!/usr/bin/env -S node --import tsx
// ippc-isolationctl: the operator verbs of the isolation provider (the `ippc` CLI mounts the same
// commands). Every command takes --json.
import { createIsolationCommand, printError } from '../cli/cli.js';

const program = createIsolationCommand().name('ippc-isolationctl').showHelpAfterError();
program.parseAsync().catch((err: unknown) => {
  printError(err, process.argv.includes('--json'));
  process.exit(1);
});
