import type { ClientReadableStream } from '@grpc/grpc-js';
import { Backoff, fromServiceError, type Logger } from '@ippc/core';
import type { isolationv1 as pb } from '@ippc/proto';
import type { WatchHandle, WatchHandlers } from './client.js';
import type { Delta } from './model.js';
import { changeFromPb, snapshotFromPb } from './wire.js';

/** The client's Watch: a snapshot then deltas, reconnecting with backoff (and a new snapshot) until closed. */
export function watch(raw: pb.IsolationClient, log: Logger, handlers: WatchHandlers): WatchHandle {
  const backoff = new Backoff({ initialMs: handlers.backoff?.minMs ?? 100, maxMs: handlers.backoff?.maxMs ?? 2_000 });
  let stream: ClientReadableStream<pb.WatchEvent> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const connect = () => {
    if (closed) return;
    let ended = false;
    const s = raw.watch({ agentId: handlers.agentId ?? '' });
    stream = s;
    const retry = (err?: Error) => {
      if (ended) return;
      ended = true;
      s.removeAllListeners();
      s.on('error', () => undefined);
      s.cancel();
      if (closed) return;
      handlers.onStatus?.('disconnected', err);
      timer = setTimeout(connect, backoff.next());
    };
    s.on('data', (event: pb.WatchEvent) => {
      try {
        const ev = event.event;
        if (ev?.$case === 'snapshot') {
          backoff.reset();
          handlers.onSnapshot(snapshotFromPb(ev.value));
          handlers.onStatus?.('connected');
        } else if (ev?.$case === 'delta') {
          const changes = ev.value.changes.map(changeFromPb);
          if (changes.some((c) => c === undefined)) return retry(new Error('unknown change kind: resyncing from a snapshot'));
          handlers.onDelta({ epoch: ev.value.epoch ?? '', revision: ev.value.revision ?? 0, changes: changes as Delta['changes'] });
        }
      } catch (err) {
        log.warn({ err }, 'watch handler failed; resyncing');
        retry(err as Error);
      }
    });
    s.on('error', (err: Error) => retry(fromServiceError(err)));
    s.on('end', () => retry(new Error('watch stream ended by the service')));
  };
  connect();
  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      stream?.removeAllListeners();
      stream?.on('error', () => undefined);
      stream?.cancel();
    },
  };
}
