import { spawn, type SpawnOptions } from 'node:child_process';
import { HostError } from './errors.js';

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
}

export interface RunOptions {
  /** Text written to the command's standard input. */
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill the command after this many milliseconds. Default: no limit. */
  timeoutMs?: number;
  /** Called with each chunk the command prints, for progress. */
  onOutput?: (chunk: string) => void;
}

/** Runs a command without a shell and returns what it printed, whatever its exit code. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const spawnOptions: SpawnOptions = { env: options.env ?? process.env, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] };
    const child = spawn(command, args, spawnOptions);
    let stdout = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    if (options.timeoutMs) timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      options.onOutput?.(d.toString());
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
      options.onOutput?.(d.toString());
    });
    child.on('error', (err) => {
      if (timer) clearTimeout(timer);
      reject(err);
    });
    child.on('close', (exitCode) => {
      if (timer) clearTimeout(timer);
      resolve({ stdout, stderr, exitCode });
    });
    child.stdin?.end(options.input ?? '');
  });
}

/** Like {@link run} but throws `HOST_COMMAND_FAILED` (with the output kept) on a non-zero exit. */
export async function runOrThrow(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  let result: RunResult;
  try {
    result = await run(command, args, options);
  } catch (cause) {
    throw new HostError('HOST_COMMAND_FAILED', `could not start '${command}': ${(cause as Error).message}`, { cause });
  }
  if (result.exitCode !== 0) {
    const tail = (result.stderr || result.stdout).trim().split('\n').slice(-15).join('\n');
    throw new HostError('HOST_COMMAND_FAILED', `'${[command, ...args].join(' ')}' exited with ${result.exitCode}${tail ? `:\n${tail}` : ''}`, {
      output: result,
    });
  }
  return result;
}

/** The absolute path of `name` on PATH (plus the sbin folders root uses), or undefined. */
export async function which(name: string): Promise<string | undefined> {
  const { access, constants } = await import('node:fs/promises');
  const dirs = new Set([...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']);
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = `${dir}/${name}`;
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
