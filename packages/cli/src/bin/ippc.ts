#!/usr/bin/env -S node --import tsx
// ippc: the user's entry point. Every command takes --json.
import { fail } from '../output.js';
import { createProgram } from '../program.js';

// Clusters of `ippc cluster up` need no reaper, and Ryuk cannot be pulled here.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';

createProgram()
  .parseAsync()
  .then(() => {
    // gRPC channels and Docker sockets may keep the loop alive after the result is out.
    process.exit(process.exitCode ?? 0);
  })
  .catch((err: unknown) => fail(err, process.argv.includes('--json')));
