import { mkdir } from 'node:fs/promises';
import type { CniRequest, CniResponse, Logger } from '@ippc/core';
import type { Registry } from 'prom-client';
import type { IsolationClient } from '../client.js';
import type { ApplyResult, Enforcer, EnforcerOptions } from '../enforcer/enforcer.js';
import type { AgentSpec, Member, MemberKey } from '../model.js';
import { closeJournal, load } from './checkpoint.js';
import { createNodeDaemonCni } from './cni.js';
import { createContext } from './context.js';
import { enforce, resync } from './enforce.js';
import { attach, check, detach } from './members.js';
import { status } from './status.js';
import { waitForApplied, waitForEnforcing, waitForSynced } from './wait.js';
import { watchHandlers } from './watch.js';

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
  cni(req: CniRequest): Promise<CniResponse>;
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
  const ctx = createContext(options);
  const cni = createNodeDaemonCni(ctx);
  let watch: { close(): void } | undefined;
  return {
    socketPath: ctx.socketPath,
    enforcer: ctx.enforcer,
    metrics: ctx.registry,
    async start() {
      await mkdir(ctx.dataDir, { recursive: true });
      await load(ctx);
      // Enforce at once what is known (the cached service state and the checkpoint): CNI calls
      // are served from here on, with or without the service.
      void enforce(ctx, true);
      await cni.daemon.start();
      watch = ctx.client.watch(watchHandlers(ctx));
      ctx.log.info({ socketPath: ctx.socketPath }, 'isolation node daemon started');
    },
    async close() {
      ctx.closed = true;
      clearTimeout(ctx.apply.retryTimer);
      clearTimeout(ctx.sync.pushTimer);
      clearTimeout(ctx.acks.ackTimer);
      watch?.close();
      await cni.daemon.close();
      await ctx.checkpoint.lock.idle();
      await ctx.acks.acking;
      closeJournal(ctx);
      ctx.enforcer.close();
    },
    status: () => status(ctx),
    get serving() {
      return !ctx.closed && cni.daemon.listening;
    },
    cni(req) {
      return new Promise<CniResponse>((resolve, reject) => {
        cni.serve(req, performance.now(), undefined, resolve).catch(reject);
      });
    },
    members: () => [...ctx.local.values()],
    attach: (member) => attach(ctx, member),
    detach: (key) => detach(ctx, key),
    check: (member) => check(ctx, member),
    resync: () => resync(ctx),
    waitForApplied: (timeoutMs) => waitForApplied(ctx, timeoutMs),
    waitForEnforcing: (timeoutMs) => waitForEnforcing(ctx, timeoutMs),
    waitForSynced: (timeoutMs) => waitForSynced(ctx, timeoutMs),
  };
}
