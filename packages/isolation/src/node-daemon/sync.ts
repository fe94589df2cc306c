import { isIppcError } from '@ippc/core';
import { memberKeyString, type Member, type MemberKey, type PolicyState } from '../model.js';
import { sameMembership } from '../state.js';
import type { NodeDaemonContext } from './context.js';

// Telling the service --------------------------------------------------------------------------
// Level-triggered: the service should hold this agent and exactly the checkpoint's members. Each
// round compares the checkpoint with the last watched state and sends the difference (removals
// first: an address may move between two members of this agent); a call that succeeded is not
// repeated until the watched state has caught up with its revision. Rounds run on every local
// change, snapshot and delta about this agent, and on a backoff timer after a failure.

const sameAgent = (ctx: NodeDaemonContext, b: PolicyState): boolean => {
  const a = b.agents.find((x) => x.id === ctx.me);
  return a !== undefined && a.nodeAddresses.join() === ctx.spec.nodeAddresses.join() && a.subnets.join() === ctx.spec.subnets.join();
};
/** Sent already and not yet visible in `b`. */
const inFlight = (ctx: NodeDaemonContext, key: string, want: Member | undefined, b: PolicyState): boolean => {
  const s = ctx.sync.sent.get(key);
  if (!s) return false;
  if (s.epoch !== b.epoch || b.revision >= s.revision) {
    ctx.sync.sent.delete(key);
    return false;
  }
  return s.member === undefined ? want === undefined : want !== undefined && sameMembership(s.member, want);
};

/** The difference between the checkpoint and the service's members of this agent in `b`. */
function diff(ctx: NodeDaemonContext, b: PolicyState): { detach: MemberKey[]; attach: Member[] } {
  const { me, local } = ctx;
  const theirs = new Map(b.members.filter((m) => m.agentId === me).map((m) => [memberKeyString(m), m]));
  const detach: MemberKey[] = [];
  for (const [key, m] of theirs) if (!local.has(key)) detach.push({ agentId: me, containerId: m.containerId, ifName: m.ifName });
  const attach: Member[] = [];
  for (const [key, m] of local) {
    const t = theirs.get(key);
    if (!t || !sameMembership(t, m)) attach.push(m);
  }
  return { detach, attach };
}

/** Local members (and removals) the service does not hold yet, counted against the last state watched. */
export function unsynced(ctx: NodeDaemonContext): number {
  if (!ctx.base) return ctx.local.size;
  const d = diff(ctx, ctx.base);
  return d.attach.length + d.detach.length + (sameAgent(ctx, ctx.base) ? 0 : 1);
}

async function inParallel<T>(items: T[], fn: (item: T) => Promise<void>, width = 16): Promise<unknown[]> {
  const errors: unknown[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item).catch((err: unknown) => errors.push(err));
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return errors;
}

function schedulePush(ctx: NodeDaemonContext, delayMs: number): void {
  clearTimeout(ctx.sync.pushTimer);
  ctx.sync.pushTimer = setTimeout(() => void push(ctx), delayMs);
  ctx.sync.pushTimer.unref();
}

/** One round's calls: registers the agent if the service does not hold it as it is, then sends the difference; the errors. */
async function sendDifference(ctx: NodeDaemonContext, b: PolicyState): Promise<unknown[]> {
  const { client, spec, sync } = ctx;
  const { syncCalls } = ctx.metrics;
  const errors: unknown[] = [];
  if (!sameAgent(ctx, b) && !(sync.registeredAt && sync.registeredAt.epoch === b.epoch && b.revision < sync.registeredAt.revision)) {
    try {
      const r = await client.registerAgent(spec);
      sync.registeredAt = { epoch: r.epoch, revision: r.revision };
      syncCalls.inc({ kind: 'register', result: 'ok' });
    } catch (err) {
      syncCalls.inc({ kind: 'register', result: 'error' });
      errors.push(err);
    }
  }
  if (errors.length === 0) {
    const d = diff(ctx, b);
    const detach = d.detach.filter((k) => !inFlight(ctx, memberKeyString(k), undefined, b));
    const attach = d.attach.filter((m) => !inFlight(ctx, memberKeyString(m), m, b));
    errors.push(
      ...(await inParallel(detach, async (k) => {
        const r = await client.detach(k).catch((err: unknown) => {
          syncCalls.inc({ kind: 'detach', result: 'error' });
          throw err;
        });
        syncCalls.inc({ kind: 'detach', result: 'ok' });
        sync.sent.set(memberKeyString(k), { member: undefined, epoch: r.epoch, revision: r.revision });
      })),
    );
    errors.push(
      ...(await inParallel(attach, async (m) => {
        const r = await client.attach(m).catch((err: unknown) => {
          syncCalls.inc({ kind: 'attach', result: 'error' });
          throw err;
        });
        syncCalls.inc({ kind: 'attach', result: 'ok' });
        sync.sent.set(memberKeyString(m), { member: m, epoch: r.epoch, revision: r.revision });
      })),
    );
  }
  return errors;
}

/** Tells the service the difference, round after round until it holds exactly the checkpoint; one round at a time. */
export async function push(ctx: NodeDaemonContext): Promise<void> {
  const sync = ctx.sync;
  if (ctx.closed) return;
  if (sync.pushing) {
    sync.pushAgain = true;
    return;
  }
  sync.pushing = true;
  try {
    do {
      sync.pushAgain = false;
      // Without a live view the difference is unknown; the next snapshot starts a round.
      if (!ctx.connected || !ctx.live || !ctx.base) return;
      const errors = await sendDifference(ctx, ctx.base);
      if (errors.length > 0) {
        const first = errors[0];
        // Deregistered meanwhile: register again straight away.
        if (isIppcError(first, 'ISOLATION_UNKNOWN_AGENT')) sync.registeredAt = undefined;
        ctx.syncError = `cannot tell the isolation service about this agent's members (${errors.length} failed): ${(first as Error).message}`;
        const delay = sync.backoff.next();
        ctx.log.warn({ err: first, failed: errors.length, retryInMs: Math.round(delay) }, 'the service does not hold the local members yet; retrying');
        schedulePush(ctx, delay);
        return;
      }
      ctx.syncError = '';
      sync.backoff.reset();
    } while (sync.pushAgain && !ctx.closed);
  } finally {
    sync.pushing = false;
  }
}
