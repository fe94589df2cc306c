import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { ContainerizerError, messageOf, writeAtomic, type ContainerConfig, type LaunchSpec, type Namespace } from '@ippc/core';
import { containerIdToString } from '@ippc/mesos';
import { TaskState, TaskStatus_Reason, type ExecutorInfo, type TaskInfo } from '@ippc/proto';
import { checkpointConfig, runDirOf } from './checkpoint.js';
import { supports, track, type ContainerizerContext } from './container.js';
import { cleanup } from './destroy.js';
import { joinParentArgv, parentFor } from './nested.js';
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
  // A nested container joins its running parent's network and UTS namespaces (checked before anything is written).
  const parent = spec.containerId.parent ? parentFor(ctx, spec.containerId.parent) : undefined;
  const joinArgv = parent ? await joinParentArgv(parent.pid) : [];
  const runDir = runDirOf(ctx.root, spec.containerId);
  const config: ContainerConfig = {
    containerId: spec.containerId,
    executor: spec.executor,
    ...(spec.containerInfo ? { containerInfo: spec.containerInfo } : {}),
    sandboxDirectory: spec.sandboxDirectory,
  };
  const c = track(ctx, id, spec.containerId, config, runDir);
  const fail = async (message: string, cause?: unknown): Promise<never> => {
    // The launch failure is what the framework must see; a failing cleanup is logged (by
    // cleanup()) and must neither hide it nor leave the container's termination unresolved.
    await cleanup(ctx, c).catch(() => undefined);
    c.resolve({ state: TaskState.TASK_FAILED, reason: TaskStatus_Reason.REASON_CONTAINER_LAUNCH_FAILED, message });
    throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', message, { cause });
  };

  await mkdir(runDir, { recursive: true });
  await checkpointConfig(runDir, spec);

  // prepare: validation and the launch decision. A throw leaves nothing behind.
  const prepared = await prepareIsolators(ctx, config).catch((err: unknown) => fail(messageOf(err), err));
  const child = await spawnSupervisor(ctx, spec, runDir, [...joinArgv, ...taskArgv(argv, prepared.namespaces)], prepared.environment);
  c.child = child;
  const report = child.stdio[3] as Readable;
  const control = child.stdio[4] as Writable;
  control.on('error', () => undefined);

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
  const started = await startTime(pid);
  await writeAtomic(join(runDir, 'pid'), JSON.stringify({ pid, startTime: started }));

  for (const iso of ctx.isolators) {
    try {
      await iso.isolate(spec.containerId, pid);
    } catch (err) {
      control.end('abort\n');
      await waitSupervisor(child);
      killGroup(pid, 'SIGKILL');
      return fail(messageOf(err), err);
    }
  }

  child.on('exit', () => void reap(c));
  spec.sendStatus({ state: TaskState.TASK_STARTING });
  control.end('go\n');
  report.destroy();
  await writeAtomic(join(runDir, 'started'), String(Date.now()));
  spec.sendStatus({ state: TaskState.TASK_RUNNING });
  ctx.log.info({ containerId: id, pid, namespaces: [...prepared.namespaces], ...(parent ? { parent: parent.id } : {}) }, 'container running');
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

/** Starts the supervisor in its own session, output on the sandbox's `stdout` and `stderr`; fds 3 and 4 are the launch channels. */
async function spawnSupervisor(
  ctx: ContainerizerContext,
  spec: LaunchSpec,
  runDir: string,
  taskArgv: string[],
  environment: Record<string, string>,
): Promise<ChildProcess> {
  const stdout = await open(join(spec.sandboxDirectory, 'stdout'), 'a');
  const stderr = await open(join(spec.sandboxDirectory, 'stderr'), 'a');
  let child: ChildProcess;
  try {
    child = spawn(ctx.perl, ['-e', SUPERVISOR, runDir, ...taskArgv], {
      cwd: spec.sandboxDirectory,
      detached: true,
      env: { PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...spec.environment, ...environment },
      stdio: ['ignore', stdout.fd, stderr.fd, 'pipe', 'pipe'],
    });
  } finally {
    await stdout.close();
    await stderr.close();
  }
  return child;
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
