import { silentLogger, type Logger } from '@ippc/core';
import type { AgentInfo, AgentSpec, Delta, Member, MemberKey, PolicyState, Rule, RuleInput } from '../../model.js';
import type { routesFor } from '../../policy.js';
import { deregisterAgent, registerAgent, setConnected } from './agents.js';
import { attach, detach, syncMembers } from './members.js';
import { createStateWriter, loadState } from './persistence.js';
import { awaitApplied, reportApplied } from './propagation.js';
import { addRule, removeRule } from './rules.js';
import { createStoreState, snapshot } from './state.js';
import { checkAddresses, groups, members, routes } from './views.js';

// The policy store of the isolation service: agents, members, rules, a revision per change, and
// what each agent has applied (the state and why its mutations are synchronous: state.ts). Each
// kind of change has its file (agents.ts, members.ts, rules.ts), all committed through commit.ts;
// propagation.ts follows what the agents applied, views.ts derives groups, routes and the IPAM
// view of addresses, persistence.ts keeps it all in a data file.

export interface PolicyStoreOptions {
  /**
   * A JSON file to keep the state in (written atomically after each change, read at start).
   * Default: none, the state lives in memory and a restart starts a new epoch (agents re-sync
   * their members when they reconnect; rules are lost).
   */
  dataFile?: string;
  logger?: Logger;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
}

export interface ChangeResult {
  epoch: string;
  revision: number;
  changed: boolean;
}

export type AddressState = 'clear' | 'in-use' | 'draining';

export interface AddressStatus {
  address: string;
  state: AddressState;
  holders: MemberKey[];
  /** Agents that have not yet applied the release. */
  pendingAgents: string[];
  /** The revision that released it (0 if never released while this service ran). */
  releasedRevision: number;
}

export interface AgentProgress {
  agentId: string;
  appliedRevision: number;
  applied: boolean;
  /** From the change to the agent's acknowledgement; 0 while not applied. */
  latencyMs: number;
}

export interface AwaitResult {
  allApplied: boolean;
  revision: number;
  agents: AgentProgress[];
}

export interface GroupView {
  name: string;
  members: Member[];
  ruleIds: string[];
}

export interface PolicyStore {
  readonly epoch: string;
  readonly revision: number;
  snapshot(): PolicyState;
  /** Takes a snapshot and subscribes in one step: the listener gets every later delta, in order. */
  watch(listener: (delta: Delta) => void): { snapshot: PolicyState; unsubscribe(): void };
  registerAgent(spec: Partial<AgentSpec>): ChangeResult;
  deregisterAgent(id: string): ChangeResult;
  syncMembers(agentId: string, members: Partial<Member>[]): ChangeResult;
  attach(member: Partial<Member>): ChangeResult;
  detach(key: Partial<MemberKey>): ChangeResult;
  addRule(input: RuleInput): ChangeResult & { rule: Rule };
  removeRule(id: string): ChangeResult;
  reportApplied(agentId: string, epoch: string, revision: number, error?: string): void;
  /** Counts open watch streams of an agent (+1 on open, -1 on close). */
  setConnected(agentId: string, delta: 1 | -1): void;
  agents(): AgentInfo[];
  members(filter?: { agentId?: string; group?: string }): Member[];
  rules(): Rule[];
  groups(): GroupView[];
  routes(agentId?: string): ReturnType<typeof routesFor>;
  checkAddresses(addresses: string[]): AddressStatus[];
  /** Resolves when every registered agent applied `revision` (default: the current one) or at the deadline. */
  awaitApplied(revision: number | undefined, timeoutMs: number): Promise<AwaitResult>;
  /** Called once per revision when the last agent has applied it, with the time it took. */
  onPropagated(listener: (revision: number, ms: number) => void): void;
  /** Resolves when the state on disk holds every change so far (immediately without a data file). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Creates the store; with `dataFile`, the state on disk is loaded first. */
export async function createPolicyStore(options: PolicyStoreOptions = {}): Promise<PolicyStore> {
  const s = createStoreState(options.logger ?? silentLogger(), options.now ?? Date.now);
  if (options.dataFile) await loadState(s, options.dataFile);
  const writer = createStateWriter(s, options.dataFile);
  s.persist = writer.persist;

  return {
    get epoch() {
      return s.epoch;
    },
    get revision() {
      return s.revision;
    },
    snapshot: () => snapshot(s),
    watch(listener) {
      const snap = snapshot(s);
      s.listeners.add(listener);
      return { snapshot: snap, unsubscribe: () => s.listeners.delete(listener) };
    },
    registerAgent: (spec) => registerAgent(s, spec),
    deregisterAgent: (id) => deregisterAgent(s, id),
    syncMembers: (agentId, list) => syncMembers(s, agentId, list),
    attach: (input) => attach(s, input),
    detach: (input) => detach(s, input),
    addRule: (input) => addRule(s, input),
    removeRule: (id) => removeRule(s, id),
    reportApplied: (agentId, reportEpoch, rev, error) => reportApplied(s, agentId, reportEpoch, rev, error),
    setConnected: (agentId, delta) => setConnected(s, agentId, delta),
    agents: () => snapshot(s).agents,
    members: (filter) => members(s, filter),
    rules: () => snapshot(s).rules,
    groups: () => groups(s),
    routes: (agentId) => routes(s, agentId),
    checkAddresses: (addresses) => checkAddresses(s, addresses),
    awaitApplied: (rev, timeoutMs) => awaitApplied(s, rev, timeoutMs),
    onPropagated(listener) {
      s.propagationListeners.push(listener);
    },
    flush: () => writer.flush(),
    async close() {
      s.listeners.clear();
      for (const w of [...s.waiters]) w.done();
      await writer.flush();
    },
  };
}
