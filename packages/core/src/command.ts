import { spawn } from 'node:child_process';

// The seam between a component and the kernel's tools (`nft`, `ip`, `sysctl`): unit tests pass a
// fake runner; the real one runs the command, in another network namespace when asked. Each
// component wraps it with its own `must` that turns a failure into its own error code.

/** What a command printed and how it ended. */
export interface CommandResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

/** Runs a command (with `input` on its standard input) and says how it ended; rejects only when it cannot start. */
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

/** The real runner: `nsenter --net=<netns>` when a namespace is given, SIGKILL after `timeoutMs`. */
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
