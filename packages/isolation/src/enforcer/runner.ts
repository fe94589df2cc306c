import type { CommandResult, CommandRunner } from '@ippc/core';
import { IsolationError } from '../errors.js';

// The enforcer reaches the kernel's tools through core's CommandRunner seam; `must` gives failures
// the isolation provider's error code.

export { createCommandRunner, type CommandResult, type CommandRunner } from '@ippc/core';

/** Runs a command that must succeed: a failure to start it or a non-zero exit is ISOLATION_ENFORCEMENT_FAILED, with its output. */
export async function must(runner: CommandRunner, what: string, command: string, args: string[], input?: string): Promise<CommandResult> {
  let res: CommandResult;
  try {
    res = await runner.run(command, args, input);
  } catch (cause) {
    throw new IsolationError('ISOLATION_ENFORCEMENT_FAILED', `${what}: cannot run ${command}: ${(cause as Error).message} (is it installed?)`, { cause });
  }
  if (res.code !== 0) {
    throw new IsolationError(
      'ISOLATION_ENFORCEMENT_FAILED',
      `${what}: ${command} ${args.join(' ')} exited with ${res.code}: ${res.stderr.trim() || res.stdout.trim()}`,
      {
        output: { stdout: res.stdout, stderr: res.stderr, exitCode: res.code },
        details: input ? { script: input.slice(0, 4000) } : undefined,
      },
    );
  }
  return res;
}
