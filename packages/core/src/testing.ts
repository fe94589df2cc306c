// Test support shared by the packages whose tests run real ippc processes (master, agent,
// reliability): find a component's executable, start a process with its log in a file, wait for a
// log line, poll until a check holds, read a JSON endpoint, run a command for its output. Exported as `@ippc/core/testing`,
// never from the main entry.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

/**
 * The source of an executable of an ippc package, the way every test and bench finds one: the
 * package's `bin` entry in its package.json (`packageBin('@ippc/master', 'ippc-master')`). Run it
 * with `node --import tsx <path>`. Throws when the package has no such executable.
 */
export function packageBin(pkg: string, bin: string): string {
  let dir = dirname(createRequire(import.meta.url).resolve(pkg));
  while (!existsSync(join(dir, 'package.json'))) {
    if (dirname(dir) === dir) throw new Error(`packageBin: no package.json above the entry of ${pkg}`);
    dir = dirname(dir);
  }
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; bin?: Record<string, string> };
  const path = manifest.bin?.[bin];
  if (!path)
    throw new Error(
      `packageBin: ${manifest.name ?? pkg} has no executable '${bin}' (its bin entries: ${Object.keys(manifest.bin ?? {}).join(', ') || 'none'})`,
    );
  return join(dir, path);
}

export interface RunningProcess {
  proc: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
  log(): string;
}

/** Starts `argv` in `cwd` with stdout and stderr appended to `logFile`. */
export function runLogged(argv: string[], logFile: string, cwd: string, env: NodeJS.ProcessEnv = {}): RunningProcess {
  const fd = openSync(logFile, 'a');
  const proc = spawn(argv[0]!, argv.slice(1), { cwd, stdio: ['ignore', fd, fd], env: { ...process.env, ...env } });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  return { proc, logFile, exited, log: () => readFileSync(logFile, 'utf8') };
}

/** Waits for a log line matching `pattern` after offset `after`; fails early if the process exits. */
export async function waitForLog(p: RunningProcess, pattern: RegExp, timeoutMs = 30_000, after = 0): Promise<RegExpMatchArray> {
  const end = Date.now() + timeoutMs;
  let exited = false;
  void p.exited.then(() => (exited = true));
  for (;;) {
    const m = p.log().slice(after).match(pattern);
    if (m) return m;
    if (exited) throw new Error(`${p.logFile}: the process exited before logging ${pattern}:\n${p.log().slice(-3000)}`);
    if (Date.now() > end) throw new Error(`${p.logFile}: no ${pattern} within ${timeoutMs} ms:\n${p.log().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Polls `check` until it returns a value (not undefined) or the time is up. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const execFileAsync = promisify(execFile);

/** Runs a command and returns stdout; throws with the command and its stderr on failure. */
export async function sh(file: string, args: string[], options: { timeoutMs?: number } = {}): Promise<string> {
  try {
    const { stdout } = await execFileAsync(file, args, { timeout: options.timeoutMs ?? 30_000, maxBuffer: 16 << 20 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${file} ${args.join(' ')}: ${(e.stderr || e.message).trim()}`);
  }
}

/** GET `url` as JSON; a non-2xx answer throws with its status and body. */
export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}
