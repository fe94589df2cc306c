import { memberKeyString, type Change, type Delta } from '../../model.js';
import { settle } from './propagation.js';
import { unchanged, type StoreState } from './state.js';
import type { ChangeResult } from './store.js';

// Every change goes through commit: one revision per list of changes, told to every watcher.

const MAX_CHANGE_TIMES = 4096;

/** Applies a list of changes as one new revision and tells every watcher. */
export function commit(s: StoreState, changes: Change[]): ChangeResult {
  if (changes.length === 0) return unchanged(s);
  s.revision += 1;
  const rev = s.revision;
  for (const c of changes) applyChange(s, c, rev);
  s.changeTimes.set(rev, s.now());
  if (s.changeTimes.size > MAX_CHANGE_TIMES) s.changeTimes.delete(s.changeTimes.keys().next().value as number);
  const delta: Delta = { epoch: s.epoch, revision: rev, changes };
  for (const l of s.listeners) {
    try {
      l(delta);
    } catch (err) {
      s.log.warn({ err }, 'a watcher failed; it is dropped');
      s.listeners.delete(l);
    }
  }
  s.persist();
  // With no agent registered a revision is trivially everywhere.
  settle(s);
  return { epoch: s.epoch, revision: rev, changed: true };
}

function applyChange(s: StoreState, c: Change, rev: number): void {
  switch (c.kind) {
    case 'member-upserted': {
      const key = memberKeyString(c.member);
      const old = s.members.get(key);
      if (old) for (const addr of old.addresses) if (!c.member.addresses.includes(addr)) release(s, addr, key, rev);
      s.members.set(key, c.member);
      for (const addr of c.member.addresses) {
        s.holders.set(addr, key);
        s.released.delete(addr);
      }
      break;
    }
    case 'member-removed': {
      const key = memberKeyString(c.key);
      const old = s.members.get(key);
      s.members.delete(key);
      if (old) for (const addr of old.addresses) release(s, addr, key, rev);
      break;
    }
    case 'agent-upserted': {
      const existing = s.agents.get(c.agent.id);
      if (existing) Object.assign(existing, { nodeAddresses: c.agent.nodeAddresses, subnets: c.agent.subnets });
      else {
        const watchers = s.earlyWatchers.get(c.agent.id) ?? 0;
        s.earlyWatchers.delete(c.agent.id);
        s.agents.set(c.agent.id, { ...c.agent, registeredRevision: rev, watchers, acks: [], connected: watchers > 0 });
      }
      break;
    }
    case 'agent-removed':
      s.agents.delete(c.id);
      break;
    case 'rule-upserted':
      s.rules.set(c.rule.id, c.rule);
      break;
    case 'rule-removed':
      s.rules.delete(c.id);
      break;
  }
}

/** The address leaves `key`; unless another member took it in the same revision, it drains. */
function release(s: StoreState, addr: string, key: string, rev: number): void {
  if (s.holders.get(addr) !== key) return;
  s.holders.delete(addr);
  s.released.set(addr, rev);
}
