import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runLogged, type RunningProcess } from '@ippc/core/testing';

// Test support: run the real `ippc-master` and `ippc-agent` binaries as processes on loopback,
// with their JSON logs in files, and find their addresses from those logs.

const here = dirname(fileURLToPath(import.meta.url));
export const MASTER_BIN = join(here, '..', 'bin', 'ippc-master.ts');
export const AGENT_BIN = join(here, '..', '..', '..', 'agent', 'src', 'bin', 'ippc-agent.ts');

export { eventually, getJson, waitForLog, type RunningProcess } from '@ippc/core/testing';

/** Runs a TypeScript bin through tsx, its log in `logFile`. */
export function run(bin: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = {}): RunningProcess {
  return runLogged([process.execPath, '--import', 'tsx', bin, ...args], logFile, dirname(bin), env);
}

