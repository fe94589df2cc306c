import { stripPrefix } from '../../ip.js';
import type { Member } from '../../model.js';
import { groupsOf, routesFor } from '../../policy.js';
import { requireAgent } from './agents.js';
import { agentsBehind } from './propagation.js';
import { keyOf, snapshot, type StoreState } from './state.js';
import type { AddressStatus, GroupView } from './store.js';

// Views derived from the state: members by agent or group, groups with their rules, the routes
// between agents, and the IPAM view of addresses.

export function members(s: StoreState, filter: { agentId?: string; group?: string } = {}): Member[] {
  return snapshot(s).members.filter((m) => (!filter.agentId || m.agentId === filter.agentId) && (!filter.group || m.groups.includes(filter.group)));
}

export function groups(s: StoreState): GroupView[] {
  const snap = snapshot(s);
  return groupsOf(snap).map((name) => ({
    name,
    members: snap.members.filter((m) => m.groups.includes(name)),
    ruleIds: snap.rules.filter((r) => r.from === name || r.to === name).map((r) => r.id),
  }));
}

export function routes(s: StoreState, agentId?: string): ReturnType<typeof routesFor> {
  const list = [...s.agents.values()];
  const ids = agentId ? [requireAgent(s, agentId).id] : list.map((a) => a.id).sort();
  return ids.flatMap((id) => routesFor(list, id));
}

export function checkAddresses(s: StoreState, addresses: string[]): AddressStatus[] {
  return addresses.map((raw) => {
    const address = stripPrefix(raw);
    const holder = s.holders.get(address);
    if (holder) {
      const m = s.members.get(holder)!;
      return { address, state: 'in-use' as const, holders: [keyOf(m)], pendingAgents: [], releasedRevision: 0 };
    }
    const rev = s.released.get(address);
    if (rev === undefined) return { address, state: 'clear' as const, holders: [], pendingAgents: [], releasedRevision: 0 };
    const pending = agentsBehind(s, rev)
      .map((a) => a.id)
      .sort();
    return { address, state: pending.length > 0 ? ('draining' as const) : ('clear' as const), holders: [], pendingAgents: pending, releasedRevision: rev };
  });
}
