import type { PolicyState } from '../model.js';
import { routesFor } from '../policy.js';
import { checkBridgeNetfilter } from './bridge-netfilter.js';
import type { EnforcerContext } from './context.js';
import type { ApplyOptions, ApplyResult } from './enforcer.js';
import { flushLeftNeighbors } from './neighbors.js';
import { syncRoutes } from './routes.js';
import { compileRuleset } from './ruleset.js';
import { applyRuleset, type Timed } from './table.js';

// One apply: the state compiled for this agent, then the table, the neighbour entries of members
// that left, and the routes brought to it, one apply at a time.

/** Queues an apply; one that runs later applies the newest state asked for by then. */
export function enqueue(ctx: EnforcerContext, state: PolicyState, force: boolean, opts: ApplyOptions = {}): Promise<ApplyResult> {
  ctx.latest = state;
  ctx.latestOptions = opts;
  return ctx.queue.run(() => converge(ctx, force));
}

async function converge(ctx: EnforcerContext, force: boolean): Promise<ApplyResult> {
  const state = ctx.latest!;
  const withRoutes = ctx.latestOptions.routes !== false;
  const started = performance.now();
  if (force) {
    ctx.appliedRules = undefined;
    ctx.appliedRoutes = undefined;
  }
  await checkBridgeNetfilter(ctx);
  let kernelMs = 0;
  const timed: Timed = async (fn) => {
    const t = performance.now();
    try {
      return await fn();
    } finally {
      kernelMs += performance.now() - t;
    }
  };
  const next = compileRuleset(state, ctx.agentId, ctx.table);
  const { mode, via } = await applyRuleset(ctx, next, timed);
  ctx.appliedRules = next;
  flushLeftNeighbors(ctx, state);
  const routes = withRoutes ? await timed(() => syncRoutes(ctx, routesFor(state.agents, ctx.agentId))) : { added: 0, removed: 0, errors: [] };
  if (routes.errors.length > 0) ctx.log.warn({ errors: routes.errors }, 'some routes could not be installed');
  ctx.applied = { epoch: state.epoch, revision: state.revision };
  const result: ApplyResult = {
    epoch: state.epoch,
    revision: state.revision,
    mode,
    via,
    routesAdded: routes.added,
    routesRemoved: routes.removed,
    routeErrors: routes.errors,
    durationMs: performance.now() - started,
    kernelMs,
  };
  if (mode !== 'none' || routes.added + routes.removed > 0) ctx.log.debug(result, 'isolation applied');
  return result;
}
