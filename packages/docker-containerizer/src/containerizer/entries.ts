import type { ExecutorStatus, Termination } from '@ippc/core';
import { TaskState, TaskStatus_Source, type ContainerInfo, type TaskInfo } from '@ippc/proto';
import { containerName } from '../labels.js';
import type { DockerContext, Entry } from './context.js';

// The table of containers: an entry from launch (or recover) to the end, then the termination
// alone, kept for wait(); and the statuses the containerizer sends as Mesos's docker executor.

// Terminations remembered for wait() after the container is gone.
const ENDED_KEPT = 1024;

export function newEntry(
  ctx: DockerContext,
  id: string,
  task: TaskInfo,
  containerInfo: ContainerInfo | undefined,
  sandbox: string,
  sendStatus?: (s: ExecutorStatus) => void,
): Entry {
  let markRunning!: () => void;
  let settle!: (t: Termination) => void;
  const entry: Entry = {
    id,
    name: containerName(id),
    task,
    containerInfo,
    sandbox,
    sendStatus,
    phase: 'launching',
    killed: false,
    running: new Promise<void>((r) => (markRunning = r)),
    markRunning: () => markRunning(),
    termination: new Promise<Termination>((r) => (settle = r)),
    settle: (t) => settle(t),
    abort: new AbortController(),
  };
  ctx.live.set(id, entry);
  return entry;
}

export function send(ctx: DockerContext, entry: Entry, status: ExecutorStatus): void {
  if (!entry.sendStatus || ctx.closed) return;
  try {
    entry.sendStatus({ source: TaskStatus_Source.SOURCE_EXECUTOR, ...status });
  } catch (err) {
    ctx.log.error({ containerId: entry.id, err }, 'sendStatus threw');
  }
}

/** Records the end of a container: terminal status (as the executor would send it), wait() resolved. */
export function finish(ctx: DockerContext, entry: Entry, termination: Termination): void {
  const { live, ended, log } = ctx;
  if (entry.terminated) return;
  entry.terminated = termination;
  entry.phase = 'terminated';
  entry.markRunning();
  live.delete(entry.id);
  ended.set(entry.id, termination);
  if (ended.size > ENDED_KEPT) ended.delete(ended.keys().next().value as string);
  log.info({ containerId: entry.id, state: TaskState[termination.state], message: termination.message }, 'container terminated');
  send(ctx, entry, { state: termination.state, message: termination.message, reason: termination.reason });
  entry.settle(termination);
}

export function fail(ctx: DockerContext, entry: Entry, message: string): void {
  finish(ctx, entry, { state: TaskState.TASK_FAILED, message });
}
