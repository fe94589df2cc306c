import { spawn } from 'node:child_process';
import { IsolationError } from '../errors.js';

/** What a command printed and how it ended. */
export interface CommandResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

/**
 * The seam between the enforcer and the kernel tools (`nft`, `ip`, `sysctl`): unit tests pass a
 * fake; the real one runs the command, optionally inside a network namespace.
 */
export interface CommandRunner {
  run(command: string, args: readonly string[], input?: string): Promise<CommandResult>;
}

export interface CommandRunnerOptions {
  /**
   * A network namespace to run in (a path such as `/run/netns/agent1`, entered with
   * `nsenter --net=`). Default: the caller's own namespace.
   */
  netns?: string;
  /** Kill a command after this long. Default 30 s. */
  timeoutMs?: number;
}

export function createCommandRunner(options: CommandRunnerOptions = {}): CommandRunner {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return {
    run(command, args, input) {
      const [cmd, argv] = options.netns ? ['nsenter', [`--net=${options.netns}`, '--', command, ...args]] : [command, [...args]];
      return new Promise((resolve, reject) => {
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
      });
    },
  };
}

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
