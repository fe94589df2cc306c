import type Docker from 'dockerode';
import { execIn, execState, spawnIn, type ExecOptions, type ExecResult } from './docker-exec.js';
import { TestbedError } from './errors.js';
import { probeGrpcHealth } from './grpc-health.js';
import { PATHS } from './plan/layout.js';
import type { DaemonName, DaemonSpec, NodeRole } from './plan/types.js';

export type StopSignal = 'SIGTERM' | 'SIGKILL' | 'SIGUSR1';

/** One container of the cluster and the ippc daemons it runs (one each, except the services node). */
export interface ClusterNode {
  readonly role: NodeRole;
  /** Agents: 0-based index. */
  readonly index: number | undefined;
  /** Container name, `ippc-<cluster>-<role>[-<index>]`. */
  readonly name: string;
  readonly containerId: string;
  /** Address on the cluster network. */
  readonly address: string;
  readonly daemons: readonly DaemonName[];
  /** Runs a command in the container and collects its output. */
  exec(command: string[], options?: ExecOptions): Promise<ExecResult>;
  /** Like `exec`, but a non-zero exit throws `TESTBED_EXEC_FAILED` with the output. */
  execOrThrow(command: string[], options?: ExecOptions): Promise<string>;
  /** The container's log (its daemons' JSON lines), optionally only the last lines. */
  logs(options?: { tail?: number }): Promise<string>;
  /** Whether the daemon process is alive (default: the node's first daemon). */
  isDaemonRunning(daemon?: DaemonName): Promise<boolean>;
  /**
   * Stops a daemon, not the container: whatever it started (an agent's tasks) keeps running.
   * `SIGKILL` is a crash; `SIGTERM` a clean stop (an agent leaves its tasks running either way;
   * `SIGUSR1` makes it kill them first).
   */
  stopDaemon(daemon?: DaemonName, options?: { signal?: StopSignal; timeoutMs?: number }): Promise<void>;
  /** Starts a stopped daemon again with the same flags and waits until it is ready. */
  startDaemon(daemon?: DaemonName, options?: { timeoutMs?: number }): Promise<void>;
  /** The container's init pid on the Docker host (for `/proc/<pid>/ns/net` and `/proc/<pid>/root/...`). */
  hostPid(): Promise<number>;
}

export interface NodeHandleInit {
  docker: Docker;
  containerId: string;
  role: NodeRole;
  index?: number;
  name: string;
  address: string;
  daemons: DaemonSpec[];
  /** Readiness beyond a daemon's own protocol (an agent: registered with the master). */
  extraReady?: (node: ClusterNode, daemon: DaemonName, deadline: number) => Promise<void>;
}

// Readiness polls compete for the CPU with the daemons they wait for (and with dockerd): every 50 ms.
const POLL_MS = 50;

/** Polls `attempt` until it returns true, at most until `deadline`; errors of `attempt` count as "not yet". */
export async function until(what: string, deadline: number, attempt: () => Promise<boolean>, onTimeout?: () => Promise<string>): Promise<void> {
  let last: unknown;
  for (;;) {
    try {
      if (await attempt()) return;
    } catch (err) {
      if (err instanceof TestbedError && err.code === 'TESTBED_START_FAILED') throw err;
      last = err;
    }
    if (Date.now() >= deadline) {
      const output = onTimeout ? await onTimeout().catch(() => '') : '';
      throw new TestbedError(
        'TESTBED_NOT_READY',
        `${what} was not ready in time${last ? ` (last error: ${(last as Error).message})` : ''}${output ? '; its log tail is in the error output' : ''}`,
        {
          cause: last,
          ...(output ? { output: { stderr: output } } : {}),
        },
      );
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

async function httpOk(url: string, timeoutMs = 1000): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  await res.body?.cancel();
  return res.ok;
}

export class NodeHandle implements ClusterNode {
  readonly role: NodeRole;
  readonly index: number | undefined;
  readonly name: string;
  readonly containerId: string;
  readonly address: string;
  readonly specs: DaemonSpec[];
  private readonly docker: Docker;
  private readonly execIds = new Map<DaemonName, string>();
  extraReady: NodeHandleInit['extraReady'];
  private pid: number | undefined;

  constructor(init: NodeHandleInit) {
    this.docker = init.docker;
    this.containerId = init.containerId;
    this.role = init.role;
    this.index = init.index;
    this.name = init.name;
    this.address = init.address;
    this.specs = init.daemons;
    this.extraReady = init.extraReady;
  }

  get daemons(): DaemonName[] {
    return this.specs.map((d) => d.name);
  }

  private spec(name: DaemonName | undefined): DaemonSpec {
    const d = name ? this.specs.find((s) => s.name === name) : this.specs[0];
    if (!d) throw new TestbedError('TESTBED_EXEC_FAILED', `${this.name} runs no ${name} daemon (it runs ${this.daemons.join(', ')})`);
    return d;
  }

  private pidFile(name: DaemonName): string {
    return `${PATHS.run}/${name}.pid`;
  }

  exec(command: string[], options?: ExecOptions): Promise<ExecResult> {
    return execIn(this.docker, this.containerId, command, options);
  }

  async execOrThrow(command: string[], options?: ExecOptions): Promise<string> {
    const r = await this.exec(command, options);
    if (r.exitCode !== 0) {
      throw new TestbedError(
        'TESTBED_EXEC_FAILED',
        `'${command.join(' ').slice(0, 200)}' in ${this.name} exited with ${r.exitCode}: ${(r.stderr || r.stdout).trim().slice(-2000)}`,
        {
          output: { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode },
        },
      );
    }
    return r.stdout;
  }

  async logs(options: { tail?: number } = {}): Promise<string> {
    const buf = (await this.docker
      .getContainer(this.containerId)
      .logs({ stdout: true, stderr: true, follow: false, ...(options.tail ? { tail: options.tail } : {}) })) as unknown as Buffer;
    return demuxLog(buf);
  }

  async hostPid(): Promise<number> {
    if (this.pid === undefined) this.pid = (await this.docker.getContainer(this.containerId).inspect()).State.Pid;
    return this.pid;
  }

  /** Starts a daemon (detached) without waiting for it. */
  async spawnDaemon(name?: DaemonName): Promise<void> {
    const d = this.spec(name);
    this.execIds.set(d.name, await spawnIn(this.docker, this.containerId, d.argv, this.pidFile(d.name)));
  }

  async isDaemonRunning(name?: DaemonName): Promise<boolean> {
    const d = this.spec(name);
    const execId = this.execIds.get(d.name);
    if (execId) return (await execState(this.docker, execId)).running;
    const r = await this.exec(['sh', '-c', `p=$(cat ${this.pidFile(d.name)} 2>/dev/null) && kill -0 "$p" 2>/dev/null`]);
    return r.exitCode === 0;
  }

  async stopDaemon(name?: DaemonName, options: { signal?: StopSignal; timeoutMs?: number } = {}): Promise<void> {
    const d = this.spec(name);
    const signal = (options.signal ?? 'SIGTERM').replace(/^SIG/, '');
    const timeoutMs = options.timeoutMs ?? 15_000;
    const pidFile = this.pidFile(d.name);
    // Signal, then a bounded wait for the process to be gone (exit 3 if it outlives the timeout).
    const script = `p=$(cat ${pidFile} 2>/dev/null) || exit 0
kill -${signal} "$p" 2>/dev/null || { rm -f ${pidFile}; exit 0; }
i=0; while kill -0 "$p" 2>/dev/null; do i=$((i+1)); [ $i -gt ${Math.ceil(timeoutMs / 25)} ] && exit 3; sleep 0.025; done
rm -f ${pidFile}`;
    const r = await this.exec(['sh', '-c', script], { timeoutMs: timeoutMs + 5_000 });
    if (r.exitCode !== 0)
      throw new TestbedError(
        'TESTBED_EXEC_FAILED',
        `the ${d.name} daemon in ${this.name} did not stop on SIG${signal} within ${timeoutMs} ms (exit ${r.exitCode}): ${r.stderr.trim()}`,
      );
    this.execIds.delete(d.name);
  }

  async startDaemon(name?: DaemonName, options: { timeoutMs?: number } = {}): Promise<void> {
    const d = this.spec(name);
    if (await this.isDaemonRunning(d.name)) throw new TestbedError('TESTBED_START_FAILED', `the ${d.name} daemon in ${this.name} already runs; stop it first`);
    await this.spawnDaemon(d.name);
    await this.waitReady(d.name, Date.now() + (options.timeoutMs ?? 30_000));
  }

  /** Waits until a daemon answers its protocol (and `extraReady`), failing fast if it exited. */
  async waitReady(name: DaemonName, deadline: number): Promise<void> {
    const d = this.spec(name);
    const tail = async () => `--- ${this.name} (last 40 lines)\n${await this.logs({ tail: 40 })}`;
    let attempt = 0;
    await until(
      `the ${d.name} daemon in ${this.name} (${this.address})`,
      deadline,
      async () => {
        const execId = this.execIds.get(d.name);
        // Whether the daemon died is asked of dockerd every 5th poll (250 ms), not on every one.
        if (execId && attempt++ % 5 === 4) {
          const s = await execState(this.docker, execId);
          if (!s.running) {
            throw new TestbedError(
              'TESTBED_START_FAILED',
              `the ${d.name} daemon in ${this.name} exited with ${s.exitCode} while starting; its log tail is in the error output`,
              {
                output: { stderr: await tail(), exitCode: s.exitCode },
              },
            );
          }
        }
        return this.probe(d);
      },
      tail,
    );
    if (this.extraReady) await this.extraReady(this, d.name, deadline);
  }

  /** One readiness probe by the daemon's protocol. */
  async probe(d: DaemonSpec): Promise<boolean> {
    if ('http' in d.probe) return httpOk(`http://${this.address}:${d.probe.http.port}${d.probe.http.path}`);
    return (await probeGrpcHealth(`${this.address}:${d.probe.grpc.port}`, d.probe.grpc.service, 1000)) === 'SERVING';
  }
}

/** Docker's multiplexed log format (8-byte frame headers) to text; plain text passes through. */
export function demuxLog(buf: Buffer | string): string {
  if (typeof buf === 'string') return buf;
  let out = '';
  let i = 0;
  while (i + 8 <= buf.length && (buf[i] === 1 || buf[i] === 2) && buf[i + 1] === 0) {
    const size = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + size).toString();
    i += 8 + size;
  }
  return i === 0 ? buf.toString() : out + buf.subarray(i).toString();
}
