import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { silentLogger, type Logger } from '@ippc/core';
import { IsolationError, badRequest } from '../errors.js';
import { canonicalAddress, cidrsOverlap, parseCidr } from '../ip.js';
import {
  memberKeyString,
  normalizeAgent,
  normalizeMember,
  normalizeRule,
  ruleContentId,
  validateAgentId,
  type AgentInfo,
  type AgentSpec,
  type Change,
  type Delta,
  type Member,
  type MemberKey,
  type PolicyState,
  type Rule,
  type RuleInput,
} from '../model.js';
import { groupsOf, routesFor } from '../policy.js';

// The service's state: agents, members, rules, a revision per change, and what each agent has
// applied. All mutations are synchronous (one event loop turn), so a watcher that takes a snapshot
// and subscribes in the same turn never misses or repeats a change.

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

interface AgentRecord extends AgentInfo {
  /** Revision at which the agent registered: releases before it cannot be in its sets. */
  registeredRevision: number;
  watchers: number;
  /** (revision, time) of recent acknowledgements, to measure propagation. */
  acks: { revision: number; atMs: number }[];
}

interface Persisted {
  version: 1;
  epoch: string;
  revision: number;
  agents: (AgentSpec & { appliedRevision: number; appliedEpoch: string; registeredRevision: number })[];
  members: Member[];
  rules: Rule[];
  released: [string, number][];
}

const MAX_ACKS = 256;
const MAX_CHANGE_TIMES = 4096;

/** Creates the store; with `dataFile`, the state on disk is loaded first. */
export async function createPolicyStore(options: PolicyStoreOptions = {}): Promise<PolicyStore> {
  const log = options.logger ?? silentLogger();
  const now = options.now ?? Date.now;
  let epoch: string = randomUUID();
  let revision = 0;
  const agents = new Map<string, AgentRecord>();
  const members = new Map<string, Member>();
  const rules = new Map<string, Rule>();
  /** address → revision that released it; pruned once every agent has applied it. */
  const released = new Map<string, number>();
  /** address → key of the member holding it. */
  const holders = new Map<string, string>();
  const changeTimes = new Map<number, number>();
  const listeners = new Set<(delta: Delta) => void>();
  const propagationListeners: ((revision: number, ms: number) => void)[] = [];
  /** Pending awaitApplied calls: `check` resolves when done, `done` resolves now. */
  const waiters = new Set<{ check: () => void; done: () => void }>();
  /** Connections counted before the agent registered. */
  const earlyWatchers = new Map<string, number>();

  if (options.dataFile) {
    const text = await readFile(options.dataFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (text !== undefined) {
      let data: Persisted;
      try {
        data = JSON.parse(text) as Persisted;
        if (data.version !== 1) throw new Error(`unknown version ${String(data.version)}`);
      } catch (cause) {
        throw new IsolationError('ISOLATION_BAD_REQUEST', `cannot read the isolation state in ${options.dataFile}: ${(cause as Error).message}; move the file away to start empty`, { cause });
      }
      epoch = data.epoch;
      revision = data.revision;
      for (const a of data.agents) {
        agents.set(a.id, { ...a, connected: false, lastError: '', lastSeenMs: 0, watchers: 0, acks: [] });
      }
      for (const m of data.members) {
        members.set(memberKeyString(m), m);
        for (const addr of m.addresses) holders.set(addr, memberKeyString(m));
      }
      for (const r of data.rules) rules.set(r.id, r);
      for (const [addr, rev] of data.released) released.set(addr, rev);
      log.info({ epoch, revision, agents: agents.size, members: members.size, rules: rules.size }, 'isolation state loaded');
    }
  }

  // Persistence: one write at a time, the latest state wins; atomic by rename.
  let writing: Promise<void> | undefined;
  let dirty = false;
  const persist = (): void => {
    if (!options.dataFile) return;
    dirty = true;
    if (writing) return;
    const file = options.dataFile;
    writing = (async () => {
      await mkdir(dirname(file), { recursive: true });
      while (dirty) {
        dirty = false;
        const data: Persisted = {
          version: 1,
          epoch,
          revision,
          agents: [...agents.values()].map((a) => ({ id: a.id, nodeAddresses: a.nodeAddresses, subnets: a.subnets, appliedRevision: a.appliedRevision, appliedEpoch: a.appliedEpoch, registeredRevision: a.registeredRevision })),
          members: [...members.values()],
          rules: [...rules.values()],
          released: [...released.entries()],
        };
        const tmp = `${file}.${process.pid}.tmp`;
        await writeFile(tmp, JSON.stringify(data));
        await rename(tmp, file);
      }
    })()
      .catch((err: unknown) => log.error({ err }, 'cannot write the isolation state'))
      .finally(() => {
        writing = undefined;
      });
  };

  const agentInfo = (a: AgentRecord): AgentInfo => ({
    id: a.id,
    nodeAddresses: [...a.nodeAddresses],
    subnets: [...a.subnets],
    appliedRevision: a.appliedRevision,
    appliedEpoch: a.appliedEpoch,
    connected: a.watchers > 0,
    lastError: a.lastError,
    lastSeenMs: a.lastSeenMs,
  });

  const snapshot = (): PolicyState => ({
    epoch,
    revision,
    agents: [...agents.values()].map(agentInfo).sort((a, b) => a.id.localeCompare(b.id)),
    members: [...members.values()].sort((a, b) => memberKeyString(a).localeCompare(memberKeyString(b))),
    rules: [...rules.values()].sort((a, b) => a.id.localeCompare(b.id)),
  });

  const unchanged = (): ChangeResult => ({ epoch, revision, changed: false });

  /** Applies a list of changes as one new revision and tells every watcher. */
  const commit = (changes: Change[]): ChangeResult => {
    if (changes.length === 0) return unchanged();
    revision += 1;
    const rev = revision;
    for (const c of changes) {
      switch (c.kind) {
        case 'member-upserted': {
          const key = memberKeyString(c.member);
          const old = members.get(key);
          if (old) for (const addr of old.addresses) if (!c.member.addresses.includes(addr)) release(addr, key, rev);
          members.set(key, c.member);
          for (const addr of c.member.addresses) {
            holders.set(addr, key);
            released.delete(addr);
          }
          break;
        }
        case 'member-removed': {
          const key = memberKeyString(c.key);
          const old = members.get(key);
          members.delete(key);
          if (old) for (const addr of old.addresses) release(addr, key, rev);
          break;
        }
        case 'agent-upserted': {
          const existing = agents.get(c.agent.id);
          if (existing) Object.assign(existing, { nodeAddresses: c.agent.nodeAddresses, subnets: c.agent.subnets });
          else {
            const watchers = earlyWatchers.get(c.agent.id) ?? 0;
            earlyWatchers.delete(c.agent.id);
            agents.set(c.agent.id, { ...c.agent, registeredRevision: rev, watchers, acks: [], connected: watchers > 0 });
          }
          break;
        }
        case 'agent-removed':
          agents.delete(c.id);
          break;
        case 'rule-upserted':
          rules.set(c.rule.id, c.rule);
          break;
        case 'rule-removed':
          rules.delete(c.id);
          break;
      }
    }
    changeTimes.set(rev, now());
    if (changeTimes.size > MAX_CHANGE_TIMES) changeTimes.delete(changeTimes.keys().next().value as number);
    const delta: Delta = { epoch, revision: rev, changes };
    for (const l of listeners) {
      try {
        l(delta);
      } catch (err) {
        log.warn({ err }, 'a watcher failed; it is dropped');
        listeners.delete(l);
      }
    }
    persist();
    // With no agent registered a revision is trivially everywhere.
    settle();
    return { epoch, revision: rev, changed: true };
  };

  /** The address leaves `key`; unless another member took it in the same revision, it drains. */
  function release(addr: string, key: string, rev: number): void {
    if (holders.get(addr) !== key) return;
    holders.delete(addr);
    released.set(addr, rev);
  }

  const appliedBy = (a: AgentRecord, rev: number): boolean => a.registeredRevision >= rev || (a.appliedEpoch === epoch && a.appliedRevision >= rev);

  const agentsBehind = (rev: number): AgentRecord[] => [...agents.values()].filter((a) => !appliedBy(a, rev));

  /** Drops releases every agent has applied; wakes waiters; reports propagation. */
  let propagatedUpTo = 0;
  function settle(): void {
    const behind = [...agents.values()];
    let minApplied = revision;
    for (const a of behind) {
      const applied = a.appliedEpoch === epoch ? a.appliedRevision : 0;
      minApplied = Math.min(minApplied, Math.max(applied, a.registeredRevision));
    }
    for (const [addr, rev] of released) if (rev <= minApplied) released.delete(addr);
    if (minApplied > propagatedUpTo) {
      const at = now();
      // Newest first is what matters; older revisions in the same step took at least as long.
      const changedAt = changeTimes.get(minApplied);
      if (changedAt !== undefined) for (const l of propagationListeners) l(minApplied, at - changedAt);
      propagatedUpTo = minApplied;
    }
    for (const w of [...waiters]) w.check();
  }

  const requireAgent = (id: string): AgentRecord => {
    const a = agents.get(validateAgentId(id));
    if (!a) throw new IsolationError('ISOLATION_UNKNOWN_AGENT', `agent '${id}' is not registered: start ippc-isolation-agent on it (it registers the agent) or check the id`, { details: { agentId: id } });
    return a;
  };

  const sameMember = (a: Member, b: Member): boolean =>
    a.network === b.network && a.addresses.join() === b.addresses.join() && a.groups.join('\u0000') === b.groups.join('\u0000');

  /** Throws when an address of `m` is held by a member other than those in `replacing`. */
  const checkAddresses = (m: Member, replacing: Set<string>): void => {
    for (const addr of m.addresses) {
      const holder = holders.get(addr);
      if (holder && holder !== memberKeyString(m) && !replacing.has(holder)) {
        throw new IsolationError(
          'ISOLATION_ADDRESS_IN_USE',
          `address ${addr} is still attached to ${holder}: detach that container first (or deregister its agent if it is gone)`,
          { details: { address: addr, holder } },
        );
      }
    }
  };

  const store: PolicyStore = {
    get epoch() {
      return epoch;
    },
    get revision() {
      return revision;
    },
    snapshot,
    watch(listener) {
      const snap = snapshot();
      listeners.add(listener);
      return { snapshot: snap, unsubscribe: () => listeners.delete(listener) };
    },
    registerAgent(spec) {
      const agent = normalizeAgent(spec);
      for (const other of agents.values()) {
        if (other.id === agent.id) continue;
        for (const s of agent.subnets) {
          const mine = parseCidr(s);
          const clash = other.subnets.find((o) => cidrsOverlap(mine, parseCidr(o)));
          if (clash) throw new IsolationError('ISOLATION_SUBNET_CONFLICT', `subnet ${s} of agent '${agent.id}' overlaps ${clash} of agent '${other.id}': give each agent its own subnet`, { details: { subnet: s, agentId: other.id } });
        }
        const shared = agent.nodeAddresses.find((a) => other.nodeAddresses.includes(a));
        if (shared) throw new IsolationError('ISOLATION_ADDRESS_IN_USE', `node address ${shared} is already agent '${other.id}''s: each agent needs its own address`, { details: { address: shared, agentId: other.id } });
      }
      const existing = agents.get(agent.id);
      if (existing) {
        existing.lastSeenMs = now();
        if (existing.nodeAddresses.join() === agent.nodeAddresses.join() && existing.subnets.join() === agent.subnets.join()) return unchanged();
      }
      const info: AgentInfo = existing
        ? { ...agentInfo(existing), nodeAddresses: agent.nodeAddresses, subnets: agent.subnets }
        : { ...agent, appliedRevision: 0, appliedEpoch: '', connected: false, lastError: '', lastSeenMs: now() };
      return commit([{ kind: 'agent-upserted', agent: info }]);
    },
    deregisterAgent(id) {
      const agent = agents.get(validateAgentId(id));
      if (!agent) return unchanged();
      const changes: Change[] = [...members.values()].filter((m) => m.agentId === id).map((m) => ({ kind: 'member-removed' as const, key: keyOf(m) }));
      changes.push({ kind: 'agent-removed', id });
      return commit(changes);
    },
    syncMembers(agentId, list) {
      requireAgent(agentId);
      const wanted = new Map<string, Member>();
      for (const raw of list) {
        const m = normalizeMember({ ...raw, agentId });
        const key = memberKeyString(m);
        if (wanted.has(key)) throw badRequest(`member ${key} is listed twice`);
        wanted.set(key, m);
      }
      const mine = new Set([...members.values()].filter((m) => m.agentId === agentId).map(memberKeyString));
      const seen = new Map<string, string>();
      for (const m of wanted.values()) {
        checkAddresses(m, mine);
        for (const addr of m.addresses) {
          const other = seen.get(addr);
          if (other) throw new IsolationError('ISOLATION_ADDRESS_IN_USE', `address ${addr} is listed for both ${other} and ${memberKeyString(m)}`, { details: { address: addr } });
          seen.set(addr, memberKeyString(m));
        }
      }
      const changes: Change[] = [];
      for (const key of mine) if (!wanted.has(key)) changes.push({ kind: 'member-removed', key: keyOf(members.get(key)!) });
      for (const [key, m] of wanted) {
        const old = members.get(key);
        if (!old || !sameMember(old, m)) changes.push({ kind: 'member-upserted', member: old ? { ...m, attachedAtMs: old.attachedAtMs } : m });
      }
      // Removals first: an address may move between two members of this agent.
      return commit(changes);
    },
    attach(input) {
      const m = normalizeMember(input);
      requireAgent(m.agentId);
      checkAddresses(m, new Set());
      const old = members.get(memberKeyString(m));
      if (old && sameMember(old, m)) return unchanged();
      return commit([{ kind: 'member-upserted', member: old ? { ...m, attachedAtMs: old.attachedAtMs } : m }]);
    },
    detach(input) {
      const key = { agentId: validateAgentId(input.agentId), containerId: input.containerId ?? '', ifName: input.ifName || 'eth0' };
      if (!key.containerId) throw badRequest('detach needs a container id');
      if (!members.has(memberKeyString(key))) return unchanged();
      return commit([{ kind: 'member-removed', key }]);
    },
    addRule(input) {
      const rule = normalizeRule(input);
      const existing = rules.get(rule.id);
      if (existing) {
        // Same rule again; an empty description keeps the one it has (proto3 cannot tell '' from unset).
        if (ruleContentId(existing) === ruleContentId(rule) && (!rule.description || rule.description === existing.description)) return { ...unchanged(), rule: existing };
        if (input.id) throw new IsolationError('ISOLATION_RULE_CONFLICT', `rule id '${rule.id}' is already used by another rule: remove it first or pick another id`, { details: { ruleId: rule.id } });
        // Same content, new description: an update.
      }
      return { ...commit([{ kind: 'rule-upserted', rule }]), rule };
    },
    removeRule(id) {
      if (!rules.has(id)) throw new IsolationError('ISOLATION_UNKNOWN_RULE', `there is no rule '${id}': list the rules to see their ids`, { details: { ruleId: id } });
      return commit([{ kind: 'rule-removed', id }]);
    },
    reportApplied(agentId, reportEpoch, rev, error) {
      const a = agents.get(agentId);
      if (!a) return;
      a.lastSeenMs = now();
      a.lastError = error ?? '';
      if (error || reportEpoch !== epoch) return;
      if (a.appliedEpoch === epoch && rev <= a.appliedRevision) return;
      a.appliedEpoch = epoch;
      a.appliedRevision = rev;
      a.acks.push({ revision: rev, atMs: now() });
      if (a.acks.length > MAX_ACKS) a.acks.shift();
      persist();
      settle();
    },
    setConnected(agentId, delta) {
      const a = agents.get(agentId);
      if (a) {
        a.watchers = Math.max(0, a.watchers + delta);
        a.lastSeenMs = now();
      } else earlyWatchers.set(agentId, Math.max(0, (earlyWatchers.get(agentId) ?? 0) + delta));
    },
    agents: () => snapshot().agents,
    members(filter = {}) {
      return snapshot().members.filter((m) => (!filter.agentId || m.agentId === filter.agentId) && (!filter.group || m.groups.includes(filter.group)));
    },
    rules: () => snapshot().rules,
    groups() {
      const snap = snapshot();
      return groupsOf(snap).map((name) => ({
        name,
        members: snap.members.filter((m) => m.groups.includes(name)),
        ruleIds: snap.rules.filter((r) => r.from === name || r.to === name).map((r) => r.id),
      }));
    },
    routes(agentId) {
      const list = [...agents.values()];
      const ids = agentId ? [requireAgent(agentId).id] : list.map((a) => a.id).sort();
      return ids.flatMap((id) => routesFor(list, id));
    },
    checkAddresses(addresses) {
      return addresses.map((raw) => {
        const address = canonicalAddress(raw.includes('/') ? raw.slice(0, raw.indexOf('/')) : raw);
        const holder = holders.get(address);
        if (holder) {
          const m = members.get(holder)!;
          return { address, state: 'in-use' as const, holders: [keyOf(m)], pendingAgents: [], releasedRevision: 0 };
        }
        const rev = released.get(address);
        if (rev === undefined) return { address, state: 'clear' as const, holders: [], pendingAgents: [], releasedRevision: 0 };
        const pending = agentsBehind(rev).map((a) => a.id).sort();
        return { address, state: pending.length > 0 ? ('draining' as const) : ('clear' as const), holders: [], pendingAgents: pending, releasedRevision: rev };
      });
    },
    awaitApplied(rev, timeoutMs) {
      const target = rev && rev > 0 ? Math.min(rev, revision) : revision;
      const result = (): AwaitResult => {
        const changedAt = changeTimes.get(target);
        const progress = [...agents.values()]
          .sort((a, b) => a.id.localeCompare(b.id))
          .map((a) => {
            const applied = appliedBy(a, target);
            const ack = a.acks.find((k) => k.revision >= target);
            return {
              agentId: a.id,
              appliedRevision: a.appliedEpoch === epoch ? a.appliedRevision : 0,
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
            waiters.delete(waiter);
            resolve(result());
          },
          check: () => {
            if (agentsBehind(target).length === 0) waiter.done();
          },
        };
        const timer = setTimeout(waiter.done, timeoutMs);
        waiters.add(waiter);
      });
    },
    onPropagated(listener) {
      propagationListeners.push(listener);
    },
    async flush() {
      while (writing) await writing;
    },
    async close() {
      listeners.clear();
      for (const w of [...waiters]) w.done();
      while (writing) await writing;
    },
  };
  return store;
}

function keyOf(m: MemberKey): MemberKey {
  return { agentId: m.agentId, containerId: m.containerId, ifName: m.ifName };
}
