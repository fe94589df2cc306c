import { join } from 'node:path';
import { Backoff, createMetricsRegistry, Mutex, silentLogger, type Logger } from '@ippc/core';
import type { Registry } from 'prom-client';
import { DEFAULT_NODE_DAEMON_SOCKET } from '../cni/handler.js';
import type { IsolationClient } from '../client.js';
import { createEnforcer, type ApplyResult, type Enforcer } from '../enforcer/enforcer.js';
import { normalizeAgent, type AgentSpec, type Member, type PolicyState } from '../model.js';
import { createNodeDaemonMetrics, type NodeDaemonMetrics } from './metrics.js';
import type { IsolationNodeDaemonOptions } from './node-daemon.js';
import { unsynced } from './sync.js';

// What the pieces of the node daemon share: its settings, the membership it keeps, the service's
// state as it knows it, and each piece's own bookkeeping (one group per file that owns it).

/** What the enforcer applied last: the service state under it and the local membership version. */
export interface Applied {
  base: PolicyState | undefined;
  live: boolean;
  localVersion: number;
}

export interface Waiter {
  done: () => boolean;
  resolve(): void;
}

/** A service call that succeeded, until the watched state shows it (so it is not sent again). */
export interface Sent {
  member: Member | undefined;
  epoch: string;
  revision: number;
}

/** checkpoint.ts: the journal file and the serialization of checkpoint changes. */
export interface CheckpointState {
  /** Checkpoint changes are serialized: two writes of members.json never cross. */
  readonly lock: Mutex;
  journalFd: number | undefined;
  journalEntries: number;
  compactPending: boolean;
}

/** acknowledge.ts: what state.json holds and what the service was told. */
export interface AckState {
  /** Bumped whenever the service state changes in more than this agent's own members. */
  stateSeq: number;
  seqOf: WeakMap<PolicyState, number>;
  cachedSeq: number;
  acked: { epoch: string; revision: number; error: string } | undefined;
  ackWant: { state: PolicyState; error: string } | undefined;
  acking: Promise<void> | undefined;
  ackTimer: NodeJS.Timeout | undefined;
}

/** enforce.ts: the apply in flight and the one after it. */
export interface ApplyState {
  /** The result of the last apply (which phases of a CNI call it took). */
  lastApply: ApplyResult | undefined;
  applying: boolean;
  reapply: boolean;
  forceNext: boolean;
  retryTimer: NodeJS.Timeout | undefined;
}

/** sync.ts: the rounds telling the service about local members. */
export interface SyncState {
  sent: Map<string, Sent>;
  registeredAt: { epoch: string; revision: number } | undefined;
  pushing: boolean;
  pushAgain: boolean;
  pushTimer: NodeJS.Timeout | undefined;
  /** Delays between failed rounds: `retryMs` doubling up to `maxRetryMs`, back to `retryMs` once a round succeeds. */
  readonly backoff: Backoff;
}

export interface NodeDaemonContext {
  /** This agent: its id, node addresses and container subnets. */
  readonly spec: AgentSpec;
  /** This agent's id. */
  readonly me: string;
  readonly log: Logger;
  readonly client: IsolationClient;
  readonly enforcer: Enforcer;
  readonly socketPath: string;
  readonly dataDir: string;
  readonly checkpointFile: string;
  readonly journalFile: string;
  readonly stateFile: string;
  readonly applyTimeoutMs: number;
  readonly retryMs: number;
  readonly registry: Registry;
  readonly metrics: NodeDaemonMetrics;

  /** The checkpoint: this agent's members. */
  readonly local: Map<string, Member>;
  /** Bumped on every change of `local`; an apply records the version it enforced. */
  localVersion: number;
  /** The service's state as last watched (`live`), or the cached one after a restart. */
  base: PolicyState | undefined;
  live: boolean;
  applied: Applied | undefined;
  connected: boolean;
  lastError: string;
  syncError: string;
  closed: boolean;
  readonly waiters: Set<Waiter>;

  readonly checkpoint: CheckpointState;
  readonly acks: AckState;
  readonly apply: ApplyState;
  readonly sync: SyncState;
  /** The phases of the last CNI ADDs and DELs (ms), for `GET /timings`. */
  readonly timings: { command: string; phases: Record<string, number> }[];
}

/** The context of a new daemon, its defaults filled in. */
export function createContext(options: IsolationNodeDaemonOptions): NodeDaemonContext {
  const spec = normalizeAgent(options.agent);
  const me = spec.id;
  const log = options.logger ?? silentLogger();
  const enforcer: Enforcer =
    options.enforcer && 'apply' in options.enforcer ? options.enforcer : createEnforcer({ ...(options.enforcer ?? {}), agentId: me, logger: log });
  const dataDir = options.dataDir ?? '/var/lib/ippc/isolation';
  const retryMs = options.retryMs ?? 500;
  const registry = options.metrics ?? createMetricsRegistry('isolation-node');
  const ctx: NodeDaemonContext = {
    spec,
    me,
    log,
    client: options.client,
    enforcer,
    socketPath: options.socketPath ?? DEFAULT_NODE_DAEMON_SOCKET,
    dataDir,
    checkpointFile: join(dataDir, 'members.json'),
    journalFile: join(dataDir, 'members.log'),
    stateFile: join(dataDir, 'state.json'),
    applyTimeoutMs: options.applyTimeoutMs ?? 5_000,
    retryMs,
    registry,
    metrics: createNodeDaemonMetrics(registry, {
      appliedRevision: () => ctx.applied?.base?.revision ?? 0,
      members: () => ctx.local.size,
      unsynced: () => unsynced(ctx),
    }),
    local: new Map(),
    localVersion: 0,
    base: undefined,
    live: false,
    applied: undefined,
    connected: false,
    lastError: '',
    syncError: '',
    closed: false,
    waiters: new Set(),
    checkpoint: { lock: new Mutex(), journalFd: undefined, journalEntries: 0, compactPending: false },
    acks: { stateSeq: 0, seqOf: new WeakMap(), cachedSeq: -1, acked: undefined, ackWant: undefined, acking: undefined, ackTimer: undefined },
    apply: { lastApply: undefined, applying: false, reapply: false, forceNext: false, retryTimer: undefined },
    sync: {
      sent: new Map(),
      registeredAt: undefined,
      pushing: false,
      pushAgain: false,
      pushTimer: undefined,
      backoff: new Backoff({ initialMs: retryMs, maxMs: Math.max(retryMs, options.maxRetryMs ?? 5_000) }),
    },
    timings: [],
  };
  return ctx;
}
