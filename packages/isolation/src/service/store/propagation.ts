import type { AgentRecord, StoreState } from './state.js';
import type { AwaitResult } from './store.js';

// What each agent has applied: acknowledgements, the releases they let go of, the waiters they
// wake, and the propagation time of each revision.

const MAX_ACKS = 256;

export const appliedBy = (s: StoreState, a: AgentRecord, rev: number): boolean =>
  a.registeredRevision >= rev || (a.appliedEpoch === s.epoch && a.appliedRevision >= rev);

export const agentsBehind = (s: StoreState, rev: number): AgentRecord[] => [...s.agents.values()].filter((a) => !appliedBy(s, a, rev));

/** Drops releases every agent has applied; wakes waiters; reports propagation. */
export function settle(s: StoreState): void {
  const behind = [...s.agents.values()];
  let minApplied = s.revision;
  for (const a of behind) {
    const applied = a.appliedEpoch === s.epoch ? a.appliedRevision : 0;
    minApplied = Math.min(minApplied, Math.max(applied, a.registeredRevision));
  }
  for (const [addr, rev] of s.released) if (rev <= minApplied) s.released.delete(addr);
  if (minApplied > s.propagatedUpTo) {
    const at = s.now();
    // Newest first is what matters; older revisions in the same step took at least as long.
    const changedAt = s.changeTimes.get(minApplied);
    if (changedAt !== undefined) for (const l of s.propagationListeners) l(minApplied, at - changedAt);
    s.propagatedUpTo = minApplied;
  }
  for (const w of [...s.waiters]) w.check();
}

export function reportApplied(s: StoreState, agentId: string, reportEpoch: string, rev: number, error?: string): void {
  const a = s.agents.get(agentId);
  if (!a) return;
  a.lastSeenMs = s.now();
  a.lastError = error ?? '';
  if (error || reportEpoch !== s.epoch) return;
  if (a.appliedEpoch === s.epoch && rev <= a.appliedRevision) return;
  a.appliedEpoch = s.epoch;
  a.appliedRevision = rev;
  a.acks.push({ revision: rev, atMs: s.now() });
  if (a.acks.length > MAX_ACKS) a.acks.shift();
  s.persist();
  settle(s);
}

export function awaitApplied(s: StoreState, rev: number | undefined, timeoutMs: number): Promise<AwaitResult> {
  const target = rev && rev > 0 ? Math.min(rev, s.revision) : s.revision;
  const result = (): AwaitResult => {
    const changedAt = s.changeTimes.get(target);
    const progress = [...s.agents.values()]
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((a) => {
        const applied = appliedBy(s, a, target);
        const ack = a.acks.find((k) => k.revision >= target);
        return {
          agentId: a.id,
          appliedRevision: a.appliedEpoch === s.epoch ? a.appliedRevision : 0,
          applied,
          latencyMs: applied && ack && changedAt !== undefined ? Math.max(0, ack.atMs - changedAt) : 0,
        };
      });
    return { allApplied: progress.every((p) => p.applied), revision: target, agents: progress };
  };
  const first = result();
  if (first.allApplied || timeoutMs <= 0) return Promise.resolve(first);
  return new Promise((resolve) => {
    const waiter = {
      done: () => {
        clearTimeout(timer);
        s.waiters.delete(waiter);
        resolve(result());
      },
      check: () => {
        if (agentsBehind(s, target).length === 0) waiter.done();
      },
    };
    const timer = setTimeout(waiter.done, timeoutMs);
    s.waiters.add(waiter);
  });
}
