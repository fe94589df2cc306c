import type { CommandResult, CommandRunner } from '@ippc/core';
import { DockerContainerizerError } from '../errors.js';

// How the nft forwarder reaches the kernel's tools (`nft`, `sysctl`): core's CommandRunner seam
// (specs pass a fake); `must` gives failures this package's error code.

export { createCommandRunner, type CommandResult, type CommandRunner } from '@ippc/core';

/** Runs a command that must succeed; otherwise `DOCKER_HOST_PORTS_FAILED` saying `what` failed, with the command's output. */
export async function must(runner: CommandRunner, what: string, command: string, args: readonly string[], input?: string): Promise<CommandResult> {
  let res: CommandResult;
  try {
    res = await runner.run(command, args, input);
  } catch (cause) {
    throw new DockerContainerizerError('DOCKER_HOST_PORTS_FAILED', `${what}: cannot run ${command}: ${(cause as Error).message} (is it installed?)`, { cause });
  }
  if (res.code !== 0) {
    const said = res.stderr.trim() || res.stdout.trim() || (res.code === null ? 'killed (timeout)' : 'no output');
    throw new DockerContainerizerError('DOCKER_HOST_PORTS_FAILED', `${what}: ${command} ${args.join(' ')} exited with ${res.code}: ${said}`, {
      output: { stdout: res.stdout, stderr: res.stderr, exitCode: res.code },
      ...(input ? { details: { script: input.slice(0, 4000) } } : {}),
    });
  }
  return res;
}
