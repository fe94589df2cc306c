import { closeSync, ftruncateSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { createMetricsRegistry, isIppcError, silentLogger, type Logger } from '@ippc/core';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { DEFAULT_NODE_DAEMON_SOCKET, handleCni, type CniBackend, type CniRequest, type CniResponse, type CniTrace } from '../cni/handler.js';
import type { IsolationClient, WatchHandlers } from '../client.js';
import { createEnforcer, type ApplyResult, type Enforcer, type EnforcerOptions } from '../enforcer/enforcer.js';
import { IsolationError } from '../errors.js';
import { memberKeyString, normalizeAgent, type AgentSpec, type Delta, type Member, type MemberKey, type PolicyState } from '../model.js';
import { applyDelta, sameMembership } from '../state.js';

export interface IsolationNodeDaemonOptions {
  /** This agent: its id, node address(es) on the cluster network and container subnets. */
  agent: AgentSpec;
  /** Client of the isolation service. */
  client: IsolationClient;
  /** The enforcer, or options for one (`agentId` is filled in). Default: act in the process's own namespace. */
  enforcer?: Enforcer | Omit<EnforcerOptions, 'agentId'>;
  /** Unix socket the `ippc-isolation` CNI plugin talks to. Default /run/ippc/isolation.sock. */
  socketPath?: string;
  /**
   * Folder of the local checkpoint (what this agent runs, the truth: `members.json` and the journal
   * of changes since, `members.log`) and of the cache of the last service state it enforced
   * (`state.json`). Default /var/lib/ippc/isolation.
   */
  dataDir?: string;
  /** How long a CNI ADD waits for the local enforcer before failing with "try again later". Default 5 s. */
  applyTimeoutMs?: number;
  /** Backoff after a failed apply before a full rebuild is tried; first backoff of a failed service call. Default 500 ms. */
  retryMs?: number;
  /** Longest backoff between attempts to tell the service about local members. Default 5 s. */
  maxRetryMs?: number;
  metrics?: Registry;
  logger?: Logger;
}

export interface NodeDaemonStatus {
  agentId: string;
  /** A snapshot arrived and the watch stream is open. */
  connected: boolean;
  epoch: string;
  /** Revision of the last service state the enforcer applied (0: none yet). */
  appliedRevision: number;
  /** Revision the service is at, as far as this daemon knows. */
  knownRevision: number;
  members: number;
  /**
   * Local members (and removals) the service does not hold yet, as far as this daemon knows; 0
   * when the service agrees with the checkpoint. Counted against the last state watched.
   */
  unsynced: number;
  lastError: string;
}

/** The node daemon: enforcer + CNI endpoint + membership checkpoint, kept in step with the service. */
export interface IsolationNodeDaemon {
  readonly socketPath: string;
  readonly enforcer: Enforcer;
  readonly metrics: Registry;
  start(): Promise<void>;
  close(): Promise<void>;
  status(): NodeDaemonStatus;
  /** Local members from the checkpoint. */
  members(): Member[];
  /** Records the member, enforces it locally, and resolves; the service learns it in the background. */
  attach(member: Member): Promise<void>;
  /** Forgets the member, removes it locally, and resolves; the service learns it in the background. */
  detach(key: MemberKey): Promise<void>;
  check(member: Member): Promise<void>;
  /**
   * Answers one CNI call as a request on the socket would be answered (same handling, metrics,
   * `/timings` and log), without the socket: for a process that embeds this daemon and runs the
   * plugin chain itself (see {@link createInProcessCniPlugin}).
   */
  cni(req: Omit<CniRequest, 'trace'>): Promise<CniResponse>;
  /** True from `start()` until `close()`: while the socket answers. */
  readonly serving: boolean;
  /** Replaces the table and re-reads routes from the kernel (e.g. after someone edited them). */
  resync(): Promise<ApplyResult | undefined>;
  /** Resolves after the enforcer applied the service's current state (rejects on timeout). */
  waitForApplied(timeoutMs: number): Promise<void>;
  /**
   * Resolves once the daemon enforces a policy: the service's, or after a restart the cached one
   * (so CNI ADDs are served while the service is away). Rejects on timeout.
   */
  waitForEnforcing(timeoutMs: number): Promise<void>;
  /** Resolves when the service (as watched) holds exactly the checkpointed members (rejects on timeout). */
  waitForSynced(timeoutMs: number): Promise<void>;
}

/** What the enforcer applied last: the service state under it and the local membership version. */
interface Applied {
  base: PolicyState | undefined;
  live: boolean;
  localVersion: number;
}

interface Waiter {
  done: () => boolean;
  resolve(): void;
}

/** A service call that succeeded, until the watched state shows it (so it is not sent again). */
interface Sent {
  member: Member | undefined;
  epoch: string;
  revision: number;
}

const STATE_CACHE_VERSION = 1;
/** CNI calls whose phase timings `GET /timings` shows. */
const TIMINGS_KEPT = 256;
/** Journal entries after which the checkpoint snapshot is rewritten. */
const JOURNAL_LIMIT = 256;

/**
 * Creates the node daemon of an agent.
 *
 * Local first: a CNI ADD records the member in the checkpoint (`members.json`, the truth for what
 * the agent runs) and applies it to the local nftables sets, and is answered then; so membership
 * takes effect before the task is reported RUNNING without a round trip to the service. The
 * service learns it in the background (retried with backoff until it holds exactly the
 * checkpoint), and the other agents through its watch stream. DEL is symmetrical. The daemon
 * enforces the service's state with this agent's members replaced by the checkpoint's, keeps
 * the last service state it enforced in `state.json` (written before that state is
 * acknowledged), and after a restart enforces that cache at once, then whatever the service says.
 *
 * IPAM reuse stays safe: a removal is applied here before the service hears of it, and the
 * service calls an address clear only once it has heard of the removal and every agent has
 * acknowledged the revision that recorded it.
 *
 * @example
 * ```ts
 * const daemon = createIsolationNodeDaemon({
 *   agent: { id: 'agent1', nodeAddresses: ['10.240.0.11'], subnets: ['10.240.1.0/24'] },
 *   client: createIsolationClient({ address: 'isolation:7070', auth: { token } }),
 * });
 * await daemon.start();
 * ```
 */
export function createIsolationNodeDaemon(options: IsolationNodeDaemonOptions): IsolationNodeDaemon {
  const spec = normalizeAgent(options.agent);
  const me = spec.id;
  const log = options.logger ?? silentLogger();
  const client = options.client;
  const enforcer: Enforcer = options.enforcer && 'apply' in options.enforcer ? options.enforcer : createEnforcer({ ...(options.enforcer ?? {}), agentId: me, logger: log });
  const socketPath = options.socketPath ?? DEFAULT_NODE_DAEMON_SOCKET;
  const dataDir = options.dataDir ?? '/var/lib/ippc/isolation';
  const checkpointFile = join(dataDir, 'members.json');
  const journalFile = join(dataDir, 'members.log');
  const stateFile = join(dataDir, 'state.json');
  const applyTimeoutMs = options.applyTimeoutMs ?? 5_000;
  const retryMs = options.retryMs ?? 500;
  const maxRetryMs = Math.max(retryMs, options.maxRetryMs ?? 5_000);
  const registry = options.metrics ?? createMetricsRegistry('isolation-node');

  const cniRequests = new Counter({ name: 'ippc_isolation_cni_requests_total', help: 'CNI calls by command and result', labelNames: ['command', 'result'], registers: [registry] });
  const cniSeconds = new Histogram({
    name: 'ippc_isolation_cni_seconds',
    help: 'Time the daemon spends on a CNI call (ADD includes the local enforcement)',
    labelNames: ['command'],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [registry],
  });
  const applySeconds = new Histogram({
    name: 'ippc_isolation_apply_seconds',
    help: 'Time to apply a state to nftables and routes, by mode',
    labelNames: ['mode'],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  const cniPhaseSeconds = new Histogram({
    name: 'ippc_isolation_cni_phase_seconds',
    help: 'Where the daemon spends a CNI ADD/DEL, by phase: body (receiving the request), decode (its JSON), record (the checkpoint journal, after earlier changes), enforce (until the local sets hold it), answer (the reply written)',
    labelNames: ['command', 'phase'],
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 1],
    registers: [registry],
  });
  const applyKernelSeconds = new Histogram({
    name: 'ippc_isolation_apply_kernel_seconds',
    help: 'Of an apply, the time spent waiting for nft (and ip), by mode',
    labelNames: ['mode'],
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 1],
    registers: [registry],
  });
  const applyErrors = new Counter({ name: 'ippc_isolation_apply_errors_total', help: 'Failed applies', registers: [registry] });
  const syncCalls = new Counter({
    name: 'ippc_isolation_agent_sync_calls_total',
    help: 'Calls telling the service about local members, by kind and result',
    labelNames: ['kind', 'result'],
    registers: [registry],
  });

  /** The checkpoint: this agent's members. */
  const local = new Map<string, Member>();
  /** Bumped on every change of `local`; an apply records the version it enforced. */
  let localVersion = 0;
  /** The service's state as last watched (`live`), or the cached one after a restart. */
  let base: PolicyState | undefined;
  let live = false;
  let applied: Applied | undefined;
  let connected = false;
  let lastError = '';
  let syncError = '';
  let closed = false;
  let server: Server | undefined;
  let watch: { close(): void } | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  const waiters = new Set<Waiter>();

  new Gauge({
    name: 'ippc_isolation_agent_applied_revision',
    help: 'Revision of the last service state applied on this agent',
    registers: [registry],
    collect() {
      this.set(applied?.base?.revision ?? 0);
    },
  });
  new Gauge({
    name: 'ippc_isolation_agent_members',
    help: 'Members (container interfaces) on this agent',
    registers: [registry],
    collect() {
      this.set(local.size);
    },
  });
  new Gauge({
    name: 'ippc_isolation_agent_unsynced',
    help: 'Local members and removals the service does not hold yet',
    registers: [registry],
    collect() {
      this.set(unsynced());
    },
  });

  // Checkpoint changes are serialized: two writes of members.json never cross.
  let lock: Promise<unknown> = Promise.resolve();
  function serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = lock.then(fn);
    lock = run.catch(() => undefined);
    return run;
  }

  async function writeAtomic(file: string, data: unknown): Promise<void> {
    const tmp = `${file}.tmp`;
    await writeFile(tmp, JSON.stringify(data));
    await rename(tmp, file);
  }

  // The checkpoint is a snapshot (members.json) plus a journal of the changes since (members.log,
  // one JSON line per ADD or DEL). A change is one synchronous append to an open file (~0.02 ms,
  // safe against a crash of this process once write() returned); rewriting and renaming the
  // snapshot costs 0.2-0.7 ms here (and 2-3.5 ms through the thread pool on a busy machine), so
  // that happens only at start and every JOURNAL_LIMIT changes, after the CNI answer is out.
  // Replaying the journal is idempotent, so a crash between writing a snapshot and truncating the
  // journal is harmless; a torn last line (power loss) is ignored.
  let journalFd: number | undefined;
  let journalEntries = 0;
  let compactPending = false;

  function writeSnapshot(): void {
    const tmp = `${checkpointFile}.tmp`;
    writeFileSync(tmp, JSON.stringify({ version: 1, agentId: me, members: [...local.values()] }));
    renameSync(tmp, checkpointFile);
    journalFd ??= openSync(journalFile, 'a');
    ftruncateSync(journalFd, 0);
    journalEntries = 0;
  }

  /** Appends one change to the journal (throws when it cannot be written). */
  function record(entry: { set: Member } | { del: string }): void {
    journalFd ??= openSync(journalFile, 'a');
    writeSync(journalFd, `${JSON.stringify(entry)}\n`);
    journalEntries += 1;
    if (journalEntries >= JOURNAL_LIMIT && !compactPending) {
      compactPending = true;
      setImmediate(() => {
        void serialized(async () => {
          compactPending = false;
          try {
            writeSnapshot();
          } catch (err) {
            log.error({ err, file: checkpointFile }, 'cannot compact the checkpoint (the journal keeps growing; retrying later)');
          }
        });
      });
    }
  }

  async function readJson(file: string): Promise<unknown> {
    const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)));
    return text === undefined ? undefined : (JSON.parse(text) as unknown);
  }

  async function load(): Promise<void> {
    const data = (await readJson(checkpointFile)) as { members?: Member[] } | undefined;
    for (const m of data?.members ?? []) local.set(memberKeyString(m), m);
    const journal = await readFile(journalFile, 'utf8').catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? '' : Promise.reject(err)));
    let replayed = 0;
    for (const line of journal.split('\n')) {
      if (!line) continue;
      let entry: { set?: Member; del?: string };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        log.warn({ file: journalFile }, 'ignoring a torn line at the end of the checkpoint journal');
        break;
      }
      if (entry.set) local.set(memberKeyString(entry.set), entry.set);
      else if (entry.del) local.delete(entry.del);
      replayed += 1;
    }
    // Start from a fresh snapshot and an empty journal.
    writeSnapshot();
    // The cache is only a cache: unreadable means "wait for the service", not "refuse to start".
    try {
      const cached = (await readJson(stateFile)) as { version?: number; agentId?: string; state?: PolicyState } | undefined;
      if (cached?.version === STATE_CACHE_VERSION && cached.agentId === me && cached.state) {
        base = cached.state;
        seqOf.set(base, stateSeq);
        cachedSeq = stateSeq;
      }
    } catch (err) {
      log.warn({ err, file: stateFile }, 'cannot read the cached isolation state; waiting for the service');
    }
    log.info({ members: local.size, replayed, cachedRevision: base?.revision }, 'checkpoint loaded');
  }

  /** The state to enforce: the service's, with this agent's members replaced by the checkpoint. */
  function effective(): PolicyState {
    const b = base ?? { epoch: '', revision: 0, agents: [], members: [], rules: [] };
    return { ...b, members: [...b.members.filter((m) => m.agentId !== me), ...local.values()] };
  }

  function wake(): void {
    for (const w of [...waiters]) if (w.done()) w.resolve();
  }

  function waitFor(done: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        done,
        resolve: () => {
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new IsolationError('ISOLATION_TIMEOUT', what()));
      }, timeoutMs);
      waiters.add(waiter);
    });
  }

  // Acknowledgements. A service state is acknowledged only once state.json holds it or an
  // equivalent one, so a restarted daemon never enforces an older state than one it acknowledged
  // (the service may have let IPAM reuse an address on the strength of that acknowledgement).
  // Equivalent: differing only in this agent's own members, which are enforced from the
  // checkpoint whatever the cache says; so the deltas that merely echo this agent's own ADDs and
  // DELs cost no write. One acknowledgement in flight at a time, the newest state wins.
  /** Bumped whenever the service state changes in more than this agent's own members. */
  let stateSeq = 0;
  const seqOf = new WeakMap<PolicyState, number>();
  let cachedSeq = -1;
  let acked: { epoch: string; revision: number; error: string } | undefined;
  let ackWant: { state: PolicyState; error: string } | undefined;
  let acking: Promise<void> | undefined;
  let ackTimer: NodeJS.Timeout | undefined;
  function acknowledge(state: PolicyState, error: string): void {
    if (acked && acked.epoch === state.epoch && acked.revision === state.revision && acked.error === error) return;
    ackWant = { state, error };
    if (acking) return;
    acking = (async () => {
      while (ackWant && !closed) {
        const { state: st, error: e } = ackWant;
        ackWant = undefined;
        const seq = seqOf.get(st) ?? -1;
        if (seq !== cachedSeq) {
          try {
            await writeAtomic(stateFile, { version: STATE_CACHE_VERSION, agentId: me, state: st });
            cachedSeq = seq;
          } catch (err) {
            log.error({ err, file: stateFile }, 'cannot cache the applied state; not acknowledging it (retrying)');
            clearTimeout(ackTimer);
            ackTimer = setTimeout(() => acknowledge(st, e), retryMs);
            continue;
          }
        }
        try {
          await client.reportApplied(me, st.epoch, st.revision, e || undefined);
          acked = { epoch: st.epoch, revision: st.revision, error: e };
        } catch (err) {
          log.debug({ err }, 'cannot report the applied revision (the next one will be)');
        }
      }
    })().finally(() => {
      acking = undefined;
    });
  }

  /** Records an applied state: wakes waiters; acknowledges the service state under it. */
  function recordApplied(target: Applied, res: ApplyResult): void {
    applied = target;
    lastApply = res;
    lastError = res.routeErrors.join('; ');
    wake();
    if (target.live && target.base) acknowledge(target.base, lastError);
  }

  /** The result of the last apply (which phases of a CNI call it took). */
  let lastApply: ApplyResult | undefined;
  let applying = false;
  let reapply = false;
  let forceNext = false;
  /** Applies the newest effective state; one at a time, the newest wins; failed applies are retried by rebuild. */
  async function enforce(force = false): Promise<void> {
    if (force) forceNext = true;
    // Before any state and any member there is nothing to enforce (and no table to create).
    if (!base && local.size === 0 && !applied) return;
    if (applying) {
      reapply = true;
      return;
    }
    applying = true;
    try {
      do {
        reapply = false;
        const target: Applied = { base, live, localVersion };
        const state = effective();
        const started = performance.now();
        try {
          const rebuild = forceNext;
          forceNext = false;
          // Without any service state the routes to other agents are unknown: leave them be.
          const opts = { routes: target.base !== undefined };
          const res = rebuild ? await enforcer.rebuild(state, opts) : await enforcer.apply(state, opts);
          applySeconds.observe({ mode: res.mode }, (performance.now() - started) / 1000);
          applyKernelSeconds.observe({ mode: res.mode }, res.kernelMs / 1000);
          recordApplied(target, res);
        } catch (err) {
          applyErrors.inc();
          lastError = (err as Error).message;
          log.error({ err }, 'cannot apply the isolation state; retrying with a rebuild');
          if (target.live && target.base) client.reportApplied(me, target.base.epoch, target.base.revision, lastError).catch(() => undefined);
          if (!closed) {
            clearTimeout(retryTimer);
            retryTimer = setTimeout(() => void enforce(true), retryMs);
          }
          return;
        }
      } while (reapply && !closed);
    } finally {
      applying = false;
    }
  }

  // Telling the service --------------------------------------------------------------------------
  // Level-triggered: the service should hold this agent and exactly the checkpoint's members. Each
  // round compares the checkpoint with the last watched state and sends the difference (removals
  // first: an address may move between two members of this agent); a call that succeeded is not
  // repeated until the watched state has caught up with its revision. Rounds run on every local
  // change, snapshot and delta about this agent, and on a backoff timer after a failure.

  const sent = new Map<string, Sent>();
  let registeredAt: { epoch: string; revision: number } | undefined;
  let pushing = false;
  let pushAgain = false;
  let pushTimer: NodeJS.Timeout | undefined;
  let pushDelay = retryMs;

  const sameAgent = (b: PolicyState): boolean => {
    const a = b.agents.find((x) => x.id === me);
    return a !== undefined && a.nodeAddresses.join() === spec.nodeAddresses.join() && a.subnets.join() === spec.subnets.join();
  };
  /** Sent already and not yet visible in `b`. */
  const inFlight = (key: string, want: Member | undefined, b: PolicyState): boolean => {
    const s = sent.get(key);
    if (!s) return false;
    if (s.epoch !== b.epoch || b.revision >= s.revision) {
      sent.delete(key);
      return false;
    }
    return s.member === undefined ? want === undefined : want !== undefined && sameMembership(s.member, want);
  };

  /** The difference between the checkpoint and the service's members of this agent in `b`. */
  function diff(b: PolicyState): { detach: MemberKey[]; attach: Member[] } {
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

  function unsynced(): number {
    if (!base) return local.size;
    const d = diff(base);
    return d.attach.length + d.detach.length + (sameAgent(base) ? 0 : 1);
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

  function schedulePush(delayMs: number): void {
    clearTimeout(pushTimer);
    pushTimer = setTimeout(() => void push(), delayMs);
    pushTimer.unref();
  }

  async function push(): Promise<void> {
    if (closed) return;
    if (pushing) {
      pushAgain = true;
      return;
    }
    pushing = true;
    try {
      do {
        pushAgain = false;
        // Without a live view the difference is unknown; the next snapshot starts a round.
        if (!connected || !live || !base) return;
        const b = base;
        const errors: unknown[] = [];
        if (!sameAgent(b) && !(registeredAt && registeredAt.epoch === b.epoch && b.revision < registeredAt.revision)) {
          try {
            const r = await client.registerAgent(spec);
            registeredAt = { epoch: r.epoch, revision: r.revision };
            syncCalls.inc({ kind: 'register', result: 'ok' });
          } catch (err) {
            syncCalls.inc({ kind: 'register', result: 'error' });
            errors.push(err);
          }
        }
        if (errors.length === 0) {
          const d = diff(b);
          const detach = d.detach.filter((k) => !inFlight(memberKeyString(k), undefined, b));
          const attach = d.attach.filter((m) => !inFlight(memberKeyString(m), m, b));
          errors.push(
            ...(await inParallel(detach, async (k) => {
              const r = await client.detach(k).catch((err: unknown) => {
                syncCalls.inc({ kind: 'detach', result: 'error' });
                throw err;
              });
              syncCalls.inc({ kind: 'detach', result: 'ok' });
              sent.set(memberKeyString(k), { member: undefined, epoch: r.epoch, revision: r.revision });
            })),
          );
          errors.push(
            ...(await inParallel(attach, async (m) => {
              const r = await client.attach(m).catch((err: unknown) => {
                syncCalls.inc({ kind: 'attach', result: 'error' });
                throw err;
              });
              syncCalls.inc({ kind: 'attach', result: 'ok' });
              sent.set(memberKeyString(m), { member: m, epoch: r.epoch, revision: r.revision });
            })),
          );
        }
        if (errors.length > 0) {
          const first = errors[0];
          // Deregistered meanwhile: register again straight away.
          if (isIppcError(first, 'ISOLATION_UNKNOWN_AGENT')) registeredAt = undefined;
          syncError = `cannot tell the isolation service about this agent's members (${errors.length} failed): ${(first as Error).message}`;
          log.warn({ err: first, failed: errors.length, retryInMs: pushDelay }, 'the service does not hold the local members yet; retrying');
          schedulePush(pushDelay);
          pushDelay = Math.min(maxRetryMs, pushDelay * 2);
          return;
        }
        syncError = '';
        pushDelay = retryMs;
      } while (pushAgain && !closed);
    } finally {
      pushing = false;
    }
  }

  // CNI --------------------------------------------------------------------------------------------

  function conflict(m: Member): IsolationError | undefined {
    const key = memberKeyString(m);
    const mine = new Set(m.addresses);
    for (const other of local.values()) {
      if (memberKeyString(other) === key) continue;
      const addr = other.addresses.find((a) => mine.has(a));
      if (addr) return inUse(addr, memberKeyString(other));
    }
    // Another agent's member, as the service last said. (This agent's own members are known
    // from the checkpoint: the service's view of them may lag behind a DEL.)
    for (const other of base?.members ?? []) {
      if (other.agentId === me) continue;
      const addr = other.addresses.find((a) => mine.has(a));
      if (addr) return inUse(addr, memberKeyString(other));
    }
    return undefined;
  }
  const inUse = (address: string, holder: string) =>
    new IsolationError('ISOLATION_ADDRESS_IN_USE', `address ${address} is still attached to ${holder}: detach that container first (or deregister its agent if it is gone)`, { details: { address, holder } });

  const notEnforced = (what: string) => () =>
    `${what} was not enforced on agent ${me} within ${applyTimeoutMs} ms (${connected ? 'connected' : 'not connected to the isolation service'}${lastError ? `; last error: ${lastError}` : ''}): retry, and check ippc-isolation-node's log`;

  /** Of `enforce`: the apply that covered the change, split into nft's round trip and the rest. */
  function noteApply(trace: CniTrace | undefined): void {
    if (!trace?.note || !lastApply) return;
    trace.note('enforce.nft', lastApply.kernelMs);
    trace.note('enforce.compile', lastApply.durationMs - lastApply.kernelMs);
  }

  async function attach(member: Member, trace?: CniTrace): Promise<void> {
    const m = { ...member, agentId: me };
    const key = memberKeyString(m);
    const version = await serialized(async () => {
      const err = conflict(m);
      if (err) throw err;
      const old = local.get(key);
      if (old && sameMembership(old, m)) return localVersion;
      const next = old ? { ...m, attachedAtMs: old.attachedAtMs } : m;
      // The checkpoint first (a failed write leaves nothing behind), then the kernel.
      try {
        record({ set: next });
      } catch (cause) {
        throw new IsolationError('ISOLATION_ENFORCEMENT_FAILED', `cannot write the checkpoint journal ${journalFile}: ${(cause as Error).message}`, { cause });
      }
      local.set(key, next);
      const v = ++localVersion;
      trace?.mark('record');
      void enforce();
      return v;
    });
    // Membership takes effect here, before ADD returns (and so before the task is RUNNING). The
    // service is told afterwards (setImmediate: after this answer is on its way), so its round
    // trip and what comes back through the watch do not hold up the answer.
    try {
      await waitFor(() => (applied?.localVersion ?? -1) >= version, applyTimeoutMs, notEnforced(`container ${m.containerId}/${m.ifName}`));
      trace?.mark('enforce');
      noteApply(trace);
    } finally {
      setImmediate(() => void push());
    }
  }

  async function detach(key: MemberKey, trace?: CniTrace): Promise<void> {
    const k = memberKeyString({ ...key, agentId: me });
    const version = await serialized(async () => {
      const old = local.get(k);
      if (!old) return undefined;
      try {
        record({ del: k });
      } catch (cause) {
        throw new IsolationError('ISOLATION_ENFORCEMENT_FAILED', `cannot write the checkpoint journal ${journalFile}: ${(cause as Error).message}`, { cause });
      }
      local.delete(k);
      const v = ++localVersion;
      trace?.mark('record');
      void enforce();
      return v;
    });
    if (version === undefined) return;
    // Gone from the local sets before DEL returns. A DEL that cannot be enforced still succeeds:
    // the member is out of the checkpoint, and the enforcer retries with a rebuild.
    await waitFor(() => (applied?.localVersion ?? -1) >= version, applyTimeoutMs, notEnforced(`the removal of ${k}`)).catch((err: unknown) => log.error({ err }, 'DEL recorded but not yet enforced'));
    trace?.mark('enforce');
    noteApply(trace);
    // The service keeps the address "in use" for IPAM until it hears of the removal and every
    // agent has applied it: told in the background, on reconnect if it is away now.
    setImmediate(() => void push());
  }

  async function check(member: Member): Promise<void> {
    const m = { ...member, agentId: me };
    const key = memberKeyString(m);
    const mine = local.get(key);
    if (!mine) throw new IsolationError('ISOLATION_CHECK_FAILED', `container ${m.containerId}/${m.ifName} is not attached on agent ${me}: ADD it again`);
    if (!sameMembership(mine, m)) throw new IsolationError('ISOLATION_CHECK_FAILED', `container ${m.containerId}/${m.ifName} is attached with ${mine.addresses.join(',')} in [${mine.groups.join(',')}], not ${m.addresses.join(',')} in [${m.groups.join(',')}]`);
    // Other agents learn of the member through the service: give a pending sync its time.
    const held = () => live && connected && (base?.members.some((x) => sameMembership(x, m)) ?? false);
    await waitFor(held, applyTimeoutMs, () => `the isolation service does not hold container ${m.containerId}/${m.ifName} as attached${syncError ? ` (${syncError})` : connected ? '' : ' (not connected to it)'}: the node daemon keeps telling it; retry`).catch((err: unknown) => {
      throw new IsolationError('ISOLATION_CHECK_FAILED', (err as Error).message, { cause: err });
    });
    await enforcer.verifyMember(m);
  }

  const backend: CniBackend = {
    attach,
    detach,
    check,
    async gc(network, valid) {
      const keep = new Set(valid.map((v) => `${v.containerId}/${v.ifName}`));
      for (const m of [...local.values()]) if (m.network === network && !keep.has(`${m.containerId}/${m.ifName}`)) await detach(m);
    },
    async status() {
      if (!connected) throw new IsolationError('ISOLATION_UNAVAILABLE', `agent ${me} is not connected to the isolation service${lastError ? `: ${lastError}` : ''}`);
    },
  };

  // Listeners rather than `for await`: fewer turns of the event loop on the CNI hot path.
  function readBody(req: IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });
  }

  const status = (): NodeDaemonStatus => ({
    agentId: me,
    connected,
    epoch: applied?.live ? (applied.base?.epoch ?? '') : '',
    appliedRevision: applied?.live ? (applied.base?.revision ?? 0) : 0,
    knownRevision: live ? (base?.revision ?? 0) : 0,
    members: local.size,
    unsynced: unsynced(),
    lastError: lastError || syncError,
  });

  /** The phases of the last TIMINGS_KEPT CNI ADDs and DELs (ms), for `GET /timings`. */
  const timings: { command: string; phases: Record<string, number> }[] = [];
  function phaseTrace(command: string, started: number): CniTrace & { done(): void } {
    let last = started;
    const phases: Record<string, number> = {};
    return {
      mark(phase) {
        const now = performance.now();
        phases[phase] = (phases[phase] ?? 0) + (now - last);
        last = now;
      },
      note(part, ms) {
        phases[part] = ms;
      },
      // Observed once the answer is out: the histogram's own cost stays off the CNI path.
      done() {
        for (const [phase, ms] of Object.entries(phases)) cniPhaseSeconds.observe({ command, phase }, ms / 1000);
        timings.push({ command, phases });
        if (timings.length > TIMINGS_KEPT) timings.shift();
      },
    };
  }

  /**
   * One CNI call, from the socket or in process: `received` names the phase up to now (reading
   * the body; none in process), `answer` hands the response out before the bookkeeping.
   */
  async function serveCni(req: Omit<CniRequest, 'trace'>, started: number, received: string | undefined, answer: (out: CniResponse) => void): Promise<void> {
    const { command } = req;
    const trace = command === 'ADD' || command === 'DEL' ? phaseTrace(command, started) : undefined;
    if (received) trace?.mark(received);
    const out = await handleCni({ ...req, ...(trace ? { trace } : {}) }, backend, me);
    cniSeconds.observe({ command }, (performance.now() - started) / 1000);
    cniRequests.inc({ command, result: out.status === 200 ? 'ok' : 'error' });
    if (out.status !== 200) log.warn({ command, containerId: req.containerId, error: out.body }, 'CNI call failed');
    answer(out);
    trace?.mark('answer');
    if (trace) setImmediate(() => trace.done());
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://agent');
    const json = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'POST' && url.pathname === '/cni') {
      const started = performance.now();
      const stdin = await readBody(req);
      return serveCni(
        {
          command: String(req.headers['x-cni-command'] ?? ''),
          containerId: String(req.headers['x-cni-containerid'] ?? ''),
          netns: String(req.headers['x-cni-netns'] ?? ''),
          ifName: String(req.headers['x-cni-ifname'] ?? ''),
          args: String(req.headers['x-cni-args'] ?? ''),
          stdin,
        },
        started,
        'body',
        (out) => {
          res.writeHead(out.status, { 'content-type': 'application/json' });
          res.end(out.body);
        },
      );
    }
    if (req.method === 'GET' && url.pathname === '/status') return json(200, status());
    if (req.method === 'GET' && url.pathname === '/members') return json(200, [...local.values()]);
    if (req.method === 'GET' && url.pathname === '/timings') return json(200, timings);
    if (req.method === 'GET' && url.pathname === '/metrics') {
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(await registry.metrics());
      return;
    }
    if (req.method === 'POST' && url.pathname === '/resync') return json(200, await daemon.resync());
    json(404, { error: `no such endpoint: ${req.method} ${url.pathname}` });
  }

  const touchesMe = (changes: Delta['changes']): boolean =>
    changes.some(
      (c) =>
        (c.kind === 'agent-removed' && c.id === me) ||
        (c.kind === 'agent-upserted' && c.agent.id === me) ||
        (c.kind === 'member-removed' && c.key.agentId === me) ||
        (c.kind === 'member-upserted' && c.member.agentId === me),
    );

  const daemon: IsolationNodeDaemon = {
    socketPath,
    enforcer,
    metrics: registry,
    async start() {
      await mkdir(dataDir, { recursive: true });
      await load();
      // Enforce at once what is known (the cached service state and the checkpoint): CNI calls
      // are served from here on, with or without the service.
      void enforce(true);
      await mkdir(dirname(socketPath), { recursive: true });
      await rm(socketPath, { force: true });
      server = createServer((req, res) => {
        route(req, res).catch((err: unknown) => {
          log.error({ err }, 'request failed');
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: (err as Error).message }));
        });
      });
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(socketPath, () => resolve());
      });
      await chmod(socketPath, 0o600);
      const handlers: WatchHandlers = {
        agentId: me,
        onSnapshot(snapshot) {
          base = snapshot;
          seqOf.set(base, ++stateSeq);
          live = true;
          connected = true;
          void enforce();
          wake();
          void push();
        },
        onDelta(delta) {
          const prev = base!;
          base = applyDelta(prev, delta);
          const ownOnly = delta.changes.every((c) => (c.kind === 'member-upserted' && c.member.agentId === me) || (c.kind === 'member-removed' && c.key.agentId === me));
          seqOf.set(base, ownOnly ? (seqOf.get(prev) ?? ++stateSeq) : ++stateSeq);
          if (ownOnly && !applying && applied?.live && applied.base === prev && applied.localVersion === localVersion) {
            // Only this agent's own members changed at the service: what it enforces comes from the
            // checkpoint, so the new revision is in force already. Acknowledge it without an apply.
            applied = { ...applied, base };
            acknowledge(base, lastError);
          } else void enforce();
          wake();
          // The service changed this agent or its members (our own calls coming back, or someone
          // else: an operator, a service that lost its state): the checkpoint is the truth.
          if (touchesMe(delta.changes)) void push();
        },
        onStatus(s, err) {
          if (s === 'disconnected') {
            connected = false;
            log.warn({ err: err?.message }, 'watch disconnected; reconnecting');
          } else log.info({ revision: base?.revision, epoch: base?.epoch }, 'watching the isolation service');
        },
      };
      watch = client.watch(handlers);
      log.info({ socketPath }, 'isolation node daemon started');
    },
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      clearTimeout(pushTimer);
      clearTimeout(ackTimer);
      watch?.close();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      server?.closeAllConnections();
      await rm(socketPath, { force: true }).catch(() => undefined);
      await lock;
      await acking;
      if (journalFd !== undefined) closeSync(journalFd);
      journalFd = undefined;
      enforcer.close();
    },
    status,
    get serving() {
      return !closed && server?.listening === true;
    },
    cni(req) {
      return new Promise<CniResponse>((resolve, reject) => {
        serveCni(req, performance.now(), undefined, resolve).catch(reject);
      });
    },
    members: () => [...local.values()],
    attach,
    detach,
    check,
    async resync() {
      if (!base && local.size === 0) return undefined;
      const target: Applied = { base, live, localVersion };
      // The enforcer serializes this with any apply in flight.
      const res = await enforcer.rebuild(effective(), { routes: base !== undefined });
      recordApplied(target, res);
      return res;
    },
    waitForApplied(timeoutMs) {
      // Judged at each apply against the newest state known then.
      return waitFor(
        () => live && base !== undefined && applied?.live === true && applied.base?.epoch === base.epoch && applied.base.revision >= base.revision,
        timeoutMs,
        () => `the service's state was not enforced on agent ${me} within ${timeoutMs} ms (${connected ? 'connected' : 'not connected to the isolation service'}${lastError ? `; last error: ${lastError}` : ''})`,
      );
    },
    waitForEnforcing(timeoutMs) {
      return waitFor(() => applied?.base !== undefined, timeoutMs, () => `agent ${me} has no isolation state to enforce yet (no cache, and the service did not answer within ${timeoutMs} ms)`);
    },
    waitForSynced(timeoutMs) {
      return waitFor(() => live && connected && unsynced() === 0, timeoutMs, () => `the isolation service does not hold agent ${me}'s members after ${timeoutMs} ms${syncError ? `: ${syncError}` : ''}`);
    },
  };
  return daemon;
}
