import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { silentLogger, type Logger } from '@ippc/core';
import { containsResources } from '@ippc/mesos';
import type { agentv1, AgentInfo, Resource, schedulerv1 } from '@ippc/proto';
import { agentDisconnected } from './agents/lifecycle.js';
import { registerAgent, reregisterAgent } from './agents/register.js';
import { executorExited, executorMessage } from './agents/executor-messages.js';
import { statusUpdate } from './agents/status-update.js';
import { handleCall } from './frameworks/calls.js';
import { frameworkDisconnected } from './frameworks/lifecycle.js';
import { subscribe } from './frameworks/subscribe.js';
import {
  now,
  type AgentConnection,
  type AgentEntry,
  type FrameworkConnection,
  type FrameworkEntry,
  type MasterContext,
  type MasterCounters,
  type MasterSettings,
  type OfferEntry,
} from './model.js';
import { MasterObservers } from './observers.js';
import { allocate, available, offered, used } from './offers/allocator.js';
import { rescindOffer } from './offers/offers.js';
import { reconcile } from './tasks/task-calls.js';

// The master's state machine, independent of any transport: frameworks subscribe through a
// FrameworkConnection, agents through an AgentConnection, and everything else is method calls.
// The gRPC services (services.ts) and the HTTP endpoints (state.ts) are thin layers over it, and
// the unit tests drive it directly with fake connections. The Master holds the records; what it
// does lives beside it, one folder per part:
//   frameworks/  SUBSCRIBE, the scheduler calls, disconnection and removal
//   offers/      the allocator, outstanding offers, ACCEPT with LAUNCH and LAUNCH_GROUP
//   tasks/       the task records and the statuses the master writes, KILL, ACKNOWLEDGE, RECONCILE
//   agents/      registration and re-registration, disconnection, status updates
//   validation/  Mesos's validation rules and messages

export interface MasterOptions {
  /** Advertised address, used in `pid` (`master@ip:port`), `leader` and state. */
  ip: string;
  port: number;
  /** Default: `ip`. */
  hostname?: string;
  /** Default: a random UUID (Mesos's master id). Framework, agent and offer ids derive from it. */
  id?: string;
  /** Seconds between HEARTBEAT events to each subscribed framework. Default 15 (Mesos). */
  heartbeatIntervalSeconds?: number;
  /** How long a disconnected agent may stay away before its tasks are lost. Default 75 s (Mesos: 15 s x 5 pings). */
  agentReregisterTimeoutMs?: number;
  /** Period of the allocator's run (also expires refusal filters). Default 1000 ms (Mesos's `--allocation_interval`). */
  allocationIntervalMs?: number;
  /** Rescind offers not used within this time. Default: never (Mesos's `--offer_timeout` unset). */
  offerTimeoutMs?: number;
  /** Default 50. */
  maxCompletedFrameworks?: number;
  /** Default 1000. */
  maxCompletedTasksPerFramework?: number;
  /** Flags shown on `/master/state`. */
  flags?: Record<string, string>;
  log?: Logger;
}

export class Master implements MasterContext {
  readonly id: string;
  readonly ip: string;
  readonly port: number;
  readonly hostname: string;
  readonly startTime = now();
  readonly log: Logger;
  readonly flags: Record<string, string>;
  readonly settings: MasterSettings;
  readonly counters: MasterCounters = {
    statusUpdates: new Map(),
    invalidCalls: new Map(),
    offersSent: 0,
    offersDeclined: 0,
    offersRescinded: 0,
    tasksLaunched: 0,
    tasksInvalid: 0,
    agentRegistrations: 0,
    agentReregistrations: 0,
    agentsUnreachable: 0,
    messagesShutdownExecutor: 0,
    messagesFrameworkToExecutor: 0,
    validFrameworkToExecutorMessages: 0,
    invalidFrameworkToExecutorMessages: 0,
    messagesResourceRequest: 0,
    messagesExecutorToFramework: 0,
    validExecutorToFrameworkMessages: 0,
    invalidExecutorToFrameworkMessages: 0,
  };

  readonly frameworks = new Map<string, FrameworkEntry>();
  readonly completedFrameworks: FrameworkEntry[] = [];
  readonly agents = new Map<string, AgentEntry>();
  readonly unreachableAgents = new Map<string, { info: AgentInfo; time: number }>();
  readonly offers = new Map<string, OfferEntry>();
  readonly sequence = { framework: 0, agent: 0, offer: 0 };
  /** Who watches the records change (the operator API's SUBSCRIBE); see observers.ts. */
  readonly observers: MasterObservers;
  stopped = false;

  private allocationPending = false;
  private readonly allocationTimer: NodeJS.Timeout;
  /** Bumped on every change visible on `/master/state`; see {@link waitForChange}. */
  private version = 0;
  private readonly changes = new EventEmitter();

  constructor(options: MasterOptions) {
    this.id = options.id ?? randomUUID();
    this.ip = options.ip;
    this.port = options.port;
    this.hostname = options.hostname ?? options.ip;
    this.log = options.log ?? silentLogger();
    this.flags = options.flags ?? {};
    this.observers = new MasterObservers(this.log);
    this.settings = {
      heartbeatSeconds: options.heartbeatIntervalSeconds ?? 15,
      reregisterTimeoutMs: options.agentReregisterTimeoutMs ?? 75_000,
      offerTimeoutMs: options.offerTimeoutMs,
      maxCompletedFrameworks: options.maxCompletedFrameworks ?? 50,
      maxCompletedTasks: options.maxCompletedTasksPerFramework ?? 1000,
    };
    this.changes.setMaxListeners(0);
    this.allocationTimer = setInterval(() => this.allocate(), options.allocationIntervalMs ?? 1000);
    this.allocationTimer.unref();
  }

  /** `master@<ip>:<port>`, Mesos's libprocess pid of the master. */
  get pid(): string {
    return `master@${this.ip}:${this.port}`;
  }

  get stateVersion(): number {
    return this.version;
  }

  /** Resolves once the state version is above `since`, or after `timeoutMs`. */
  waitForChange(since: number, timeoutMs: number): Promise<void> {
    if (this.version > since || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.changes.off('change', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.changes.on('change', done);
    });
  }

  changed(): void {
    this.version++;
    this.changes.emit('change');
  }

  /** Runs the allocator soon (coalescing bursts of changes into one run). */
  scheduleAllocation(): void {
    if (this.allocationPending || this.stopped) return;
    this.allocationPending = true;
    setImmediate(() => {
      this.allocationPending = false;
      this.allocate();
    });
  }

  /** Stops timers and closes every connection. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.allocationTimer);
    for (const f of this.frameworks.values()) {
      if (f.heartbeat) clearInterval(f.heartbeat);
      if (f.failoverTimer) clearTimeout(f.failoverTimer);
      f.conn?.close();
    }
    for (const a of this.agents.values()) {
      if (a.removalTimer) clearTimeout(a.removalTimer);
      a.conn?.close();
    }
    for (const o of this.offers.values()) if (o.timer) clearTimeout(o.timer);
    this.observers.masterStopped();
    this.changes.emit('change');
  }

  // Frameworks (frameworks/) ------------------------------------------------------------------

  /** SUBSCRIBE; see frameworks/subscribe.ts. */
  subscribe(call: schedulerv1.Call, conn: FrameworkConnection): { frameworkId: string; streamId: string } {
    return subscribe(this, call, conn);
  }

  /** The framework's event stream ended (scheduler gone or cancelled). */
  frameworkDisconnected(frameworkId: string, streamId: string): void {
    frameworkDisconnected(this, frameworkId, streamId);
  }

  /** Any call but SUBSCRIBE; see frameworks/calls.ts. Throws MasterError for what Mesos answers with an HTTP error. */
  handleCall(call: schedulerv1.Call, streamId: string | undefined): void {
    handleCall(this, call, streamId);
  }

  /** Explicit (with tasks) or implicit (without) reconciliation; answers arrive as UPDATE events. */
  reconcile(f: FrameworkEntry, tasks: { taskId: string; agentId?: string }[]): void {
    reconcile(this, f, tasks);
  }

  // Offers and the allocator (offers/) ----------------------------------------------------------

  /** One allocation run; see offers/allocator.ts. */
  allocate(): void {
    allocate(this);
  }

  /** What an agent has neither used nor offered, without allocation info. */
  available(agent: AgentEntry): Resource[] {
    return available(this, agent);
  }

  /** Resources of the agent's non-terminal tasks and custom executors, without allocation info. */
  used(agent: AgentEntry): Resource[] {
    return used(this, agent);
  }

  /** Resources of the agent's outstanding offers, without allocation info. */
  offered(agent: AgentEntry): Resource[] {
    return offered(this, agent);
  }

  rescindOffer(offerId: string): void {
    rescindOffer(this, offerId);
  }

  // Agents (agents/) ----------------------------------------------------------------------------

  /** A new agent. Returns its id; throws AGENT_INVALID with Mesos's message for a bad registration. */
  registerAgent(msg: agentv1.RegisterAgent, conn: AgentConnection): string {
    return registerAgent(this, msg, conn);
  }

  /** An agent with the id it checkpointed; see agents/register.ts. */
  reregisterAgent(msg: agentv1.ReregisterAgent, conn: AgentConnection): string {
    return reregisterAgent(this, msg, conn);
  }

  /** The agent's session ended: rescind its offers and wait for it to come back. */
  agentDisconnected(agentId: string, conn: AgentConnection): void {
    agentDisconnected(this, agentId, conn);
  }

  /** A status update from an agent's status update manager, forwarded to the framework. */
  statusUpdate(agentId: string, conn: AgentConnection, update: agentv1.StatusUpdate): void {
    statusUpdate(this, agentId, conn, update);
  }

  /** An executor's MESSAGE for its framework, forwarded as a MESSAGE event. */
  executorMessage(agentId: string, conn: AgentConnection, msg: agentv1.ExecutorToFramework): void {
    executorMessage(this, agentId, conn, msg);
  }

  /** A custom executor ended: its resources are free again and its framework hears FAILURE. */
  executorExited(agentId: string, conn: AgentConnection, msg: agentv1.ExitedExecutor): void {
    executorExited(this, agentId, conn, msg);
  }

  // Views for the state endpoint and tests ------------------------------------------------------

  frameworkEntries(): FrameworkEntry[] {
    return [...this.frameworks.values()];
  }

  agentEntries(): AgentEntry[] {
    return [...this.agents.values()];
  }

  /** True when the agent's total holds the given resources (used by tests). */
  agentHas(agentId: string, resources: Resource[]): boolean {
    const a = this.agents.get(agentId);
    return !!a && containsResources(a.total, resources);
  }
}

export type { AgentConnection, AgentEntry, FrameworkConnection, FrameworkEntry, MasterCounters, OfferEntry } from './model.js';
export type { MasterObserver } from './observers.js';
