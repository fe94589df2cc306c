import type { Offer } from '@ippc/proto';
import type { SchedulerContext } from './context.js';
import { SchedulerError } from './errors.js';
import { on } from './events.js';

// Outstanding offers (`SchedulerContext.offers`): waiting for them, and spending them on a call.
// OFFERS and RESCIND events fill and empty them (subscription.ts).

/**
 * Resolves with outstanding offers that satisfy `filter` (all by default) as soon as there are at
 * least `count` of them; waits for OFFERS events if needed.
 */
export function awaitOffers(ctx: SchedulerContext, options: { count?: number; filter?: (offer: Offer) => boolean; timeoutMs?: number } = {}): Promise<Offer[]> {
  const count = options.count ?? 1;
  const filter = options.filter ?? (() => true);
  const matching = () => [...ctx.offers.values()].filter(filter);
  const now = matching();
  if (now.length >= count) return Promise.resolve(now);
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(
        new SchedulerError(
          'SCHEDULER_TIMEOUT',
          `fewer than ${count} matching offer(s) within ${timeoutMs} ms (have ${matching().length}): are agents registered with free resources?`,
        ),
      );
    }, timeoutMs);
    const off = on(ctx, (e) => {
      if (e.type !== 'OFFERS' && e.type !== 'RESCIND') return;
      const m = matching();
      if (m.length >= count) {
        clearTimeout(timer);
        off();
        resolve(m);
      }
    });
  });
}

/**
 * Takes the offers out of `offers` for the call, and puts them back when the call fails: a
 * refused call (not subscribed, stream mismatch, a transport error) leaves them outstanding at
 * the master, so they stay usable (a decline, another launch) until rescinded. An offer the
 * master did consume is refused on reuse (TASK_LOST, REASON_INVALID_OFFERS), as in Mesos.
 */
export async function spending(ctx: SchedulerContext, ids: readonly string[], call: () => Promise<void>): Promise<void> {
  const taken = new Map<string, Offer>();
  for (const id of ids) {
    const o = ctx.offers.get(id);
    if (o) taken.set(id, o);
    ctx.offers.delete(id);
    ctx.inFlight.set(id, false);
  }
  try {
    await call();
  } catch (err) {
    for (const [id, o] of taken) if (!ctx.offers.has(id) && ctx.inFlight.get(id) === false) ctx.offers.set(id, o);
    throw err;
  } finally {
    for (const id of ids) ctx.inFlight.delete(id);
  }
}
