import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_PREFIX } from './resources.js';

// Scratch network namespaces for integration tests and benchmarks: every name starts with
// `<prefix>-<run>-` (prefix `iso` unless IPPC_TEST_NS_PREFIX says otherwise), every file lives in
// one temp dir, every process started here is killed, and `cleanup()` removes all of it even
// after a failure half-way through.

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

export interface Scratch {
  /** `iso-<4 hex>` (see resources.ts): the prefix of every namespace of this run. */
  readonly prefix: string;
  /** A temp dir of this run (`/tmp/iso-XXXX`). */
  readonly dir: string;
  /** The full namespace name for a short name. */
  ns(name: string): string;
  /** `/run/netns/<full name>`. */
  nsPath(name: string): string;
  /** Creates a namespace with `lo` up. */
  addNs(name: string): Promise<string>;
  /** Runs a command in a namespace (undefined: the caller's) and returns its output. */
  exec(
    ns: string | undefined,
    command: string,
    args: readonly string[],
    options?: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
  ): Promise<ExecResult>;
  /** Like exec, but throws with the output on a non-zero exit. */
  sh(ns: string | undefined, script: string): Promise<string>;
  /** Starts a long-running process in a namespace; killed by cleanup. */
  spawn(
    ns: string | undefined,
    command: string,
    args: readonly string[],
    options?: { env?: NodeJS.ProcessEnv; cwd?: string; onLine?: (line: string) => void },
  ): ChildProcess;
  /** Kills every process, deletes every namespace of this run, removes the temp dir. Never throws. */
  cleanup(): Promise<void>;
}

export function nsCommand(nsPath: string | undefined, command: string, args: readonly string[]): [string, string[]] {
  return nsPath ? ['nsenter', [`--net=${nsPath}`, '--', command, ...args]] : [command, [...args]];
}

export async function createScratch(): Promise<Scratch> {
  const prefix = `${TEST_PREFIX}-${randomBytes(2).toString('hex')}`;
  const dir = await mkdtemp(join(tmpdir(), `${TEST_PREFIX}-`));
  const children = new Set<ChildProcess>();
  const full = (name: string) => `${prefix}-${name}`;
  const path = (name: string) => `/run/netns/${full(name)}`;

  const exec: Scratch['exec'] = (ns, command, args, options = {}) => {
    const [cmd, argv] = nsCommand(ns ? path(ns) : undefined, command, args);
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, argv, { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
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
      child.stdin.end(options.input ?? '');
    });
  };

  const scratch: Scratch = {
    prefix,
    dir,
    ns: full,
    nsPath: path,
    async addNs(name) {
      const res = await exec(undefined, 'ip', ['netns', 'add', full(name)]);
      if (res.code !== 0) throw new Error(`ip netns add ${full(name)}: ${res.stderr.trim()}`);
      await scratch.sh(name, 'ip link set lo up');
      return full(name);
    },
    exec,
    async sh(ns, script) {
      const res = await exec(ns, 'sh', ['-ec', script]);
      if (res.code !== 0) throw new Error(`in ${ns ? full(ns) : 'the root namespace'}: ${script}\nexit ${res.code}: ${res.stderr.trim() || res.stdout.trim()}`);
      return res.stdout;
    },
    spawn(ns, command, args, options = {}) {
      const [cmd, argv] = nsCommand(ns ? path(ns) : undefined, command, args);
      const child = spawn(cmd, argv, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      children.add(child);
      child.on('exit', () => children.delete(child));
      let buf = '';
      const onData = (d: Buffer) => {
        buf += d.toString();
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          options.onLine?.(line);
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      return child;
    },
    async cleanup() {
      await Promise.allSettled(
        [...children].map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null || c.signalCode !== null) return resolve();
              const t = setTimeout(() => {
                c.kill('SIGKILL');
                resolve();
              }, 2_000);
              c.once('exit', () => {
                clearTimeout(t);
                resolve();
              });
              c.kill('SIGTERM');
            }),
        ),
      );
      // Every namespace of this run, also those a failed step did not get to record.
      const list = await exec(undefined, 'ip', ['netns', 'list']).catch(() => ({ stdout: '' }) as ExecResult);
      const mine = list.stdout
        .split('\n')
        .map((l) => l.split(' ')[0] ?? '')
        .filter((n) => n.startsWith(`${prefix}-`));
      await Promise.allSettled(mine.map((n) => exec(undefined, 'ip', ['netns', 'del', n])));
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    },
  };
  return scratch;
}

/**
 * Opens a TCP connection from a namespace with bash's /dev/tcp: `open` (a server accepted),
 * `refused` (a RST came back: the path is open, no server), `timeout` (dropped on the way).
 */
export async function tcpConnect(
  scratch: Scratch,
  fromNs: string | undefined,
  address: string,
  port: number,
  timeoutS = 1,
): Promise<'open' | 'refused' | 'timeout'> {
  const once = async (seconds: number): Promise<'open' | 'refused' | 'timeout'> => {
    // bash takes IPv6 literals unbracketed here: it splits host and port at the last '/'.
    const res = await scratch.exec(fromNs, 'timeout', [String(seconds), 'bash', '-c', `exec 3<>/dev/tcp/${address}/${port}`]);
    if (res.code === 0) return 'open';
    if (res.code === 124) return 'timeout';
    if (/refused/i.test(res.stderr)) return 'refused';
    return 'timeout';
  };
  const first = await once(timeoutS);
  if (first !== 'timeout') return first;
  // The budget covers bash's start too: on a loaded machine (a dozen probes at once on two cores)
  // that alone can take a second. A timeout is confirmed with a longer budget before it counts,
  // so a blocked path costs a few seconds more and a slow start no longer reads as blocked.
  return once(Math.max(3, 3 * timeoutS));
}
