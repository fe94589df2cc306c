import type { ApplyResult } from '../enforcer/enforcer.js';
import type { PolicyState } from '../model.js';
import { acknowledge } from './acknowledge.js';
import type { Applied, NodeDaemonContext } from './context.js';
import { wake } from './wait.js';

// Enforcement: the enforcer applies the service's state with this agent's members replaced by
// the checkpoint's; one apply at a time, the newest state wins, a failed apply is retried by a
// rebuild.

/** The state to enforce: the service's, with this agent's members replaced by the checkpoint. */
export function effective(ctx: NodeDaemonContext): PolicyState {
  const b = ctx.base ?? { epoch: '', revision: 0, agents: [], members: [], rules: [] };
  return { ...b, members: [...b.members.filter((m) => m.agentId !== ctx.me), ...ctx.local.values()] };
}

/** Records an applied state: wakes waiters; acknowledges the service state under it. */
export function recordApplied(ctx: NodeDaemonContext, target: Applied, res: ApplyResult): void {
  ctx.applied = target;
  ctx.apply.lastApply = res;
  ctx.lastError = res.routeErrors.join('; ');
  wake(ctx);
  if (target.live && target.base) acknowledge(ctx, target.base, ctx.lastError);
}

/** Applies the newest effective state; one at a time, the newest wins; failed applies are retried by rebuild. */
export async function enforce(ctx: NodeDaemonContext, force = false): Promise<void> {
  const a = ctx.apply;
  const { enforcer, metrics } = ctx;
  if (force) a.forceNext = true;
  // Before any state and any member there is nothing to enforce (and no table to create).
  if (!ctx.base && ctx.local.size === 0 && !ctx.applied) return;
  if (a.applying) {
    a.reapply = true;
    return;
  }
  a.applying = true;
  try {
    do {
      a.reapply = false;
      const target: Applied = { base: ctx.base, live: ctx.live, localVersion: ctx.localVersion };
      const state = effective(ctx);
      const started = performance.now();
      try {
        const rebuild = a.forceNext;
        a.forceNext = false;
        // Without any service state the routes to other agents are unknown: leave them be.
        const opts = { routes: target.base !== undefined };
        const res = rebuild ? await enforcer.rebuild(state, opts) : await enforcer.apply(state, opts);
        metrics.applySeconds.observe({ mode: res.mode }, (performance.now() - started) / 1000);
        metrics.applyKernelSeconds.observe({ mode: res.mode }, res.kernelMs / 1000);
        recordApplied(ctx, target, res);
      } catch (err) {
        metrics.applyErrors.inc();
        ctx.lastError = (err as Error).message;
        ctx.log.error({ err }, 'cannot apply the isolation state; retrying with a rebuild');
        if (target.live && target.base) ctx.client.reportApplied(ctx.me, target.base.epoch, target.base.revision, ctx.lastError).catch(() => undefined);
        if (!ctx.closed) {
          clearTimeout(a.retryTimer);
          a.retryTimer = setTimeout(() => void enforce(ctx, true), ctx.retryMs);
        }
        return;
      }
    } while (a.reapply && !ctx.closed);
  } finally {
    a.applying = false;
  }
}

/** Replaces the table and re-reads routes from the kernel (e.g. after someone edited them). */
export async function resync(ctx: NodeDaemonContext): Promise<ApplyResult | undefined> {
  if (!ctx.base && ctx.local.size === 0) return undefined;
  const target: Applied = { base: ctx.base, live: ctx.live, localVersion: ctx.localVersion };
  // The enforcer serializes this with any apply in flight.
  const res = await ctx.enforcer.rebuild(effective(ctx), { routes: ctx.base !== undefined });
  recordApplied(ctx, target, res);
  return res;
}
