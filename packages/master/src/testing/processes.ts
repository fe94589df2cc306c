import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Test support: run the real `ippc-master` and `ippc-agent` binaries as processes on loopback,
// with their JSON logs in files, and find their addresses from those logs.

const here = dirname(fileURLToPath(import.meta.url));
export const MASTER_BIN = join(here, '..', 'bin', 'ippc-master.ts');
export const AGENT_BIN = join(here, '..', '..', '..', 'agent', 'src', 'bin', 'ippc-agent.ts');

export interface RunningProcess {
  proc: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
  log(): string;
}

export function run(bin: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = {}): RunningProcess {
  const fd = openSync(logFile, 'a');
  const proc = spawn(process.execPath, ['--import', 'tsx', bin, ...args], { cwd: dirname(bin), stdio: ['ignore', fd, fd], env: { ...process.env, ...env } });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  return { proc, logFile, exited, log: () => readFileSync(logFile, 'utf8') };
}

/** Waits for a log line matching `pattern`; returns the match. Fails early if the process exits. */
export async function waitForLog(p: RunningProcess, pattern: RegExp, timeoutMs = 30_000, after = 0): Promise<RegExpMatchArray> {
  const end = Date.now() + timeoutMs;
  let exited = false;
  void p.exited.then(() => (exited = true));
  for (;;) {
    const m = p.log().slice(after).match(pattern);
    if (m) return m;
    if (exited) throw new Error(`${p.logFile}: the process exited before logging ${pattern}:\n${p.log().slice(-2000)}`);
    if (Date.now() > end) throw new Error(`${p.logFile}: no ${pattern} within ${timeoutMs} ms:\n${p.log().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
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
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}
