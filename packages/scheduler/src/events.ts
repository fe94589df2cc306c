import type { Offer, TaskStatus } from '@ippc/proto';
import type { SchedulerContext } from './context.js';

/** An event from the master, as delivered to `events()` and `on()` listeners. */
export type SchedulerEvent =
  | { type: 'SUBSCRIBED'; frameworkId: string; heartbeatIntervalSeconds?: number }
  | { type: 'OFFERS'; offers: Offer[] }
  | { type: 'RESCIND'; offerId: string }
  | { type: 'UPDATE'; status: TaskStatus }
  | { type: 'MESSAGE'; agentId: string; executorId: string; data: Uint8Array }
  | { type: 'FAILURE'; agentId?: string; executorId?: string; status?: number }
  | { type: 'ERROR'; message: string }
  | { type: 'HEARTBEAT' }
  | { type: 'DISCONNECTED'; reason: string };

export function emit(ctx: SchedulerContext, event: SchedulerEvent): void {
  for (const l of [...ctx.listeners]) {
    try {
      l(event);
    } catch (err) {
      ctx.log.error({ err: (err as Error).message }, 'event listener threw');
    }
  }
}

/** Calls `listener` for every event from now on; returns a function that removes it. */
export function on(ctx: SchedulerContext, listener: (event: SchedulerEvent) => void): () => void {
  ctx.listeners.add(listener);
  return () => ctx.listeners.delete(listener);
}

/** The events from now on, as an async iterator (ends when the scheduler is closed). */
export function events(ctx: SchedulerContext): AsyncIterableIterator<SchedulerEvent> {
  const queue: SchedulerEvent[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  const off = on(ctx, (e) => {
    queue.push(e);
    wake?.();
  });
  ctx.closeHooks.push(() => {
    ended = true;
    wake?.();
  });
  const iterator: AsyncIterableIterator<SchedulerEvent> = {
    [Symbol.asyncIterator]: () => iterator,
    next: async () => {
      while (queue.length === 0 && !ended) await new Promise<void>((r) => (wake = r));
      wake = undefined;
      if (queue.length > 0) return { value: queue.shift() as SchedulerEvent, done: false };
      off();
      return { value: undefined, done: true };
    },
    return: async () => {
      off();
      ended = true;
      return { value: undefined, done: true };
    },
  };
  return iterator;
}
