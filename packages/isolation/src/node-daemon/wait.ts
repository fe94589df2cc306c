import { IsolationError } from '../errors.js';
import type { NodeDaemonContext, Waiter } from './context.js';
import { unsynced } from './sync.js';

// Waiting for local enforcement: callers wait for a condition on what the daemon applied and
// watched, judged again at each apply and each watched state.

export function wake(ctx: NodeDaemonContext): void {
  for (const w of [...ctx.waiters]) if (w.done()) w.resolve();
}

/** Resolves once `done()` holds (judged now and at each wake), rejects with ISOLATION_TIMEOUT saying `what()`. */
export function waitFor(ctx: NodeDaemonContext, done: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  if (done()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const waiter: Waiter = {
      done,
      resolve: () => {
        clearTimeout(timer);
        ctx.waiters.delete(waiter);
        resolve();
      },
    };
    const timer = setTimeout(() => {
      ctx.waiters.delete(waiter);
      reject(new IsolationError('ISOLATION_TIMEOUT', what()));
    }, timeoutMs);
    ctx.waiters.add(waiter);
  });
}

/** Resolves after the enforcer applied the service's current state (rejects on timeout). */
export function waitForApplied(ctx: NodeDaemonContext, timeoutMs: number): Promise<void> {
  // Judged at each apply against the newest state known then.
  return waitFor(
    ctx,
    () =>
      ctx.live &&
      ctx.base !== undefined &&
      ctx.applied?.live === true &&
      ctx.applied.base?.epoch === ctx.base.epoch &&
      ctx.applied.base.revision >= ctx.base.revision,
    timeoutMs,
    () =>
      `the service's state was not enforced on agent ${ctx.me} within ${timeoutMs} ms (${ctx.connected ? 'connected' : 'not connected to the isolation service'}${ctx.lastError ? `; last error: ${ctx.lastError}` : ''})`,
  );
}

/** Resolves once the daemon enforces a policy: the service's, or after a restart the cached one. */
export function waitForEnforcing(ctx: NodeDaemonContext, timeoutMs: number): Promise<void> {
  return waitFor(
    ctx,
    () => ctx.applied?.base !== undefined,
    timeoutMs,
    () => `agent ${ctx.me} has no isolation state to enforce yet (no cache, and the service did not answer within ${timeoutMs} ms)`,
  );
}

/** Resolves when the service (as watched) holds exactly the checkpointed members. */
export function waitForSynced(ctx: NodeDaemonContext, timeoutMs: number): Promise<void> {
  return waitFor(
    ctx,
    () => ctx.live && ctx.connected && unsynced(ctx) === 0,
    timeoutMs,
    () => `the isolation service does not hold agent ${ctx.me}'s members after ${timeoutMs} ms${ctx.syncError ? `: ${ctx.syncError}` : ''}`,
  );
}
