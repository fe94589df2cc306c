import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { basename, join } from 'node:path';

/** What one plugin run produced. A non-zero exit is not an exception at this seam. */
export interface PluginOutput {
  /** Exit code; null when killed by a signal (or the timeout). */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** Set when the run was killed because it exceeded its time limit. */
  timedOut?: boolean;
}

/** One plugin run: environment (exactly these keys) and standard input. */
export interface PluginRun {
  env: Record<string, string>;
  stdin: string;
}

/**
 * The seam between the CNI runtime and plugin binaries (libcni's `invoke.Exec`), so unit tests can
 * put fakes in place of real plugins. {@link createExecInvoker} is the real one.
 */
export interface CniInvoker {
  /** Absolute path of the plugin binary `type` in the first directory of `dirs` that has it, else undefined. */
  find(type: string, dirs: readonly string[]): Promise<string | undefined>;
  /** Runs the plugin at `path` and collects its output. Rejects only if it cannot be started. */
  exec(path: string, run: PluginRun): Promise<PluginOutput>;
}

/**
 * A plugin answered inside this process instead of by running its binary: it gets exactly what the
 * binary would (the CNI_* environment and the config on stdin) and answers as the binary would
 * (exit code 0 with the result on stdout, or non-zero with a CNI error JSON), so the runtime treats
 * both alike. It may decline a run (resolve `undefined`), e.g. a config that names another daemon's
 * socket; the binary then runs as usual.
 */
export type InProcessPlugin = (run: PluginRun) => Promise<PluginOutput | undefined>;

/** Options of {@link createExecInvoker}. */
export interface ExecInvokerOptions {
  /**
   * Path of a network namespace (e.g. `/run/netns/cnihost-1`) to run every plugin in, through
   * `nsenter --net=<path>`: bridges, host-side veths and iptables rules then live there. Default:
   * undefined, plugins run in the caller's network namespace (what an agent does).
   */
  netns?: string;
  /** Kill a plugin that runs longer than this. Default 120000 ms. */
  timeoutMs?: number;
  /**
   * Plugins answered in this process, by plugin type (the binary's name). Why: starting any
   * process from Node costs a few milliseconds (fork/exec of a large process), more than a
   * forwarding plugin such as `ippc-isolation` spends on its work, when its daemon lives in this
   * very process anyway. The binary must still be installed (it is found as usual, other runtimes
   * run it, and it runs here when the handler declines); the time limit applies alike. Default: none.
   */
  inProcess?: Readonly<Record<string, InProcessPlugin>>;
}

/** Runs real plugin binaries as child processes. */
export function createExecInvoker(options: ExecInvokerOptions = {}): CniInvoker {
  const timeoutMs = options.timeoutMs ?? 120_000;
  return {
    async find(type, dirs) {
      // A `type` is a binary name, never a path: `../x` must not escape the plugin directories.
      if (type === '' || type.includes('/') || type === '.' || type === '..') return undefined;
      // Blocking on purpose: a stat and an access(2) take microseconds, while a busy libuv pool
      // can delay them by milliseconds, and this sits right before every plugin run.
      for (const dir of dirs) {
        if (!dir) continue;
        const candidate = join(dir, type);
        try {
          if (!statSync(candidate).isFile()) continue;
          accessSync(candidate, constants.X_OK);
          return candidate;
        } catch {
          // not in this directory
        }
      }
      return undefined;
    },
    async exec(path, run) {
      const inProcess = options.inProcess?.[basename(path)];
      if (inProcess) {
        const out = await runInProcess(inProcess, run, timeoutMs);
        if (out) return out;
      }
      const [file, args] = options.netns ? ['nsenter', [`--net=${options.netns}`, '--', path]] : [path, []];
      // libcni retries "text file busy" a few times: a plugin that was just written may still be
      // open for writing by the process that wrote it.
      for (let attempt = 0; ; attempt++) {
        try {
          return await runOnce(file, args as string[], run, timeoutMs);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ETXTBSY' && attempt < 5) {
            await new Promise((r) => setTimeout(r, 20 * (attempt + 1)));
            continue;
          }
          throw err;
        }
      }
    },
  };
}

/** Runs an in-process plugin under the same time limit as a binary; a throw is a failed start, as for spawn. */
async function runInProcess(plugin: InProcessPlugin, run: PluginRun, timeoutMs: number): Promise<PluginOutput | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<PluginOutput>((resolve) => {
    timer = setTimeout(() => resolve({ exitCode: null, stdout: '', stderr: '', timedOut: true }), timeoutMs);
  });
  try {
    return await Promise.race([plugin({ env: { ...run.env }, stdin: run.stdin }), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function runOnce(file: string, args: string[], run: PluginRun, timeoutMs: number): Promise<PluginOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: run.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        exitCode: code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        ...(timedOut ? { timedOut } : {}),
      });
    });
    // A plugin may exit without reading stdin; that is its business, not an error of ours.
    child.stdin.on('error', () => undefined);
    child.stdin.end(run.stdin);
  });
}
