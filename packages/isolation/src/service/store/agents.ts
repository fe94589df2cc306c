import { cidrsOverlap } from '@ippc/core';
import { IsolationError } from '../../errors.js';
import { parseCidr } from '../../ip.js';
import { normalizeAgent, validateAgentId, type AgentInfo, type AgentSpec, type Change } from '../../model.js';
import { commit } from './commit.js';
import { agentInfo, keyOf, unchanged, type AgentRecord, type StoreState } from './state.js';
import type { ChangeResult } from './store.js';

// Agents: registration (each with its own subnets and node addresses), removal with its members,
// and the watch streams they hold open.

export function registerAgent(s: StoreState, spec: Partial<AgentSpec>): ChangeResult {
  const agent = normalizeAgent(spec);
  for (const other of s.agents.values()) {
    if (other.id === agent.id) continue;
    for (const sub of agent.subnets) {
      const mine = parseCidr(sub);
      const clash = other.subnets.find((o) => cidrsOverlap(mine, parseCidr(o)));
      if (clash)
        throw new IsolationError(
          'ISOLATION_SUBNET_CONFLICT',
          `subnet ${sub} of agent '${agent.id}' overlaps ${clash} of agent '${other.id}': give each agent its own subnet`,
          { details: { subnet: sub, agentId: other.id } },
        );
    }
    const shared = agent.nodeAddresses.find((a) => other.nodeAddresses.includes(a));
    if (shared)
      throw new IsolationError('ISOLATION_ADDRESS_IN_USE', `node address ${shared} is already agent '${other.id}''s: each agent needs its own address`, {
        details: { address: shared, agentId: other.id },
      });
  }
  const existing = s.agents.get(agent.id);
  if (existing) {
    existing.lastSeenMs = s.now();
    if (existing.nodeAddresses.join() === agent.nodeAddresses.join() && existing.subnets.join() === agent.subnets.join()) return unchanged(s);
  }
  const info: AgentInfo = existing
    ? { ...agentInfo(existing), nodeAddresses: agent.nodeAddresses, subnets: agent.subnets }
    : { ...agent, appliedRevision: 0, appliedEpoch: '', connected: false, lastError: '', lastSeenMs: s.now() };
  return commit(s, [{ kind: 'agent-upserted', agent: info }]);
}

export function deregisterAgent(s: StoreState, id: string): ChangeResult {
  const agent = s.agents.get(validateAgentId(id));
  if (!agent) return unchanged(s);
  const changes: Change[] = [...s.members.values()].filter((m) => m.agentId === id).map((m) => ({ kind: 'member-removed' as const, key: keyOf(m) }));
  changes.push({ kind: 'agent-removed', id });
  return commit(s, changes);
}

/** Counts open watch streams of an agent (+1 on open, -1 on close). */
export function setConnected(s: StoreState, agentId: string, delta: 1 | -1): void {
  const a = s.agents.get(agentId);
  if (a) {
    a.watchers = Math.max(0, a.watchers + delta);
    a.lastSeenMs = s.now();
  } else s.earlyWatchers.set(agentId, Math.max(0, (s.earlyWatchers.get(agentId) ?? 0) + delta));
}

export function requireAgent(s: StoreState, id: string): AgentRecord {
  const a = s.agents.get(validateAgentId(id));
  if (!a)
    throw new IsolationError(
      'ISOLATION_UNKNOWN_AGENT',
      `agent '${id}' is not registered: start ippc-isolation-node on it (it registers the agent) or check the id`,
      { details: { agentId: id } },
    );
  return a;
}
