import type Docker from 'dockerode';
import { sleep, within, type Termination } from '@ippc/core';
import { TaskState, TaskStatus_Reason } from '@ippc/proto';
import { daemonMessage, daemonStatus } from '../errors.js';
import { daemon, INSPECT_TIMEOUT_MS, type DockerContext, type Entry } from './context.js';
import { finish } from './entries.js';
import { stopForwarding } from './host-ports.js';
import { removeContainer } from './remove.js';

// How long to keep trying `wait` while the daemon does not answer before reporting
// `Failed to get exit status of container` (Mesos's message for a run without exit status).
const WAIT_RETRIES = 30;
const WAIT_RETRY_MS = 1_000;
// How long a terminated container's log may take to drain into the sandbox.
const LOG_DRAIN_MS = 5_000;

/** Waits for the container to exit (long poll), then reports and removes it. */
export function watch(ctx: DockerContext, entry: Entry): void {
  const { docker, log } = ctx;
  entry.exiting = (async () => {
    const container = docker.getContainer(entry.dockerId!);
    let exitCode: number | undefined;
    let gone = false;
    for (let failures = 0; ;) {
      // One abort per attempt: the entry's (close, destroy) or the daemon coming back, whose
      // restart left this long poll hanging (see daemon-watch.ts).
      const attempt = new AbortController();
      const stop = () => attempt.abort();
      entry.abort.signal.addEventListener('abort', stop, { once: true });
      let onAgain!: () => void;
      const again = new Promise<'again'>((resolve) => (onAgain = () => resolve('again')));
      const unsubscribe = daemon(ctx).onReconnect(() => {
        attempt.abort();
        onAgain();
      });
      try {
        const waited = container.wait({ abortSignal: attempt.signal } as Docker.ContainerWaitOptions) as Promise<{ StatusCode?: number }>;
        const result = await Promise.race([waited, again]);
        if (result === 'again') {
          waited.catch(() => undefined);
          log.info({ containerId: entry.id }, 'waiting on the container again after the daemon came back');
          continue;
        }
        exitCode = result.StatusCode;
        break;
      } catch (err) {
        if (ctx.closed || entry.abort.signal.aborted) return;
        // Aborted by the daemon's return (the race may see the rejection first): wait again.
        if (attempt.signal.aborted) continue;
        if (daemonStatus(err) === 404) {
          gone = true;
          break;
        }
        if (++failures >= WAIT_RETRIES) break;
        log.warn({ containerId: entry.id, err: daemonMessage(err) }, 'wait failed; retrying');
        await sleep(WAIT_RETRY_MS, entry.abort.signal);
      } finally {
        unsubscribe();
        entry.abort.signal.removeEventListener('abort', stop);
      }
    }
    if (ctx.closed) return;
    await exited(ctx, entry, exitCode, gone);
  })();
}

/**
 * Reports a container that exited (`exitCode` undefined: unknown, `gone`: removed by someone) once
 * its log is in the sandbox, and removes it and the forwarding of its host ports.
 */
export async function exited(ctx: DockerContext, entry: Entry, exitCode: number | undefined, gone = false): Promise<void> {
  // Mesos sends the terminal status only after TASK_RUNNING (or after giving up on inspect).
  await within(entry.running, INSPECT_TIMEOUT_MS);
  if (entry.logs) await within(entry.logs.done, LOG_DRAIN_MS);
  // Past the drain time (the daemon is away): stop trying to copy the rest.
  await entry.logs?.close();
  if (entry.dockerId) await removeContainer(ctx, entry.dockerId);
  await stopForwarding(ctx, entry);
  let termination: Termination;
  if (exitCode === undefined) {
    termination = gone
      ? { state: TaskState.TASK_FAILED, reason: TaskStatus_Reason.REASON_EXECUTOR_TERMINATED, message: 'Executor terminated' }
      : { state: TaskState.TASK_FAILED, message: 'Failed to get exit status of container' };
    if (entry.killed) termination = { ...termination, state: TaskState.TASK_KILLED };
  } else {
    const state = entry.killed ? TaskState.TASK_KILLED : exitCode === 0 ? TaskState.TASK_FINISHED : TaskState.TASK_FAILED;
    termination = { state, message: `Container exited with status ${exitCode}`, exitCode };
  }
  // The launch gave up on it (its host ports could not be forwarded): that is how it ended.
  finish(ctx, entry, entry.failure ?? termination);
}
