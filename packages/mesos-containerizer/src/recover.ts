import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { processAlive, type ContainerConfig, type ContainerState, type KnownContainer } from '@ippc/core';
import { containerIdToString } from '@ippc/mesos';
import { ContainerID, ContainerInfo, ExecutorInfo, TaskState, TaskStatus_Reason } from '@ippc/proto';
import { containersOnDisk, readJson, runDirOf, type Checkpoint } from './checkpoint.js';
import { track, type Container, type ContainerizerContext } from './container.js';
import { cleanup, release } from './destroy.js';
import { depth } from './nested.js';
import { killGroup, startTime } from './processes.js';
import { watchOrphaned } from './reap.js';
import { NOT_STARTED_EXIT_CODE } from './supervisor.js';
import { termination, type ExitStatus } from './termination.js';

/** The containerizer's `recover()` (its contract is on `MesosContainerizer.recover`). */
export async function recover(ctx: ContainerizerContext, name: string, known: KnownContainer[]): Promise<void> {
  await mkdir(ctx.root, { recursive: true });
  // Parents before their nested containers: a nested container is recovered only under a parent that runs.
  const mine = new Map(
    known
      .filter((k) => k.containerizer === name)
      .sort((a, b) => depth(a.containerId) - depth(b.containerId))
      .map((k) => [containerIdToString(k.containerId), k]),
  );
  const onDisk = new Map((await containersOnDisk(ctx.root)).map((id) => [containerIdToString(id), id]));
  const states: ContainerState[] = [];
  const orphans: Container[] = [];
  const parentGone: Container[] = [];

  for (const [id, k] of mine) {
    const parent = k.containerId.parent ? ctx.containersById.get(containerIdToString(k.containerId.parent)) : undefined;
    if (!k.containerId.parent || (parent && !parent.exit)) {
      states.push(await recoverKnown(ctx, id, k, onDisk.has(id)));
      continue;
    }
    const c = await recoverParentGone(ctx, id, k);
    parentGone.push(c);
    states.push({ containerId: c.containerId, config: c.config });
  }
  for (const [id, containerId] of onDisk) {
    if (!mine.has(id)) orphans.push(await readOrphan(ctx, id, containerId));
  }
  for (const iso of ctx.isolators)
    await iso.recover(
      states,
      orphans.map((o) => o.containerId),
    );
  for (const c of parentGone) await release(ctx, c).catch((err: Error) => ctx.log.error({ containerId: c.id, err: err.message }, 'cleanup failed'));
  // Nested orphans before their parents, whose run directories hold theirs.
  for (const o of orphans.sort((a, b) => depth(b.containerId) - depth(a.containerId))) {
    ctx.log.warn({ containerId: o.id, pid: o.pid }, 'destroying an orphan container');
    if (o.pid !== undefined) killGroup(o.pid, 'SIGKILL');
    o.exit = {};
    o.resolve({ state: TaskState.TASK_KILLED, message: 'Orphan container destroyed on recovery' });
    await cleanup(ctx, o).catch((err: Error) => ctx.log.error({ containerId: o.id, err: err.message }, 'orphan cleanup failed'));
  }
}

/**
 * A known nested container whose parent is gone (unknown, or ended while the agent was down): its
 * processes are killed, its end is reported and its resources are released after the isolators
 * recovered; it stays known (so `wait()` answers) until it is destroyed, or its parent is.
 */
async function recoverParentGone(ctx: ContainerizerContext, id: string, k: KnownContainer): Promise<Container> {
  const c = track(ctx, id, k.containerId, configOf(k), runDirOf(ctx.root, k.containerId));
  const pidInfo = await readJson<{ pid: number; startTime?: string }>(join(c.runDir, 'pid'));
  if (pidInfo) {
    c.pid = pidInfo.pid;
    if (processAlive(pidInfo.pid) && (pidInfo.startTime === undefined || (await startTime(pidInfo.pid)) === pidInfo.startTime)) {
      killGroup(pidInfo.pid, 'SIGKILL');
      // Its supervisor records the end in the run directory: let it finish before that goes.
      for (let i = 0; i < 100 && !existsSync(join(c.runDir, 'status')); i++) await new Promise((r) => setTimeout(r, 20));
    }
  }
  c.exit = {};
  const parent = containerIdToString(k.containerId.parent!);
  c.resolve({
    state: TaskState.TASK_FAILED,
    reason: TaskStatus_Reason.REASON_EXECUTOR_TERMINATED,
    message: `Abnormal executor termination: parent container ${parent} is gone`,
  });
  ctx.log.warn({ containerId: id, parent }, 'the parent of a nested container is gone: its processes are killed');
  return c;
}

function configOf(k: KnownContainer): ContainerConfig {
  return {
    containerId: k.containerId,
    executor: k.executor,
    ...(k.containerInfo ? { containerInfo: k.containerInfo } : {}),
    sandboxDirectory: k.sandboxDirectory,
  };
}

/** A container the agent knows: still running (watched again), ended while the agent was down, or lost. */
async function recoverKnown(ctx: ContainerizerContext, id: string, k: KnownContainer, onDisk: boolean): Promise<ContainerState> {
  const runDir = runDirOf(ctx.root, k.containerId);
  const config = configOf(k);
  const c = track(ctx, id, k.containerId, config, runDir);
  if (!onDisk) {
    c.exit = {};
    c.resolve({
      state: TaskState.TASK_FAILED,
      reason: TaskStatus_Reason.REASON_EXECUTOR_TERMINATED,
      message: 'Abnormal executor termination: unknown container',
    });
    return { containerId: k.containerId, config };
  }
  const pidInfo = await readJson<{ pid: number; startTime?: string }>(join(runDir, 'pid'));
  const exit = await readJson<ExitStatus>(join(runDir, 'status'));
  const started = await readFile(join(runDir, 'started'), 'utf8').then(
    () => true,
    () => false,
  );
  if (pidInfo) c.pid = pidInfo.pid;
  const live = pidInfo && !exit && processAlive(pidInfo.pid) && (pidInfo.startTime === undefined || (await startTime(pidInfo.pid)) === pidInfo.startTime);
  if (live) {
    watchOrphaned(c, ctx.reapMs);
    ctx.log.info({ containerId: id, pid: pidInfo.pid }, 'recovered a running container');
  } else if (exit && (started || exit.exitCode !== NOT_STARTED_EXIT_CODE)) {
    c.exit = exit;
    c.resolve(termination(exit, false));
    ctx.log.info({ containerId: id, exit }, 'container ended while the agent was down');
  } else {
    c.exit = exit ?? {};
    if (pidInfo) killGroup(pidInfo.pid, 'SIGKILL');
    c.resolve({
      state: TaskState.TASK_FAILED,
      reason: TaskStatus_Reason.REASON_CONTAINER_LAUNCH_FAILED,
      message: 'Failed to launch container: the agent restarted during the launch',
    });
  }
  return { containerId: k.containerId, config, ...(live ? { pid: pidInfo.pid } : {}) };
}

/** A container on disk that the agent does not know: tracked from its checkpoint, to be destroyed. */
async function readOrphan(ctx: ContainerizerContext, id: string, onDisk: ContainerID): Promise<Container> {
  const runDir = runDirOf(ctx.root, onDisk);
  const cp = await readJson<Checkpoint>(join(runDir, 'config.json'));
  const containerId = cp ? ContainerID.fromJSON(cp.containerId) : onDisk;
  const config: ContainerConfig = {
    containerId,
    executor: cp ? ExecutorInfo.fromJSON(cp.executor) : { executorId: { value: id }, resources: [] },
    ...(cp?.containerInfo ? { containerInfo: ContainerInfo.fromJSON(cp.containerInfo) } : {}),
    sandboxDirectory: cp?.sandboxDirectory ?? '',
  };
  const c = track(ctx, id, containerId, config, runDir);
  const pidInfo = await readJson<{ pid: number }>(join(runDir, 'pid'));
  if (pidInfo) c.pid = pidInfo.pid;
  return c;
}
