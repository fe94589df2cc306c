import { closeSync, createWriteStream, openSync, statSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type Docker from 'dockerode';

// A task's stdout and stderr, read back from the daemon (`GET /containers/{id}/logs?follow=1`) and
// appended to the sandbox's `stdout` and `stderr` files, as Mesos's executor writes them. Reading
// the daemon's log (rather than attaching) means nothing is lost between create and start, and a
// new agent can continue after a restart: it reads the log from the start again and skips the
// bytes the files already hold. The same trick carries the copy over a restart of the daemon
// (`--live-restore` keeps the container running while the daemon is away, but ends every log
// stream): followLogs() opens the log again once the daemon answers and skips what is copied.

export interface LogPump {
  /** Resolves once the log stream ended (the container exited) and both files are flushed. */
  readonly done: Promise<void>;
  /** Stops reading (the agent goes away; the container keeps running). Resolves when flushed. */
  close(): Promise<void>;
}

/** Creates the sandbox's `stdout` and `stderr` files if missing (the task sees them at once, as under Mesos). */
export function touchSandboxLogs(sandbox: string): void {
  for (const name of ['stdout', 'stderr']) closeSync(openSync(join(sandbox, name), 'a'));
}

/** Sizes of the sandbox's `stdout` and `stderr` files (0 when missing). */
export function sandboxLogSizes(sandbox: string): { stdout: number; stderr: number } {
  const size = (name: string) => {
    try {
      return statSync(join(sandbox, name)).size;
    } catch {
      return 0;
    }
  };
  return { stdout: size('stdout'), stderr: size('stderr') };
}

/** A writable that drops the first `skip` bytes and appends the rest to `file`. */
function skipping(file: WriteStream, skip: number): Writable {
  let left = skip;
  return new Writable({
    write(chunk: Buffer, _enc, callback) {
      if (left >= chunk.length) {
        left -= chunk.length;
        callback();
        return;
      }
      const rest = left > 0 ? chunk.subarray(left) : chunk;
      left = 0;
      file.write(rest, callback);
    },
  });
}

/** Ends `w` and resolves once everything written to it is flushed (never rejects). */
function ended(w: Writable, event: 'finish' | 'close'): Promise<void> {
  return new Promise((resolve) => {
    if (w.destroyed || (event === 'finish' ? w.writableFinished : (w as WriteStream).closed)) return resolve();
    w.once(event, () => resolve());
    w.once('error', () => resolve());
    w.end();
  });
}

/**
 * Starts streaming the container's log into `<sandbox>/stdout` and `<sandbox>/stderr`, skipping
 * the first `skip.stdout` / `skip.stderr` bytes of each stream (what an earlier agent already wrote).
 */
async function startLogPump(
  docker: Docker,
  container: Docker.Container,
  sandbox: string,
  skip: { stdout: number; stderr: number } = { stdout: 0, stderr: 0 },
): Promise<LogPump> {
  const stream = (await container.logs({ follow: true, stdout: true, stderr: true })) as unknown as NodeJS.ReadableStream & {
    destroy(): void;
  };
  const out = createWriteStream(join(sandbox, 'stdout'), { flags: 'a' });
  const err = createWriteStream(join(sandbox, 'stderr'), { flags: 'a' });
  const stdout = skipping(out, skip.stdout);
  const stderr = skipping(err, skip.stderr);
  docker.modem.demuxStream(stream, stdout, stderr);
  let over = false;
  const done = new Promise<void>((resolve) => {
    // The skipping writables may still hold chunks: flush them before ending the files.
    const end = () => {
      if (over) return;
      over = true;
      void Promise.all([ended(stdout, 'finish'), ended(stderr, 'finish')])
        .then(() => Promise.all([ended(out, 'close'), ended(err, 'close')]))
        .then(() => resolve());
    };
    stream.once('end', end);
    stream.once('close', end);
    stream.once('error', end);
  });
  return {
    done,
    close: async () => {
      stream.destroy();
      await done;
    },
  };
}

/** Bytes of the sandbox's files: `stdout` and `stderr`. */
export interface LogSizes {
  stdout: number;
  stderr: number;
}

/** Options of {@link followLogs}. */
export interface FollowLogsOptions {
  /**
   * Sizes of the sandbox files when the container was created: the daemon's log starts there, so
   * a reopened stream skips `size now - base` bytes of each.
   */
  base: LogSizes;
  /** Whether the container runs: true, false, or undefined while the daemon does not answer. */
  running(): Promise<boolean | undefined>;
  /** Pause between attempts while the daemon does not answer. Default 1000 ms. */
  retryMs?: number;
  /** A stream that could not be opened (logged by the caller; the copy goes on trying). */
  onError?(err: unknown): void;
}

/**
 * Copies the container's log into the sandbox until the container has stopped and its whole log is
 * in the files, across any number of broken streams (a restarted daemon). Each round asks whether
 * the container runs, then follows its log from where the files end; a round that began with the
 * container stopped reads the rest of the log and is the last. `done` resolves after that last
 * round (or close()); close() also stops the attempts while the daemon is away.
 */
export function followLogs(docker: Docker, container: Docker.Container, sandbox: string, options: FollowLogsOptions): LogPump {
  const retryMs = options.retryMs ?? 1000;
  let stopped = false;
  let current: LogPump | undefined;
  let wake: (() => void) | undefined;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  const skip = (): LogSizes => {
    const now = sandboxLogSizes(sandbox);
    return { stdout: Math.max(0, now.stdout - options.base.stdout), stderr: Math.max(0, now.stderr - options.base.stderr) };
  };
  const done = (async () => {
    while (!stopped) {
      const running = await options.running();
      if (stopped) return;
      if (running === undefined) {
        await pause(retryMs);
        continue;
      }
      const opened = Date.now();
      try {
        current = await startLogPump(docker, container, sandbox, skip());
        if (stopped) await current.close();
        await current.done;
      } catch (err) {
        options.onError?.(err);
        if (!running) return;
        await pause(retryMs);
        continue;
      }
      if (!running) return;
      // A stream of a running container that ends at once again and again must not spin.
      if (Date.now() - opened < 100) await pause(100);
    }
  })();
  return {
    done,
    close: async () => {
      stopped = true;
      wake?.();
      await current?.close();
      await done;
    },
  };
}
