import type Docker from 'dockerode';
import type { Logger } from '@ippc/core';
import { daemonMessage } from './errors.js';

// Why this exists: a `POST /containers/{id}/wait` long poll whose daemon goes away neither resolves
// nor rejects in dockerode (the connection ends after the response headers, and docker-modem never
// settles the call). With `--live-restore` the container keeps running through a restart of the
// daemon, so a wait issued before the restart would hang for ever and the task would never end.
// The daemon's event stream breaks at the same moment, and it can be reopened: this watch holds it
// open and tells waiters each time it came back, so they can issue their waits again.

export interface DaemonWatch {
  /** Calls `listener` each time the daemon answers again after its event stream broke; returns the unsubscribe. */
  onReconnect(listener: () => void): () => void;
  /** Stops watching. */
  close(): void;
}

export function watchDaemon(docker: Docker, log: Logger, options: { retryMs?: number; filters?: Record<string, string[]> } = {}): DaemonWatch {
  const retryMs = options.retryMs ?? 500;
  let closed = false;
  const listeners = new Set<() => void>();
  let stream: (NodeJS.ReadableStream & { destroy?: () => void }) | undefined;
  let wake: (() => void) | undefined;

  void (async () => {
    let lostAt: number | undefined;
    while (!closed) {
      try {
        stream = (await docker.getEvents({ filters: options.filters ?? { type: ['container'] } })) as typeof stream;
        if (closed) {
          stream?.destroy?.();
          return;
        }
        if (lostAt !== undefined) {
          log.info({ downMs: Date.now() - lostAt }, 'the Docker daemon answers again; waits are issued anew');
          lostAt = undefined;
          for (const l of [...listeners]) l();
        }
        // Events themselves are not needed (wait reports exits); the stream is the daemon's pulse.
        stream!.resume();
        await new Promise<void>((resolve) => {
          stream!.once('end', resolve);
          stream!.once('close', resolve);
          stream!.once('error', resolve);
        });
        if (closed) return;
        lostAt ??= Date.now();
        log.warn('lost the Docker daemon (its event stream ended); waiting for it to come back');
      } catch (err) {
        if (lostAt === undefined) log.warn({ err: daemonMessage(err) }, 'cannot open the Docker daemon event stream; trying again');
        lostAt ??= Date.now();
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, retryMs);
        wake = () => (clearTimeout(t), resolve());
      });
    }
  })();

  return {
    onReconnect: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: () => {
      closed = true;
      stream?.destroy?.();
      wake?.();
    },
  };
}
