import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { ContainerizerError, messageOf, writeAtomicSync, type ContainerConfig, type LaunchSpec, type Namespace } from '@ippc/core';
import { containerIdToString } from '@ippc/mesos';
import { TaskState, TaskStatus_Reason, type ExecutorInfo, type TaskInfo } from '@ippc/proto';
import { checkpointConfig, runDirOf } from './checkpoint.js';
import { launchProgress, supports, track, type Container, type ContainerizerContext } from './container.js';
import { cleanup } from './destroy.js';
import { joinParentArgv, parentFor, parentRunning } from './nested.js';
import { killGroup, startTime } from './processes.js';
import { reap } from './reap.js';
import { HOLDER, SUPERVISOR } from './supervisor.js';

// Launch, Mesos's model: checkpoint, isolators' prepare, the supervisor and the task's first
// process held in its namespaces, isolators' isolate, then `go`.

/** The containerizer's `launch()`; resolves after TASK_RUNNING was sent. A failure leaves nothing behind. */
export async function launch(ctx: ContainerizerContext, spec: LaunchSpec): Promise<void> {
  const id = containerIdToString(spec.containerId);
  if (ctx.containersById.has(id)) throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', `Container ${id} already exists`);
  if (!supports(spec.containerInfo)) throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', 'The Mesos containerizer only launches MESOS containers');
  const argv = commandArgv(spec.task, spec.executor);
  // A nested container joins its parent's network and UTS namespaces (checked before anything is
  // written; a parent still launching is waited for). A top-level container reaches track() with
  // no await on the way: the agent starts a pod's nested containers right after asking for the pod.
  const parent = spec.containerId.parent ? await parentFor(ctx, spec.containerId.parent) : undefined;
  const joinArgv = parent ? await joinParentArgv(parent.pid) : [];
  const runDir = runDirOf(ctx.root, spec.containerId);
  const config: ContainerConfig = {
    containerId: spec.containerId,
    executor: spec.executor,
    ...(spec.containerInfo ? { containerInfo: spec.containerInfo } : {}),
    sandboxDirectory: spec.sandboxDirectory,
  };
  const c = track(ctx, id, spec.containerId, config, runDir);
  const progress = launchProgress();
  c.launching = progress;
  try {
    await run(ctx, spec, c, parent, { argv, joinArgv }, progress);
    progress.run();
  } catch (err) {
    progress.fail(err);
    throw err;
  }
}

/** launch() once the container is known: checkpoint, prepare, the held first process, isolate, go. */
async function run(
  ctx: ContainerizerContext,
  spec: LaunchSpec,
  c: Container,
  parent: Container | undefined,
  cmd: { argv: string[]; joinArgv: string[] },
  progress: { start(): void },
): Promise<void> {
  const fail = async (message: string, cause?: unknown): Promise<never> => {
    // The launch failure is what the framework must see; a failing cleanup is logged (by
    // cleanup()) and must neither hide it nor leave the container's termination unresolved.
    await cleanup(ctx, c).catch(() => undefined);
    c.resolve({ state: TaskState.TASK_FAILED, reason: TaskStatus_Reason.REASON_CONTAINER_LAUNCH_FAILED, message });
    throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', message, { cause });
  };

  // The launch path's small file operations are synchronous (see writeAtomicSync in @ippc/core).
  mkdirSync(c.runDir, { recursive: true });
  await checkpointConfig(c.runDir, spec);

  // prepare: validation and the launch decision. A throw leaves nothing behind.
  const prepared = await prepareIsolators(ctx, c.config).catch((err: unknown) => fail(messageOf(err), err));
  const child = await spawnSupervisor(ctx, spec, c.runDir, [...cmd.joinArgv, ...taskArgv(cmd.argv, prepared.namespaces)], prepared.environment);
  c.child = child;
  const report = child.stdio[3] as Readable;
  const control = child.stdio[4] as Writable;
  control.on('error', () => undefined);
  const abort = async (message: string, cause: unknown, pid: number): Promise<never> => {
    control.end('abort\n');
    await waitSupervisor(child);
    killGroup(pid, 'SIGKILL');
    return fail(message, cause);
  };

  // The task's first process, in its namespaces, reports its pid and waits.
  let pid: number;
  try {
    pid = await readPid(report, child, ctx.launchTimeoutMs);
  } catch (err) {
    await waitSupervisor(child);
    const why = (await tail(join(spec.sandboxDirectory, 'stderr')))
      .split('\n')
      .filter((l) => /unshare|nsenter|ippc-supervisor|cannot/.test(l))
      .at(-1);
    return fail(why ?? (err as Error).message, err);
  }
  c.pid = pid;
  progress.start();
  const started = await startTime(pid);
  writeAtomicSync(join(c.runDir, 'pid'), JSON.stringify({ pid, startTime: started }));

  // A nested container is isolated and let go only once its parent runs with its addresses.
  if (parent) await parentRunning(parent).catch((err: unknown) => abort(messageOf(err), err, pid));
  for (const iso of ctx.isolators) await iso.isolate(spec.containerId, pid).catch((err: unknown) => abort(messageOf(err), err, pid));

  child.on('exit', () => void reap(c));
  spec.sendStatus({ state: TaskState.TASK_STARTING });
  control.end('go\n');
  report.destroy();
  writeAtomicSync(join(c.runDir, 'started'), String(Date.now()));
  spec.sendStatus({ state: TaskState.TASK_RUNNING });
  ctx.log.info({ containerId: c.id, pid, namespaces: [...prepared.namespaces], ...(parent ? { parent: parent.id } : {}) }, 'container running');
}

/** Every isolator's `prepare`, in order: the union of the namespaces they ask for and their environment. */
async function prepareIsolators(
  ctx: ContainerizerContext,
  config: ContainerConfig,
): Promise<{ namespaces: Set<Namespace>; environment: Record<string, string> }> {
  const namespaces = new Set<Namespace>();
  const environment: Record<string, string> = {};
  for (const iso of ctx.isolators) {
    const info = await iso.prepare(config);
    for (const ns of info?.namespaces ?? []) namespaces.add(ns);
    Object.assign(environment, info?.environment ?? {});
  }
  return { namespaces, environment };
}

/** The argv a task runs: `sh -c value` for a shell command, `value args[1..]` otherwise (Mesos). */
export function commandArgv(task: TaskInfo, executor: ExecutorInfo): string[] {
  const command = task.command ?? executor.command;
  if (!command?.value) throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', 'The task has no command to run: set TaskInfo.command.value');
  if (command.shell ?? true) return ['/bin/sh', '-c', command.value];
  return [command.value, ...(command.arguments ?? []).slice(1)];
}

/** The task's first process: the holder, in new namespaces (`unshare`, no fork) when the isolators asked for any. */
function taskArgv(argv: string[], namespaces: Set<Namespace>): string[] {
  const holder = ['/bin/sh', '-c', HOLDER, 'ippc-holder', ...argv];
  const nsFlags = (['net', 'uts', 'mnt'] as const).filter((n) => namespaces.has(n)).map((n) => ({ net: '--net', uts: '--uts', mnt: '--mount' })[n]);
  return nsFlags.length > 0 ? ['unshare', ...nsFlags, ...(namespaces.has('mnt') ? ['--propagation', 'slave'] : []), '--', ...holder] : holder;
}

let spawnTurn: Promise<unknown> = Promise.resolve();

/**
 * Runs `fn` (a spawn) after the spawns asked before it, each in an event-loop turn of its own: a
 * spawn holds the agent's thread for its fork and exec, and a pod's own launch (its isolators'
 * I/O) must not wait behind a whole group's worth of them at once.
 */
function inTurn<T>(fn: () => T): Promise<T> {
  const turn = spawnTurn.then(() => new Promise<void>((resolve) => setImmediate(resolve))).then(fn);
  spawnTurn = turn.catch(() => undefined);
  return turn;
}

/** Starts the supervisor in its own session, output on the sandbox's `stdout` and `stderr`; fds 3 and 4 are the launch channels. */
async function spawnSupervisor(
  ctx: ContainerizerContext,
  spec: LaunchSpec,
  runDir: string,
  taskArgv: string[],
  environment: Record<string, string>,
): Promise<ChildProcess> {
  return inTurn(() => {
    const stdout = openSync(join(spec.sandboxDirectory, 'stdout'), 'a');
    const stderr = openSync(join(spec.sandboxDirectory, 'stderr'), 'a');
    try {
      return spawn(ctx.perl, ['-e', SUPERVISOR, runDir, ...taskArgv], {
        cwd: spec.sandboxDirectory,
        detached: true,
        env: { PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...spec.environment, ...environment },
        stdio: ['ignore', stdout, stderr, 'pipe', 'pipe'],
      });
    } finally {
      closeSync(stdout);
      closeSync(stderr);
    }
  });
}

/** The pid the task's first process reports on fd 3, within `timeoutMs`. */
function readPid(report: Readable, child: ChildProcess, timeoutMs: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`the task's first process did not start within ${timeoutMs} ms`)), timeoutMs);
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
}

/** Waits for the supervisor of a failed launch to end (SIGKILL after 5 s). */
function waitSupervisor(child: ChildProcess): Promise<void> {
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

/** The end of a sandbox file, where unshare and the supervisor say why a launch failed. */
async function tail(path: string, bytes = 2048): Promise<string> {
  try {
    const text = await readFile(path, 'utf8');
    return text.slice(-bytes).trim();
  } catch {
    return '';
  }
}
