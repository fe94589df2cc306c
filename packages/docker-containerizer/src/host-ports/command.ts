import { spawn } from 'node:child_process';
import { DockerContainerizerError } from '../errors.js';

// How the nft forwarder reaches the kernel's tools (`nft`, `sysctl`): specs pass a fake runner;
// the real one runs the command, in another network namespace when asked (`nsenter --net=`).

/** What a command printed and how it ended (`code` null: killed). */
export interface CommandResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

export interface CommandRunner {
  run(command: string, args: readonly string[], input?: string): Promise<CommandResult>;
}

/** Runs commands in `netns` (a path such as `/run/netns/agent`; default: this process's namespace), killed after `timeoutMs`. */
export function createCommandRunner(options: { netns?: string; timeoutMs?: number } = {}): CommandRunner {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return {
    run: (command, args, input) =>
      new Promise((resolve, reject) => {
        const [cmd, argv] = options.netns ? ['nsenter', [`--net=${options.netns}`, '--', command, ...args]] : [command, [...args]];
        const child = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ stdout, stderr, code });
        });
        child.stdin.on('error', () => undefined);
        child.stdin.end(input ?? '');
      }),
  };
}

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
