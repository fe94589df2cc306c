// Test support shared by the packages whose tests run real ippc processes (master, agent,
// reliability): start a process with its log in a file, wait for a log line, poll until a check
// holds, read a JSON endpoint. Exported as `@ippc/core/testing`, never from the main entry.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';

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

/** GET `url` as JSON; a non-2xx answer throws with its status and body. */
export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}
