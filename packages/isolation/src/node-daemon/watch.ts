import type { WatchHandlers } from '../client.js';
import type { Delta } from '../model.js';
import { applyDelta } from '../state.js';
import { acknowledge } from './acknowledge.js';
import type { NodeDaemonContext } from './context.js';
import { enforce } from './enforce.js';
import { push } from './sync.js';
import { wake } from './wait.js';

// Watching the service: every snapshot and delta is enforced (with the checkpoint's members),
// wakes the waiters, and starts a sync round when it concerns this agent.

const touchesMe = (me: string, changes: Delta['changes']): boolean =>
  changes.some(
    (c) =>
      (c.kind === 'agent-removed' && c.id === me) ||
      (c.kind === 'agent-upserted' && c.agent.id === me) ||
      (c.kind === 'member-removed' && c.key.agentId === me) ||
      (c.kind === 'member-upserted' && c.member.agentId === me),
  );

export function watchHandlers(ctx: NodeDaemonContext): WatchHandlers {
  const { me, log, acks } = ctx;
  return {
    agentId: me,
    onSnapshot(snapshot) {
      ctx.base = snapshot;
      acks.seqOf.set(ctx.base, ++acks.stateSeq);
      ctx.live = true;
      ctx.connected = true;
      void enforce(ctx);
      wake(ctx);
      void push(ctx);
    },
    onDelta(delta) {
      const prev = ctx.base!;
      ctx.base = applyDelta(prev, delta);
      const ownOnly = delta.changes.every(
        (c) => (c.kind === 'member-upserted' && c.member.agentId === me) || (c.kind === 'member-removed' && c.key.agentId === me),
      );
      acks.seqOf.set(ctx.base, ownOnly ? (acks.seqOf.get(prev) ?? ++acks.stateSeq) : ++acks.stateSeq);
      if (ownOnly && !ctx.apply.applying && ctx.applied?.live && ctx.applied.base === prev && ctx.applied.localVersion === ctx.localVersion) {
        // Only this agent's own members changed at the service: what it enforces comes from the
        // checkpoint, so the new revision is in force already. Acknowledge it without an apply.
        ctx.applied = { ...ctx.applied, base: ctx.base };
        acknowledge(ctx, ctx.base, ctx.lastError);
      } else void enforce(ctx);
      wake(ctx);
      // The service changed this agent or its members (our own calls coming back, or someone
      // else: an operator, a service that lost its state): the checkpoint is the truth.
      if (touchesMe(me, delta.changes)) void push(ctx);
    },
    onStatus(s, err) {
      if (s === 'disconnected') {
        ctx.connected = false;
        log.warn({ err: err?.message }, 'watch disconnected; reconnecting');
      } else log.info({ revision: ctx.base?.revision, epoch: ctx.base?.epoch }, 'watching the isolation service');
    },
  };
}
