import { dirname } from 'node:path';
import { packageBin, runLogged, type RunningProcess } from '@ippc/core/testing';

// Test support: run the real `ippc-master` and `ippc-agent` binaries as processes on loopback,
// with their JSON logs in files, and find their addresses from those logs.

export const MASTER_BIN = packageBin('@ippc/master', 'ippc-master');
export const AGENT_BIN = packageBin('@ippc/node', 'ippc-agent');

export { eventually, getJson, waitForLog, type RunningProcess } from '@ippc/core/testing';

/** Runs a TypeScript bin through tsx, its log in `logFile`. */
export function run(bin: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = {}): RunningProcess {
  return runLogged([process.execPath, '--import', 'tsx', bin, ...args], logFile, dirname(bin), env);
}
