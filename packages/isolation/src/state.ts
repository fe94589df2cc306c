import { memberKeyString, type Delta, type Member, type PolicyState } from './model.js';

/** Thrown by {@link applyDelta} when a delta does not follow the state (the watcher resyncs). */
export class DeltaGapError extends Error {
  constructor(state: PolicyState, delta: Delta) {
    super(`delta ${delta.epoch}/${delta.revision} does not follow state ${state.epoch}/${state.revision}: resync from a snapshot`);
    this.name = 'DeltaGapError';
  }
}

/** The state after `delta`; throws {@link DeltaGapError} unless the delta is the next revision of the same epoch. */
export function applyDelta(state: PolicyState, delta: Delta): PolicyState {
  if (delta.epoch !== state.epoch || delta.revision !== state.revision + 1) throw new DeltaGapError(state, delta);
  let { agents, members, rules } = state;
  for (const c of delta.changes) {
    switch (c.kind) {
      case 'agent-upserted':
        agents = [...agents.filter((a) => a.id !== c.agent.id), c.agent].sort((a, b) => a.id.localeCompare(b.id));
        break;
      case 'agent-removed':
        agents = agents.filter((a) => a.id !== c.id);
        break;
      case 'member-upserted': {
        const key = memberKeyString(c.member);
        members = [...members.filter((m) => memberKeyString(m) !== key), c.member];
        break;
      }
      case 'member-removed': {
        const key = memberKeyString(c.key);
        members = members.filter((m) => memberKeyString(m) !== key);
        break;
      }
      case 'rule-upserted':
        rules = [...rules.filter((r) => r.id !== c.rule.id), c.rule].sort((a, b) => a.id.localeCompare(b.id));
        break;
      case 'rule-removed':
        rules = rules.filter((r) => r.id !== c.id);
        break;
    }
  }
  return { epoch: delta.epoch, revision: delta.revision, agents, members, rules };
}

/** Same container interface with the same addresses, groups and network. */
export function sameMembership(a: Member, b: Member): boolean {
  return (
    memberKeyString(a) === memberKeyString(b) &&
    a.network === b.network &&
    a.addresses.join() === b.addresses.join() &&
    a.groups.join('\u0000') === b.groups.join('\u0000')
  );
}
