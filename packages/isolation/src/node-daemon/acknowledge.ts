import { writeAtomic } from '@ippc/core';
import type { PolicyState } from '../model.js';
import { readJson } from './checkpoint.js';
import type { NodeDaemonContext } from './context.js';

// Acknowledgements. A service state is acknowledged only once state.json holds it or an
// equivalent one, so a restarted daemon never enforces an older state than one it acknowledged
// (the service may have let IPAM reuse an address on the strength of that acknowledgement).
// Equivalent: differing only in this agent's own members, which are enforced from the
// checkpoint whatever the cache says; so the deltas that merely echo this agent's own ADDs and
// DELs cost no write. One acknowledgement in flight at a time, the newest state wins.

const STATE_CACHE_VERSION = 1;

export function acknowledge(ctx: NodeDaemonContext, state: PolicyState, error: string): void {
  const a = ctx.acks;
  if (a.acked && a.acked.epoch === state.epoch && a.acked.revision === state.revision && a.acked.error === error) return;
  a.ackWant = { state, error };
  if (a.acking) return;
  a.acking = (async () => {
    while (a.ackWant && !ctx.closed) {
      const { state: st, error: e } = a.ackWant;
      a.ackWant = undefined;
      const seq = a.seqOf.get(st) ?? -1;
      if (seq !== a.cachedSeq) {
        try {
          await writeAtomic(ctx.stateFile, JSON.stringify({ version: STATE_CACHE_VERSION, agentId: ctx.me, state: st }));
          a.cachedSeq = seq;
        } catch (err) {
          ctx.log.error({ err, file: ctx.stateFile }, 'cannot cache the applied state; not acknowledging it (retrying)');
          clearTimeout(a.ackTimer);
          a.ackTimer = setTimeout(() => acknowledge(ctx, st, e), ctx.retryMs);
          continue;
        }
      }
      try {
        await ctx.client.reportApplied(ctx.me, st.epoch, st.revision, e || undefined);
        a.acked = { epoch: st.epoch, revision: st.revision, error: e };
      } catch (err) {
        ctx.log.debug({ err }, 'cannot report the applied revision (the next one will be)');
      }
    }
  })().finally(() => {
    a.acking = undefined;
  });
}

/** At start: the last service state this daemon enforced, from state.json, becomes `base`. */
export async function loadStateCache(ctx: NodeDaemonContext): Promise<void> {
  // The cache is only a cache: unreadable means "wait for the service", not "refuse to start".
  try {
    const cached = (await readJson(ctx.stateFile)) as { version?: number; agentId?: string; state?: PolicyState } | undefined;
    if (cached?.version === STATE_CACHE_VERSION && cached.agentId === ctx.me && cached.state) {
      ctx.base = cached.state;
      ctx.acks.seqOf.set(ctx.base, ctx.acks.stateSeq);
      ctx.acks.cachedSeq = ctx.acks.stateSeq;
    }
  } catch (err) {
    ctx.log.warn({ err, file: ctx.stateFile }, 'cannot read the cached isolation state; waiting for the service');
  }
}
