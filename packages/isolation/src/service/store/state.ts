import { randomUUID } from 'node:crypto';
import type { Logger } from '@ippc/core';
import { memberKeyString, type AgentInfo, type Delta, type Member, type MemberKey, type PolicyState, type Rule } from '../../model.js';
import type { ChangeResult } from './store.js';

// The service's state: agents, members, rules, a revision per change, and what each agent has
// applied. All mutations are synchronous (one event loop turn), so a watcher that takes a snapshot
// and subscribes in the same turn never misses or repeats a change.

export interface AgentRecord extends AgentInfo {
  /** Revision at which the agent registered: releases before it cannot be in its sets. */
  registeredRevision: number;
  watchers: number;
  /** (revision, time) of recent acknowledgements, to measure propagation. */
  acks: { revision: number; atMs: number }[];
}

/** What every part of the store shares: the state itself, its listeners, the clock and the log. */
export interface StoreState {
  epoch: string;
  revision: number;
  readonly agents: Map<string, AgentRecord>;
  readonly members: Map<string, Member>;
  readonly rules: Map<string, Rule>;
  /** address → revision that released it; pruned once every agent has applied it. */
  readonly released: Map<string, number>;
  /** address → key of the member holding it. */
  readonly holders: Map<string, string>;
  readonly changeTimes: Map<number, number>;
  readonly listeners: Set<(delta: Delta) => void>;
  readonly propagationListeners: ((revision: number, ms: number) => void)[];
  /** Pending awaitApplied calls: `check` resolves when done, `done` resolves now. */
  readonly waiters: Set<{ check: () => void; done: () => void }>;
  /** Connections counted before the agent registered. */
  readonly earlyWatchers: Map<string, number>;
  /** The newest revision reported as propagated to every agent. */
  propagatedUpTo: number;
  readonly log: Logger;
  readonly now: () => number;
  /** Writes the state to the data file in the background (nothing without one). */
  persist(): void;
}

/** An empty state in a new epoch; `persist` is a no-op until the store installs its writer. */
export function createStoreState(log: Logger, now: () => number): StoreState {
  return {
    epoch: randomUUID(),
    revision: 0,
    agents: new Map(),
    members: new Map(),
    rules: new Map(),
    released: new Map(),
    holders: new Map(),
    changeTimes: new Map(),
    listeners: new Set(),
    propagationListeners: [],
    waiters: new Set(),
    earlyWatchers: new Map(),
    propagatedUpTo: 0,
    log,
    now,
    persist: () => undefined,
  };
}

export const agentInfo = (a: AgentRecord): AgentInfo => ({
  id: a.id,
  nodeAddresses: [...a.nodeAddresses],
  subnets: [...a.subnets],
  appliedRevision: a.appliedRevision,
  appliedEpoch: a.appliedEpoch,
  connected: a.watchers > 0,
  lastError: a.lastError,
  lastSeenMs: a.lastSeenMs,
});

export const snapshot = (s: StoreState): PolicyState => ({
  epoch: s.epoch,
  revision: s.revision,
  agents: [...s.agents.values()].map(agentInfo).sort((a, b) => a.id.localeCompare(b.id)),
  members: [...s.members.values()].sort((a, b) => memberKeyString(a).localeCompare(memberKeyString(b))),
  rules: [...s.rules.values()].sort((a, b) => a.id.localeCompare(b.id)),
});

export const unchanged = (s: StoreState): ChangeResult => ({ epoch: s.epoch, revision: s.revision, changed: false });

export function keyOf(m: MemberKey): MemberKey {
  return { agentId: m.agentId, containerId: m.containerId, ifName: m.ifName };
}
