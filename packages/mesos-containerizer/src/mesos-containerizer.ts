import { spawn, type ChildProcess } from 'node:child_process';
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, open, readdir, readFile, rm, writeFile, rename } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import {
  ContainerizerError,
  processAlive,
  silentLogger,
  type ContainerConfig,
  type Containerizer,
  type ContainerState,
  type Isolator,
  type KnownContainer,
  type LaunchSpec,
  type Logger,
  type Namespace,
  type NetworkUsage,
  type Termination,
} from '@ippc/core';
import {
  ContainerID,
  ContainerInfo,
  ContainerInfo_Type,
  ExecutorInfo,
  TaskState,
  TaskStatus_Reason,
  type ContainerStatus,
  type TaskInfo,
} from '@ippc/proto';
import { HOLDER, NOT_STARTED_EXIT_CODE, SUPERVISOR } from './supervisor.js';

// The Mesos containerizer, host-process part: a task (or its executor's command) runs as a
// process on the agent, supervised so that it survives the agent; isolators decide whether it
// gets new namespaces and attach what it needs to the held process before it runs.

export interface MesosContainerizerOptions {
  /**
   * Where per-container checkpoints live (`<runtimeDir>/containers/<id>/`): pid, start time,
   * configuration, exit status. Must survive an agent restart (Mesos: `--runtime_dir`).
   */
  runtimeDir: string;
  /** Isolators, asked in order (prepare, isolate, status) and cleaned up in reverse. Default none. */
  isolators?: Isolator[];
  /** Grace period between SIGTERM and SIGKILL when `destroy` is given none. Default 3000 ms. */
  defaultGracePeriodMs?: number;
  /** How often containers this process did not start (found by `recover`) are checked. Default 500 ms. */
  reapIntervalMs?: number;
  /** How long the task's first process may take to report itself. Default 10000 ms. */
  launchTimeoutMs?: number;
  /** The perl used for supervisors. Default `perl` on PATH. */
  perl?: string;
  log?: Logger;
}

/** What `<run>/status` says: exit code or signal number. */
interface ExitStatus {
  exitCode?: number;
  signal?: number;
}

interface Container {
  id: string;
  containerId: ContainerID;
  runDir: string;
  config: ContainerConfig;
  pid?: number;
  /** Set once the process ended. */
  exit?: ExitStatus;
  /** True while destroy() kills it: the termination is then TASK_KILLED. */
  killed: boolean;
  termination: Promise<Termination>;
  resolve(t: Termination): void;
  child?: ChildProcess;
  watcher?: FSWatcher;
  poll?: NodeJS.Timeout;
  destroying?: Promise<boolean>;
}

/** `parent.child` for nested ids (Mesos's stringify). */
export function containerIdString(id: ContainerID): string {
  return id.parent ? `${containerIdString(id.parent)}.${id.value ?? ''}` : (id.value ?? '');
}

const SIGNAL_NAMES: Record<number, string> = Object.fromEntries(Object.entries(constants.signals).map(([name, n]) => [n, name]));
/** strsignal(3) wording, which Mesos's WSTRINGIFY uses in its messages. */
const SIGNAL_TEXT: Record<string, string> = {
  SIGHUP: 'Hangup',
  SIGINT: 'Interrupt',
  SIGQUIT: 'Quit',
  SIGILL: 'Illegal instruction',
  SIGTRAP: 'Trace/breakpoint trap',
  SIGABRT: 'Aborted',
  SIGBUS: 'Bus error',
  SIGFPE: 'Floating point exception',
  SIGKILL: 'Killed',
  SIGUSR1: 'User defined signal 1',
  SIGSEGV: 'Segmentation fault',
  SIGUSR2: 'User defined signal 2',
  SIGPIPE: 'Broken pipe',
  SIGALRM: 'Alarm clock',
  SIGTERM: 'Terminated',
};

/** Mesos's `WSTRINGIFY`: `exited with status N` / `terminated with signal Killed`. */
export function describeExit(exit: ExitStatus): string {
  if (exit.signal !== undefined) {
    const name = SIGNAL_NAMES[exit.signal] ?? `SIG${exit.signal}`;
    return `terminated with signal ${SIGNAL_TEXT[name] ?? name}`;
  }
  return `exited with status ${exit.exitCode ?? -1}`;
}

function termination(exit: ExitStatus, killed: boolean): Termination {
  const message = `Command ${describeExit(exit)}`;
  const signal = exit.signal !== undefined ? SIGNAL_NAMES[exit.signal] : undefined;
  const base = { message, ...(exit.exitCode !== undefined ? { exitCode: exit.exitCode } : {}), ...(signal ? { signal } : {}) };
  if (killed) return { state: TaskState.TASK_KILLED, ...base };
  if (exit.exitCode === 0) return { state: TaskState.TASK_FINISHED, ...base };
  return { state: TaskState.TASK_FAILED, ...base };
}

/** Field 22 of /proc/<pid>/stat: start time in clock ticks, to tell a pid from a reused one. */
async function startTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

async function writeAtomic(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text);
  await rename(`${path}.tmp`, path);
}

function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}


async function tail(path: string, bytes = 2048): Promise<string> {
  try {
    const text = await readFile(path, 'utf8');
    return text.slice(-bytes).trim();
  } catch {
    return '';
  }
}

/** The argv a task runs: `sh -c value` for a shell command, `value args[1..]` otherwise (Mesos). */
export function commandArgv(task: TaskInfo, executor: ExecutorInfo): string[] {
  const command = task.command ?? executor.command;
  if (!command?.value) throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', 'The task has no command to run: set TaskInfo.command.value');
  if (command.shell ?? true) return ['/bin/sh', '-c', command.value];
  return [command.value, ...(command.arguments ?? []).slice(1)];
}

interface Checkpoint {
  containerId: unknown;
  executor: unknown;
  containerInfo?: unknown;
  sandboxDirectory: string;
}

/**
 * The Mesos containerizer. `supports` any container without ContainerInfo or with type MESOS.
 * See the package README for the exact launch, kill and recovery behaviour.
 */
export class MesosContainerizer implements Containerizer {
  readonly name = 'mesos';
  private readonly root: string;
  private readonly isolators: Isolator[];
  private readonly log: Logger;
  private readonly grace: number;
  private readonly reapMs: number;
  private readonly launchTimeoutMs: number;
  private readonly perl: string;
  private readonly containersById = new Map<string, Container>();

  constructor(options: MesosContainerizerOptions) {
    this.root = join(options.runtimeDir, 'containers');
    this.isolators = options.isolators ?? [];
    this.log = options.log ?? silentLogger();
    this.grace = options.defaultGracePeriodMs ?? 3000;
    this.reapMs = options.reapIntervalMs ?? 500;
    this.launchTimeoutMs = options.launchTimeoutMs ?? 10_000;
    this.perl = options.perl ?? 'perl';
  }

  supports(containerInfo: ContainerInfo | undefined): boolean {
    return !containerInfo || (containerInfo.type ?? ContainerInfo_Type.MESOS) === ContainerInfo_Type.MESOS;
  }

  containers(): string[] {
    return [...this.containersById.keys()];
  }

  private track(id: string, containerId: ContainerID, config: ContainerConfig, runDir: string): Container {
    let resolve!: (t: Termination) => void;
    const promise = new Promise<Termination>((r) => (resolve = r));
    const c: Container = { id, containerId, config, runDir, killed: false, termination: promise, resolve };
    this.containersById.set(id, c);
    return c;
  }

  async launch(spec: LaunchSpec): Promise<void> {
    const id = containerIdString(spec.containerId);
    if (this.containersById.has(id)) throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', `Container ${id} already exists`);
    if (!this.supports(spec.containerInfo)) throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', 'The Mesos containerizer only launches MESOS containers');
    const argv = commandArgv(spec.task, spec.executor);
    const runDir = join(this.root, id);
    const config: ContainerConfig = { containerId: spec.containerId, executor: spec.executor, ...(spec.containerInfo ? { containerInfo: spec.containerInfo } : {}), sandboxDirectory: spec.sandboxDirectory };
    const c = this.track(id, spec.containerId, config, runDir);
    const fail = async (message: string, cause?: unknown): Promise<never> => {
      // The launch failure is what the framework must see; a failing cleanup is logged (by
      // cleanup()) and must neither hide it nor leave the container's termination unresolved.
      await this.cleanup(c).catch(() => undefined);
      c.resolve({ state: TaskState.TASK_FAILED, reason: TaskStatus_Reason.REASON_CONTAINER_LAUNCH_FAILED, message });
      throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', message, { cause });
    };

    await mkdir(runDir, { recursive: true });
    const checkpoint: Checkpoint = {
      containerId: ContainerID.toJSON(spec.containerId),
      executor: ExecutorInfo.toJSON(spec.executor),
      ...(spec.containerInfo ? { containerInfo: ContainerInfo.toJSON(spec.containerInfo) } : {}),
      sandboxDirectory: spec.sandboxDirectory,
    };
    await writeAtomic(join(runDir, 'config.json'), JSON.stringify(checkpoint));

    // prepare: validation and the launch decision. A throw leaves nothing behind.
    const namespaces = new Set<Namespace>();
    const environment: Record<string, string> = {};
    for (const iso of this.isolators) {
      try {
        const info = await iso.prepare(config);
        for (const ns of info?.namespaces ?? []) namespaces.add(ns);
        Object.assign(environment, info?.environment ?? {});
      } catch (err) {
        return fail((err as Error).message ?? String(err), err);
      }
    }

    const holder = ['/bin/sh', '-c', HOLDER, 'ippc-holder', ...argv];
    const nsFlags = (['net', 'uts', 'mnt'] as const).filter((n) => namespaces.has(n)).map((n) => ({ net: '--net', uts: '--uts', mnt: '--mount' })[n]);
    const taskArgv = nsFlags.length > 0 ? ['unshare', ...nsFlags, ...(namespaces.has('mnt') ? ['--propagation', 'slave'] : []), '--', ...holder] : holder;

    const stdout = await open(join(spec.sandboxDirectory, 'stdout'), 'a');
    const stderr = await open(join(spec.sandboxDirectory, 'stderr'), 'a');
    let child: ChildProcess;
    try {
      child = spawn(this.perl, ['-e', SUPERVISOR, runDir, ...taskArgv], {
        cwd: spec.sandboxDirectory,
        detached: true,
        env: { PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...spec.environment, ...environment },
        stdio: ['ignore', stdout.fd, stderr.fd, 'pipe', 'pipe'],
      });
    } finally {
      await stdout.close();
      await stderr.close();
    }
    c.child = child;
    const report = child.stdio[3] as Readable;
    const control = child.stdio[4] as Writable;
    control.on('error', () => undefined);

    // The task's first process, in its namespaces, reports its pid and waits.
    let pid: number;
    try {
      pid = await new Promise<number>((resolve, reject) => {
        let text = '';
        const timer = setTimeout(() => reject(new Error(`the task's first process did not start within ${this.launchTimeoutMs} ms`)), this.launchTimeoutMs);
        report.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          const line = /^(\d+)\n/.exec(text);
          if (line) {
            clearTimeout(timer);
            resolve(Number(line[1]));
          }
        });
        report.on('end', () => {
          clearTimeout(timer);
          reject(new Error('the task process ended before it started'));
        });
        child.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      });
    } catch (err) {
      await this.waitSupervisor(child);
      const why = (await tail(join(spec.sandboxDirectory, 'stderr'))).split('\n').filter((l) => /unshare|ippc-supervisor|cannot/.test(l)).at(-1);
      return fail(why ?? (err as Error).message, err);
    }
    c.pid = pid;
    const started = await startTime(pid);
    await writeAtomic(join(runDir, 'pid'), JSON.stringify({ pid, startTime: started }));

    for (const iso of this.isolators) {
      try {
        await iso.isolate(spec.containerId, pid);
      } catch (err) {
        control.end('abort\n');
        await this.waitSupervisor(child);
        killGroup(pid, 'SIGKILL');
        return fail((err as Error).message ?? String(err), err);
      }
    }

    child.on('exit', () => void this.reap(c));
    spec.sendStatus({ state: TaskState.TASK_STARTING });
    control.end('go\n');
    report.destroy();
    await writeAtomic(join(runDir, 'started'), String(Date.now()));
    spec.sendStatus({ state: TaskState.TASK_RUNNING });
    this.log.info({ containerId: id, pid, namespaces: [...namespaces] }, 'container running');
  }

  private waitSupervisor(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve();
      }, 5000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Reads the supervisor's verdict; resolves `wait()` once. */
  private async reap(c: Container): Promise<void> {
    if (c.exit) return;
    const status = await readJson<ExitStatus>(join(c.runDir, 'status'));
    if (!status) {
      if (c.pid !== undefined && processAlive(c.pid)) return;
      // The supervisor is gone too (killed, or the machine's pid 1 reaped it oddly): the end is unknown.
      c.exit = {};
      this.stopWatching(c);
      c.resolve({
        state: c.killed ? TaskState.TASK_KILLED : TaskState.TASK_FAILED,
        reason: TaskStatus_Reason.REASON_EXECUTOR_TERMINATED,
        message: 'Abnormal executor termination: the container ended and its exit status was lost',
      });
      return;
    }
    c.exit = status;
    this.stopWatching(c);
    // Whatever the task left in its process group goes with it.
    if (c.pid !== undefined) killGroup(c.pid, 'SIGKILL');
    c.resolve(termination(status, c.killed));
  }

  private stopWatching(c: Container): void {
    c.watcher?.close();
    c.watcher = undefined;
    if (c.poll) clearInterval(c.poll);
    c.poll = undefined;
  }

  /** Watches a container this process did not start (after recovery). */
  private watchOrphaned(c: Container): void {
    try {
      c.watcher = watch(c.runDir, (_event, file) => {
        if (file === 'status') void this.reap(c);
      });
      c.watcher.on('error', () => undefined);
    } catch {
      // The poll below covers it.
    }
    c.poll = setInterval(() => void this.reap(c), this.reapMs);
    c.poll.unref();
  }

  wait(containerId: string): Promise<Termination> {
    const c = this.containersById.get(containerId);
    if (!c) return Promise.reject(new ContainerizerError('CONTAINER_NOT_FOUND', `Unknown container ${containerId}`));
    return c.termination;
  }

  async status(containerId: string): Promise<ContainerStatus> {
    const c = this.containersById.get(containerId);
    if (!c) throw new ContainerizerError('CONTAINER_NOT_FOUND', `Unknown container ${containerId}`);
    const out: ContainerStatus = { containerId: c.containerId, networkInfos: [] };
    for (const iso of this.isolators) {
      const s = await iso.status(c.containerId);
      out.networkInfos.push(...(s.networkInfos ?? []));
      if (s.cgroupInfo) out.cgroupInfo = s.cgroupInfo;
    }
    if (c.pid !== undefined) out.executorPid = c.pid;
    return out;
  }

  async usage(containerId: string): Promise<NetworkUsage | undefined> {
    const c = this.containersById.get(containerId);
    if (!c) return undefined;
    for (const iso of this.isolators) {
      const u = await iso.usage?.(c.containerId);
      if (u) return u;
    }
    return undefined;
  }

  destroy(containerId: string, options: { gracePeriodMs?: number } = {}): Promise<boolean> {
    const c = this.containersById.get(containerId);
    if (!c) return Promise.resolve(false);
    return (c.destroying ??= this.doDestroy(c, options.gracePeriodMs ?? this.grace));
  }

  private async doDestroy(c: Container, graceMs: number): Promise<boolean> {
    if (c.pid !== undefined && !c.exit) {
      c.killed = true;
      killGroup(c.pid, 'SIGTERM');
      const timeout = <T>(p: Promise<T>, ms: number) => Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
      if (!(await timeout(c.termination, graceMs))) {
        killGroup(c.pid, 'SIGKILL');
        if (!(await timeout(c.termination, 10_000))) {
          this.log.error({ containerId: c.id, pid: c.pid }, 'container did not end after SIGKILL');
          await this.reap(c);
        }
      }
    }
    await this.cleanup(c);
    this.log.info({ containerId: c.id }, 'container destroyed');
    return true;
  }

  /** Isolators in reverse, then the checkpoint; the container is forgotten. */
  private async cleanup(c: Container): Promise<void> {
    this.stopWatching(c);
    const errors: string[] = [];
    for (const iso of [...this.isolators].reverse()) {
      try {
        await iso.cleanup(c.containerId);
      } catch (err) {
        errors.push(`${iso.name}: ${(err as Error).message}`);
      }
    }
    await rm(c.runDir, { recursive: true, force: true });
    this.containersById.delete(c.id);
    if (errors.length > 0) {
      this.log.error({ containerId: c.id, errors }, 'isolator cleanup failed');
      throw new ContainerizerError('CONTAINER_DESTROY_FAILED', `Failed to clean up container ${c.id}: ${errors.join('; ')}`);
    }
  }

  /**
   * After an agent restart: live known containers are watched again (they keep everything), known
   * ones that ended while the agent was down resolve `wait()` with how they ended, and run
   * directories nobody knows are orphans: killed and cleaned up.
   */
  async recover(known: KnownContainer[]): Promise<void> {
    await mkdir(this.root, { recursive: true });
    const mine = new Map(known.filter((k) => k.containerizer === this.name).map((k) => [containerIdString(k.containerId), k]));
    const onDisk = new Set(await readdir(this.root).catch(() => [] as string[]));
    const states: ContainerState[] = [];
    const orphans: Container[] = [];

    for (const [id, k] of mine) {
      const runDir = join(this.root, id);
      const config: ContainerConfig = { containerId: k.containerId, executor: k.executor, ...(k.containerInfo ? { containerInfo: k.containerInfo } : {}), sandboxDirectory: k.sandboxDirectory };
      const c = this.track(id, k.containerId, config, runDir);
      if (!onDisk.has(id)) {
        c.exit = {};
        c.resolve({ state: TaskState.TASK_FAILED, reason: TaskStatus_Reason.REASON_EXECUTOR_TERMINATED, message: 'Abnormal executor termination: unknown container' });
        states.push({ containerId: k.containerId, config });
        continue;
      }
      const pidInfo = await readJson<{ pid: number; startTime?: string }>(join(runDir, 'pid'));
      const exit = await readJson<ExitStatus>(join(runDir, 'status'));
      const started = await readFile(join(runDir, 'started'), 'utf8').then(() => true, () => false);
      if (pidInfo) c.pid = pidInfo.pid;
      const live = pidInfo && !exit && processAlive(pidInfo.pid) && (pidInfo.startTime === undefined || (await startTime(pidInfo.pid)) === pidInfo.startTime);
      states.push({ containerId: k.containerId, config, ...(live ? { pid: pidInfo.pid } : {}) });
      if (live) {
        this.watchOrphaned(c);
        this.log.info({ containerId: id, pid: pidInfo.pid }, 'recovered a running container');
      } else if (exit && (started || exit.exitCode !== NOT_STARTED_EXIT_CODE)) {
        c.exit = exit;
        c.resolve(termination(exit, false));
        this.log.info({ containerId: id, exit }, 'container ended while the agent was down');
      } else {
        c.exit = exit ?? {};
        if (pidInfo) killGroup(pidInfo.pid, 'SIGKILL');
        c.resolve({ state: TaskState.TASK_FAILED, reason: TaskStatus_Reason.REASON_CONTAINER_LAUNCH_FAILED, message: 'Failed to launch container: the agent restarted during the launch' });
      }
    }
    for (const id of onDisk) {
      if (mine.has(id) || id.endsWith('.tmp')) continue;
      const runDir = join(this.root, id);
      const cp = await readJson<Checkpoint>(join(runDir, 'config.json'));
      const containerId = cp ? ContainerID.fromJSON(cp.containerId) : { value: id };
      const config: ContainerConfig = {
        containerId,
        executor: cp ? ExecutorInfo.fromJSON(cp.executor) : { executorId: { value: id }, resources: [] },
        ...(cp?.containerInfo ? { containerInfo: ContainerInfo.fromJSON(cp.containerInfo) } : {}),
        sandboxDirectory: cp?.sandboxDirectory ?? '',
      };
      const c = this.track(id, containerId, config, runDir);
      const pidInfo = await readJson<{ pid: number }>(join(runDir, 'pid'));
      if (pidInfo) c.pid = pidInfo.pid;
      orphans.push(c);
    }
    for (const iso of this.isolators) await iso.recover(states, orphans.map((o) => o.containerId));
    for (const o of orphans) {
      this.log.warn({ containerId: o.id, pid: o.pid }, 'destroying an orphan container');
      if (o.pid !== undefined) killGroup(o.pid, 'SIGKILL');
      o.exit = {};
      o.resolve({ state: TaskState.TASK_KILLED, message: 'Orphan container destroyed on recovery' });
      await this.cleanup(o).catch((err: Error) => this.log.error({ containerId: o.id, err: err.message }, 'orphan cleanup failed'));
    }
  }

  /** Stops watching (for tests and shutdown); containers keep running. */
  close(): void {
    for (const c of this.containersById.values()) {
      this.stopWatching(c);
      c.child?.unref();
    }
  }
}

/** A Mesos containerizer. */
export function createMesosContainerizer(options: MesosContainerizerOptions): MesosContainerizer {
  return new MesosContainerizer(options);
}
