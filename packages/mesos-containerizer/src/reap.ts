import { watch } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from '@ippc/core';
import { TaskState, TaskStatus_Reason } from '@ippc/proto';
import { readJson } from './checkpoint.js';
import type { Container } from './container.js';
import { killGroup } from './processes.js';
import { termination, type ExitStatus } from './termination.js';

// How the containerizer learns that a task ended: the supervisor's `<run>/status`, read when the
// supervisor exits (containers it launched) or on a watch and a poll (containers found by recover).

/** Reads the supervisor's verdict; resolves `wait()` once. */
export async function reap(c: Container): Promise<void> {
  if (c.exit) return;
  const status = await readJson<ExitStatus>(join(c.runDir, 'status'));
  if (!status) {
    if (c.pid !== undefined && processAlive(c.pid)) return;
    // The supervisor is gone too (killed, or the machine's pid 1 reaped it oddly): the end is unknown.
    c.exit = {};
    stopWatching(c);
    c.resolve({
      state: c.killed ? TaskState.TASK_KILLED : TaskState.TASK_FAILED,
      reason: TaskStatus_Reason.REASON_EXECUTOR_TERMINATED,
      message: 'Abnormal executor termination: the container ended and its exit status was lost',
    });
    return;
  }
  c.exit = status;
  stopWatching(c);
  // Whatever the task left in its process group goes with it.
  if (c.pid !== undefined) killGroup(c.pid, 'SIGKILL');
  c.resolve(termination(status, c.killed));
}

/** Stops the watch and the poll of {@link watchOrphaned}. */
export function stopWatching(c: Container): void {
  c.watcher?.close();
  c.watcher = undefined;
  if (c.poll) clearInterval(c.poll);
  c.poll = undefined;
}

/** Watches a container this process did not start (after recovery). */
export function watchOrphaned(c: Container, reapMs: number): void {
  try {
    c.watcher = watch(c.runDir, (_event, file) => {
      if (file === 'status') void reap(c);
    });
    c.watcher.on('error', () => undefined);
  } catch {
    // The poll below covers it.
  }
  c.poll = setInterval(() => void reap(c), reapMs);
  c.poll.unref();
}
