import type { PolicyState } from '../model.js';
import type { EnforcerContext } from './context.js';

/**
 * Flushes the neighbour entries of local addresses that left since the last apply, so a reused
 * address is not sent to the old container's MAC.
 */
export function flushLeftNeighbors(ctx: EnforcerContext, state: PolicyState): void {
  const nowLocal = new Set(state.members.filter((m) => m.agentId === ctx.agentId).flatMap((m) => m.addresses));
  const gone = [...ctx.localAddresses].filter((a) => !nowLocal.has(a));
  ctx.localAddresses = nowLocal;
  if (gone.length > 0 && ctx.flushNeighbors) {
    // Best effort, and off the critical path: isolation does not depend on it, only a quick
    // reuse of the address does (a missing entry is fine).
    const lines = gone.map((a) => `neigh flush to ${a}`);
    if (ctx.ipBatch) ctx.ipBatch.send(lines);
    else {
      const flush = ctx.runner
        .run('ip', ['-force', '-batch', '-'], lines.join('\n') + '\n')
        .catch((err: unknown) => ctx.log.debug({ err }, 'neighbour flush failed'))
        .finally(() => ctx.flushes.delete(flush));
      ctx.flushes.add(flush);
    }
  }
}
