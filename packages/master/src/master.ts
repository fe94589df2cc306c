import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { silentLogger, type Logger } from '@ippc/core';
import {
  Offer_Operation_Type,
  TaskState,
  TaskStatus_Reason,
  TaskStatus_Source,
  agentv1,
  schedulerv1,
  taskStateToJSON,
  type AgentInfo,
  type ExecutorInfo,
  type FrameworkInfo,
  type Offer,
  type Resource,
  type Task,
  type TaskInfo,
  type TaskStatus,
  type TimeInfo,
} from '@ippc/proto';
import {
  addResources,
  allocateResources,
  containsResources,
  createTaskStatus,
  frameworkRole,
  isPartitionAware,
  isTerminalState,
  normalizeResources,
  recordStatus,
  scalarOf,
  subtractResources,
  taskFromTaskInfo,
  unallocateResources,
} from '@ippc/mesos';
import { MasterError } from './errors.js';
import { taskConsumes, validateFrameworkInfo, validateId, validateOffers, validateResourceList, validateSchedulerCall, validateTask, type TaskContext } from './validation.js';

const { Call_Type, Event_Type } = schedulerv1;
type Call = schedulerv1.Call;
type Event = schedulerv1.Event;
type MasterMessage = agentv1.MasterMessage;

// The master's state machine, independent of any transport: frameworks subscribe through a
// FrameworkConnection, agents through an AgentConnection, and everything else is method calls.
// The gRPC services (scheduler-service.ts, agent-service.ts) and the HTTP endpoints (state.ts)
// are thin layers over it, and the unit tests drive it directly with fake connections.

/** Where a subscribed framework's events go (a gRPC server stream in production). */
export interface FrameworkConnection {
  send(event: Event): void;
  /** Ends the event stream. */
  close(): void;
}

/** Where a registered agent's messages go (the agent's gRPC stream in production). */
export interface AgentConnection {
  send(message: MasterMessage): void;
  /** Ends the session, with the reason when the master refuses the agent. */
  close(reason?: string): void;
}

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

interface FrameworkEntry {
  id: string;
  info: FrameworkInfo;
  conn?: FrameworkConnection;
  streamId?: string;
  /** Known only from an agent's re-registration; not subscribed since this master started. */
  recovered: boolean;
  registeredTime: number;
  reregisteredTime?: number;
  unregisteredTime?: number;
  /** Tasks not completed yet (Mesos's `framework->tasks`), by task id. */
  tasks: Map<string, Task>;
  unreachableTasks: Map<string, Task>;
  completedTasks: Task[];
  offers: Set<string>;
  /** Refusal filters: agent id -> epoch ms until which it is not offered to this framework. */
  filters: Map<string, number>;
  suppressed: boolean;
  heartbeat?: NodeJS.Timeout;
  failoverTimer?: NodeJS.Timeout;
}

interface AgentEntry {
  id: string;
  info: AgentInfo;
  pid: string;
  version: string;
  conn?: AgentConnection;
  registeredTime: number;
  reregisteredTime?: number;
  /** What the agent offers in total, without allocation info. */
  total: Resource[];
  /** Custom executors per framework. */
  executors: Map<string, Map<string, ExecutorInfo>>;
  offers: Set<string>;
  /** Kills that wait for the agent to come back: `<framework>/<task>` -> the kill. */
  pendingKills: Map<string, agentv1.KillTask>;
  removalTimer?: NodeJS.Timeout;
}

interface OfferEntry {
  offer: Offer;
  frameworkId: string;
  agentId: string;
  timer?: NodeJS.Timeout;
}

const now = (): number => Date.now() / 1000;

/** Mesos's allocatable minimum (master/constants.hpp: MIN_CPUS 0.01, MIN_MEM 32 MB). */
const allocatable = (r: readonly Resource[]): boolean => scalarOf(r, 'cpus') >= 0.01 || scalarOf(r, 'mem') >= 32;

/** Counters the master keeps for `/metrics`. */
export interface MasterCounters {
  statusUpdates: Map<string, number>;
  invalidCalls: Map<string, number>;
  offersSent: number;
  offersDeclined: number;
  offersRescinded: number;
  tasksLaunched: number;
  tasksInvalid: number;
  agentRegistrations: number;
  agentReregistrations: number;
  agentsUnreachable: number;
}

export class Master {
  readonly id: string;
  readonly ip: string;
  readonly port: number;
  readonly hostname: string;
  readonly startTime = now();
  readonly log: Logger;
  readonly flags: Record<string, string>;
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
  };

  private readonly heartbeatSeconds: number;
  private readonly reregisterTimeoutMs: number;
  private readonly offerTimeoutMs: number | undefined;
  private readonly maxCompletedFrameworks: number;
  private readonly maxCompletedTasks: number;

  readonly frameworks = new Map<string, FrameworkEntry>();
  readonly completedFrameworks: FrameworkEntry[] = [];
  readonly agents = new Map<string, AgentEntry>();
  readonly unreachableAgents = new Map<string, { info: AgentInfo; time: number }>();
  readonly offers = new Map<string, OfferEntry>();

  private nextFramework = 0;
  private nextAgent = 0;
  private nextOffer = 0;
  private allocationPending = false;
  private readonly allocationTimer: NodeJS.Timeout;
  private stopped = false;

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
    this.heartbeatSeconds = options.heartbeatIntervalSeconds ?? 15;
    this.reregisterTimeoutMs = options.agentReregisterTimeoutMs ?? 75_000;
    this.offerTimeoutMs = options.offerTimeoutMs;
    this.maxCompletedFrameworks = options.maxCompletedFrameworks ?? 50;
    this.maxCompletedTasks = options.maxCompletedTasksPerFramework ?? 1000;
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

  private changed(): void {
    this.version++;
    this.changes.emit('change');
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
    this.changes.emit('change');
  }

  // -------------------------------------------------------------------------------------------
  // Frameworks

  /**
   * SUBSCRIBE. Returns the framework id and the stream id the framework must send with its calls.
   * Throws CALL_INVALID with Mesos's message for a malformed call. A framework that was removed
   * gets an ERROR event ("Framework has been removed") and the stream ends, as in Mesos.
   */
  subscribe(call: Call, conn: FrameworkConnection): { frameworkId: string; streamId: string } {
    const callErr = validateSchedulerCall(call);
    if (callErr) throw this.invalid('SUBSCRIBE', callErr);
    if (call.type !== Call_Type.SUBSCRIBE) throw this.invalid('SUBSCRIBE', 'Expecting a SUBSCRIBE call on Subscribe; send other calls with Send');
    const info = call.subscribe!.frameworkInfo!;
    const infoErr = validateFrameworkInfo(info);
    if (infoErr) throw this.invalid('SUBSCRIBE', infoErr);
    const streamId = randomUUID();
    const requested = info.id?.value;

    if (requested && this.completedFrameworks.some((f) => f.id === requested)) {
      conn.send({ type: Event_Type.ERROR, error: { message: 'Framework has been removed' } });
      conn.close();
      return { frameworkId: requested, streamId };
    }

    let f = requested ? this.frameworks.get(requested) : undefined;
    if (f) {
      const updateErr = this.validateUpdate(f.info, info);
      if (updateErr) throw this.invalid('SUBSCRIBE', updateErr);
      if (f.conn) {
        // Another scheduler instance took over this framework (Mesos: failover).
        const old = f.conn;
        f.conn = undefined;
        if (f.heartbeat) clearInterval(f.heartbeat);
        old.send({ type: Event_Type.ERROR, error: { message: 'Framework failed over' } });
        old.close();
      }
      if (f.failoverTimer) clearTimeout(f.failoverTimer);
      f.failoverTimer = undefined;
      f.info = { ...info, id: { value: f.id }, user: f.info.user, checkpoint: f.info.checkpoint };
      f.reregisteredTime = now();
      f.recovered = false;
      this.log.info({ frameworkId: f.id, name: info.name }, 'framework re-subscribed');
    } else {
      const id = requested ?? `${this.id}-${String(this.nextFramework++).padStart(4, '0')}`;
      f = {
        id,
        info: { ...info, id: { value: id } },
        recovered: false,
        registeredTime: now(),
        ...(requested ? { reregisteredTime: now() } : {}),
        tasks: new Map(),
        unreachableTasks: new Map(),
        completedTasks: [],
        offers: new Set(),
        filters: new Map(),
        suppressed: false,
      };
      this.frameworks.set(id, f);
      this.log.info({ frameworkId: id, name: info.name }, requested ? 'framework subscribed with a known id (master failover)' : 'framework subscribed');
    }
    f.conn = conn;
    f.streamId = streamId;
    f.unregisteredTime = undefined;
    conn.send({ type: Event_Type.SUBSCRIBED, subscribed: { frameworkId: { value: f.id }, heartbeatIntervalSeconds: this.heartbeatSeconds } });
    const entry = f;
    entry.heartbeat = setInterval(() => entry.conn?.send({ type: Event_Type.HEARTBEAT }), this.heartbeatSeconds * 1000);
    entry.heartbeat.unref();
    this.changed();
    this.scheduleAllocation();
    return { frameworkId: f.id, streamId };
  }

  /** `validation::framework::validateUpdate`. */
  private validateUpdate(old: FrameworkInfo, next: FrameworkInfo): string | undefined {
    if ((old.principal ?? undefined) !== (next.principal ?? undefined)) return "Changing framework's principal is not allowed.";
    if ((next.user ?? '') !== (old.user ?? '')) return `Updating 'FrameworkInfo.user' is unsupported; attempted to update from '${old.user ?? ''}' to '${next.user ?? ''}'`;
    if ((next.checkpoint ?? false) !== (old.checkpoint ?? false)) {
      return `Updating 'FrameworkInfo.checkpoint' is unsupported; attempted to update from '${old.checkpoint ?? false}' to '${next.checkpoint ?? false}'`;
    }
    return undefined;
  }

  /** The framework's event stream ended (scheduler gone or cancelled). */
  frameworkDisconnected(frameworkId: string, streamId: string): void {
    const f = this.frameworks.get(frameworkId);
    if (!f || f.streamId !== streamId) return;
    f.conn = undefined;
    f.streamId = undefined;
    f.unregisteredTime = now();
    if (f.heartbeat) clearInterval(f.heartbeat);
    for (const offerId of [...f.offers]) this.removeOffer(offerId, false);
    const timeoutMs = Math.max(0, (f.info.failoverTimeout ?? 0) * 1000);
    this.log.info({ frameworkId, failoverTimeoutMs: timeoutMs }, 'framework disconnected');
    f.failoverTimer = setTimeout(() => {
      this.log.info({ frameworkId }, 'framework failover timeout: removing it');
      this.removeFramework(f, `Framework ${f.id} removed`);
    }, Math.min(timeoutMs, 2 ** 31 - 1));
    f.failoverTimer.unref();
    this.changed();
    this.scheduleAllocation();
  }

  /**
   * Any call but SUBSCRIBE. `streamId` is the `mesos-stream-id` the caller sent. Outcomes arrive as
   * events; throws MasterError for what Mesos answers with an HTTP error.
   */
  handleCall(call: Call, streamId: string | undefined): void {
    const kind = call.type === undefined ? 'UNKNOWN' : (schedulerv1.call_TypeToJSON(call.type) ?? 'UNKNOWN');
    const callErr = validateSchedulerCall(call);
    if (callErr) throw this.invalid(kind, callErr);
    if (call.type === Call_Type.SUBSCRIBE) throw this.invalid(kind, 'SUBSCRIBE goes through Subscribe, which streams the events');
    const frameworkId = call.frameworkId?.value ?? '';
    const f = this.frameworks.get(frameworkId);
    if (!f) {
      if (this.completedFrameworks.some((c) => c.id === frameworkId)) throw new MasterError('FRAMEWORK_REMOVED', `Framework ${frameworkId} has been removed`);
      throw new MasterError('FRAMEWORK_UNKNOWN', `Framework ${frameworkId} is unknown: subscribe first`);
    }
    if (!f.conn || !f.streamId) throw new MasterError('FRAMEWORK_NOT_SUBSCRIBED', `Framework ${frameworkId} is not subscribed: subscribe again`);
    if (!streamId) throw new MasterError('STREAM_MISMATCH', "All non-subscribe calls should include the 'Mesos-Stream-Id' header");
    if (streamId !== f.streamId) {
      throw new MasterError('STREAM_MISMATCH', `The stream ID '${streamId}' included in this request didn't match the stream ID currently associated with framework ID ${frameworkId}`);
    }
    switch (call.type) {
      case Call_Type.TEARDOWN:
        this.removeFramework(f, `Framework ${f.id} removed`);
        return;
      case Call_Type.ACCEPT:
        this.accept(f, call.accept!);
        return;
      case Call_Type.DECLINE:
        this.decline(f, call.decline!.offerIds.map((o) => o.value ?? ''), call.decline!.filters?.refuseSeconds);
        return;
      case Call_Type.REVIVE:
        f.filters.clear();
        f.suppressed = false;
        this.scheduleAllocation();
        return;
      case Call_Type.SUPPRESS:
        f.suppressed = true;
        return;
      case Call_Type.KILL:
        this.kill(f, call.kill!);
        return;
      case Call_Type.ACKNOWLEDGE:
        this.acknowledge(f, call.acknowledge!);
        return;
      case Call_Type.RECONCILE:
        this.reconcile(f, call.reconcile!.tasks.map((t) => ({ taskId: t.taskId?.value ?? '', agentId: t.agentId?.value })));
        return;
      default:
        throw new MasterError('CALL_UNSUPPORTED', `Call ${kind} is not supported by ippc`);
    }
  }

  private invalid(kind: string, message: string): MasterError {
    this.counters.invalidCalls.set(kind, (this.counters.invalidCalls.get(kind) ?? 0) + 1);
    return new MasterError('CALL_INVALID', message);
  }

  /** TEARDOWN or failover timeout: kill every task, forget offers, move to completed frameworks. */
  private removeFramework(f: FrameworkEntry, message: string): void {
    if (f.heartbeat) clearInterval(f.heartbeat);
    if (f.failoverTimer) clearTimeout(f.failoverTimer);
    for (const offerId of [...f.offers]) this.removeOffer(offerId, false);
    const agentsToShutdown = new Set<string>();
    for (const task of [...f.tasks.values()]) {
      agentsToShutdown.add(task.agentId?.value ?? '');
      if (!isTerminalState(task.state)) {
        this.updateTask(task, this.masterStatus(task, TaskState.TASK_KILLED, message, TaskStatus_Reason.REASON_FRAMEWORK_REMOVED));
      }
      this.completeTask(f, task);
    }
    for (const task of f.unreachableTasks.values()) this.pushCompleted(f, task);
    f.unreachableTasks.clear();
    for (const agentId of agentsToShutdown) {
      const agent = this.agents.get(agentId);
      agent?.conn?.send({ message: { $case: 'shutdownFramework', value: { frameworkId: { value: f.id } } } });
      agent?.executors.delete(f.id);
    }
    const conn = f.conn;
    f.conn = undefined;
    f.streamId = undefined;
    f.unregisteredTime = now();
    conn?.close();
    this.frameworks.delete(f.id);
    this.completedFrameworks.push(f);
    while (this.completedFrameworks.length > this.maxCompletedFrameworks) this.completedFrameworks.shift();
    this.log.info({ frameworkId: f.id }, 'framework removed');
    this.changed();
    this.scheduleAllocation();
  }

  private send(f: FrameworkEntry, event: Event): void {
    f.conn?.send(event);
  }

  // -------------------------------------------------------------------------------------------
  // Offers and the allocator

  /** Runs the allocator soon (coalescing bursts of changes into one run). */
  scheduleAllocation(): void {
    if (this.allocationPending || this.stopped) return;
    this.allocationPending = true;
    setImmediate(() => {
      this.allocationPending = false;
      this.allocate();
    });
  }

  /** What an agent has neither used nor offered, without allocation info. */
  available(agent: AgentEntry): Resource[] {
    return subtractResources(subtractResources(agent.total, this.used(agent)), this.offered(agent));
  }

  /** Resources of the agent's non-terminal tasks and custom executors, without allocation info. */
  used(agent: AgentEntry): Resource[] {
    let used: Resource[] = [];
    for (const f of this.frameworks.values()) {
      for (const t of f.tasks.values()) {
        if (t.agentId?.value === agent.id && !isTerminalState(t.state)) used = addResources(used, unallocateResources(t.resources ?? []));
      }
    }
    for (const byId of agent.executors.values()) for (const e of byId.values()) used = addResources(used, unallocateResources(e.resources ?? []));
    return used;
  }

  offered(agent: AgentEntry): Resource[] {
    let out: Resource[] = [];
    for (const id of agent.offers) {
      const o = this.offers.get(id);
      if (o) out = addResources(out, unallocateResources(o.offer.resources ?? []));
    }
    return out;
  }

  /** Allocated share of the cluster (DRF's dominant share over cpus and mem). */
  private share(f: FrameworkEntry): number {
    let cpus = 0;
    let mem = 0;
    let totalCpus = 0;
    let totalMem = 0;
    for (const a of this.agents.values()) {
      totalCpus += scalarOf(a.total, 'cpus');
      totalMem += scalarOf(a.total, 'mem');
    }
    for (const t of f.tasks.values()) {
      if (isTerminalState(t.state)) continue;
      cpus += scalarOf(t.resources ?? [], 'cpus');
      mem += scalarOf(t.resources ?? [], 'mem');
    }
    for (const id of f.offers) {
      const o = this.offers.get(id);
      cpus += scalarOf(o?.offer.resources ?? [], 'cpus');
      mem += scalarOf(o?.offer.resources ?? [], 'mem');
    }
    return Math.max(totalCpus ? cpus / totalCpus : 0, totalMem ? mem / totalMem : 0);
  }

  /**
   * One allocation run: each connected agent's free resources go, as one offer, to the subscribed
   * framework with the lowest dominant share that neither filters nor suppresses it.
   */
  allocate(): void {
    if (this.stopped) return;
    const t = Date.now();
    const batches = new Map<FrameworkEntry, Offer[]>();
    for (const agent of this.agents.values()) {
      if (!agent.conn) continue;
      const available = this.available(agent);
      if (!allocatable(available)) continue;
      const candidates = [...this.frameworks.values()].filter((f) => {
        if (!f.conn || f.suppressed) return false;
        const until = f.filters.get(agent.id);
        if (until !== undefined && until > t) return false;
        if (until !== undefined) f.filters.delete(agent.id);
        return true;
      });
      if (candidates.length === 0) continue;
      candidates.sort((a, b) => this.share(a) - this.share(b) || a.registeredTime - b.registeredTime);
      const f = candidates[0]!;
      const offer = this.makeOffer(f, agent, available);
      batches.set(f, [...(batches.get(f) ?? []), offer]);
    }
    for (const [f, offers] of batches) {
      this.counters.offersSent += offers.length;
      this.send(f, { type: Event_Type.OFFERS, offers: { offers } });
    }
    if (batches.size > 0) this.changed();
  }

  private makeOffer(f: FrameworkEntry, agent: AgentEntry, available: Resource[]): Offer {
    const id = `${this.id}-O${this.nextOffer++}`;
    const role = frameworkRole(f.info);
    const [host, portText] = agent.pid.replace(/^[^@]*@/, '').split(':');
    const offer: Offer = {
      id: { value: id },
      frameworkId: { value: f.id },
      agentId: { value: agent.id },
      hostname: agent.info.hostname ?? '',
      url: { scheme: 'http', address: { hostname: agent.info.hostname, ip: host, port: Number(portText ?? 5051) }, path: '/slave(1)', query: [] },
      resources: allocateResources(available, role),
      attributes: agent.info.attributes ?? [],
      executorIds: [...(agent.executors.get(f.id)?.keys() ?? [])].map((value) => ({ value })),
      allocationInfo: { role },
    };
    const entry: OfferEntry = { offer, frameworkId: f.id, agentId: agent.id };
    if (this.offerTimeoutMs !== undefined) {
      entry.timer = setTimeout(() => this.rescindOffer(id), this.offerTimeoutMs);
      entry.timer.unref();
    }
    this.offers.set(id, entry);
    f.offers.add(id);
    agent.offers.add(id);
    return offer;
  }

  /** Takes an offer back; the framework gets RESCIND when `tell`. */
  private removeOffer(offerId: string, tell: boolean): OfferEntry | undefined {
    const o = this.offers.get(offerId);
    if (!o) return undefined;
    if (o.timer) clearTimeout(o.timer);
    this.offers.delete(offerId);
    this.frameworks.get(o.frameworkId)?.offers.delete(offerId);
    this.agents.get(o.agentId)?.offers.delete(offerId);
    if (tell) {
      this.counters.offersRescinded++;
      const f = this.frameworks.get(o.frameworkId);
      if (f) this.send(f, { type: Event_Type.RESCIND, rescind: { offerId: { value: offerId } } });
    }
    this.changed();
    return o;
  }

  rescindOffer(offerId: string): void {
    if (this.removeOffer(offerId, true)) this.scheduleAllocation();
  }

  private refuse(f: FrameworkEntry, agentId: string, refuseSeconds: number | undefined): void {
    // Mesos's Filters.refuse_seconds: default 5 s, negative means the default; 0 sets no filter.
    const seconds = refuseSeconds === undefined || refuseSeconds < 0 ? 5 : Math.min(refuseSeconds, 365 * 24 * 3600);
    if (seconds > 0) f.filters.set(agentId, Date.now() + seconds * 1000);
  }

  private decline(f: FrameworkEntry, offerIds: string[], refuseSeconds: number | undefined): void {
    for (const id of offerIds) {
      const o = this.offers.get(id);
      if (!o || o.frameworkId !== f.id) {
        this.log.warn({ frameworkId: f.id, offerId: id }, 'ignoring decline of an offer that is no longer valid');
        continue;
      }
      this.removeOffer(id, false);
      this.counters.offersDeclined++;
      this.refuse(f, o.agentId, refuseSeconds);
    }
    this.scheduleAllocation();
  }

  /** ACCEPT: offer validation, then each operation in order (only LAUNCH runs tasks). */
  private accept(f: FrameworkEntry, accept: schedulerv1.Call_Accept): void {
    const offerIds = accept.offerIds.map((o) => o.value ?? '');
    const launches = accept.operations.filter((op) => op.type === Offer_Operation_Type.LAUNCH).flatMap((op) => op.launch?.taskInfos ?? []);
    const offerErr =
      offerIds.length === 0
        ? undefined
        : validateOffers(
            offerIds,
            (id) => {
              const o = this.offers.get(id);
              return o ? { frameworkId: o.frameworkId, agentId: o.agentId, role: o.offer.allocationInfo?.role ?? '*' } : undefined;
            },
            f.id,
          );
    if (offerErr) {
      // The valid offers among them go back to the pool; every task to launch is lost.
      for (const id of offerIds) {
        const o = this.offers.get(id);
        if (o && o.frameworkId === f.id) this.removeOffer(id, false);
      }
      const state = isPartitionAware(f.info) ? TaskState.TASK_DROPPED : TaskState.TASK_LOST;
      for (const task of launches) {
        this.send(f, {
          type: Event_Type.UPDATE,
          update: { status: this.statusFor(task.taskId?.value ?? '', task.agentId?.value, state, `Task launched with invalid offers: ${offerErr}`, TaskStatus_Reason.REASON_INVALID_OFFERS) },
        });
        this.countUpdate(state, TaskStatus_Source.SOURCE_MASTER, TaskStatus_Reason.REASON_INVALID_OFFERS);
      }
      this.log.warn({ frameworkId: f.id, offerIds, error: offerErr }, 'ACCEPT used invalid offers');
      this.scheduleAllocation();
      return;
    }
    if (offerIds.length === 0) {
      for (const task of launches) {
        this.send(f, {
          type: Event_Type.UPDATE,
          update: { status: this.statusFor(task.taskId?.value ?? '', task.agentId?.value, isPartitionAware(f.info) ? TaskState.TASK_DROPPED : TaskState.TASK_LOST, 'Task launched with invalid offers: No offers specified', TaskStatus_Reason.REASON_INVALID_OFFERS) },
        });
      }
      return;
    }
    const agentId = this.offers.get(offerIds[0]!)!.agentId;
    const agent = this.agents.get(agentId)!;
    let offered: Resource[] = [];
    for (const id of offerIds) offered = addResources(offered, this.removeOffer(id, false)!.offer.resources ?? []);

    const role = frameworkRole(f.info);
    for (const op of accept.operations) {
      if (op.type === Offer_Operation_Type.LAUNCH) {
        for (const raw of op.launch?.taskInfos ?? []) {
          if (op.id) {
            this.taskError(f, raw, 'The `id` field cannot be set on LAUNCH operations');
            continue;
          }
          const task = this.normalizeTask(raw, f, role);
          const ctx = this.taskContext(f, agent);
          const err = validateTask(task, ctx, offered);
          if (err) {
            this.taskError(f, task, err);
            continue;
          }
          offered = subtractResources(offered, taskConsumes(task, ctx));
          this.launch(f, agent, task);
        }
      } else if (op.type === Offer_Operation_Type.LAUNCH_GROUP) {
        for (const raw of op.launchGroup?.taskGroup?.tasks ?? []) {
          this.taskError(f, raw, 'LAUNCH_GROUP is not supported by ippc: launch each task with LAUNCH', TaskStatus_Reason.REASON_TASK_GROUP_INVALID);
        }
      } else {
        this.log.warn({ frameworkId: f.id, type: op.type }, 'ignoring an offer operation ippc does not support');
      }
    }
    // Whatever was offered and not used returns to the pool, refused to this framework for a while.
    this.refuse(f, agentId, accept.filters?.refuseSeconds);
    this.changed();
    this.scheduleAllocation();
  }

  /** Mesos's `injectAllocationInfo` and the executor's framework id, before validation. */
  private normalizeTask(raw: TaskInfo, f: FrameworkEntry, role: string): TaskInfo {
    const inject = (rs: Resource[]) => rs.map((r) => (r.allocationInfo ? r : { ...r, allocationInfo: { role } }));
    return {
      ...raw,
      resources: inject(raw.resources ?? []),
      ...(raw.executor
        ? {
            executor: {
              ...raw.executor,
              frameworkId: raw.executor.frameworkId ?? { value: f.id },
              resources: inject(raw.executor.resources ?? []),
            },
          }
        : {}),
    };
  }

  private taskContext(f: FrameworkEntry, agent: AgentEntry): TaskContext {
    return {
      frameworkId: f.id,
      taskIds: new Set(f.tasks.keys()),
      unreachableTaskIds: new Set(f.unreachableTasks.keys()),
      agentId: agent.id,
      executors: agent.executors.get(f.id) ?? new Map(),
      agentSupportsLimits: false,
      onWarning: (message) => this.log.warn({ frameworkId: f.id }, message),
    };
  }

  private taskError(f: FrameworkEntry, task: TaskInfo, message: string, reason = TaskStatus_Reason.REASON_TASK_INVALID): void {
    this.counters.tasksInvalid++;
    this.countUpdate(TaskState.TASK_ERROR, TaskStatus_Source.SOURCE_MASTER, reason);
    this.log.warn({ frameworkId: f.id, taskId: task.taskId?.value, error: message }, 'task is invalid');
    this.send(f, { type: Event_Type.UPDATE, update: { status: this.statusFor(task.taskId?.value ?? '', task.agentId?.value, TaskState.TASK_ERROR, message, reason) } });
  }

  private launch(f: FrameworkEntry, agent: AgentEntry, task: TaskInfo): void {
    const taskId = task.taskId!.value!;
    const record = taskFromTaskInfo(task, { frameworkId: f.id, agentId: agent.id, ...(f.info.user !== undefined ? { frameworkUser: f.info.user } : {}) });
    f.tasks.set(taskId, record);
    if (task.executor) {
      const byId = agent.executors.get(f.id) ?? new Map<string, ExecutorInfo>();
      byId.set(task.executor.executorId?.value ?? '', task.executor);
      agent.executors.set(f.id, byId);
    }
    this.counters.tasksLaunched++;
    this.log.info({ frameworkId: f.id, taskId, agentId: agent.id }, 'launching task');
    agent.conn?.send({ message: { $case: 'runTask', value: { framework: f.info, task } } });
  }

  // -------------------------------------------------------------------------------------------
  // Kill, acknowledge, reconcile

  private kill(f: FrameworkEntry, kill: schedulerv1.Call_Kill): void {
    const taskId = kill.taskId?.value ?? '';
    const task = f.tasks.get(taskId);
    if (!task) {
      // Mesos: "Cannot kill task ... because it is unknown; performing reconciliation".
      this.log.warn({ frameworkId: f.id, taskId }, 'cannot kill an unknown task; performing reconciliation');
      this.reconcile(f, [{ taskId, agentId: kill.agentId?.value }]);
      return;
    }
    if (isTerminalState(task.state)) return;
    const agent = this.agents.get(task.agentId?.value ?? '');
    const message: agentv1.KillTask = { frameworkId: { value: f.id }, taskId: { value: taskId }, ...(kill.killPolicy ? { killPolicy: kill.killPolicy } : {}) };
    if (!agent?.conn) {
      this.log.warn({ frameworkId: f.id, taskId }, 'the agent is disconnected; the kill is sent when it re-registers');
      agent?.pendingKills.set(`${f.id}/${taskId}`, message);
      return;
    }
    agent.conn.send({ message: { $case: 'killTask', value: message } });
  }

  private acknowledge(f: FrameworkEntry, ack: schedulerv1.Call_Acknowledge): void {
    const agentId = ack.agentId?.value ?? '';
    const taskId = ack.taskId?.value ?? '';
    const agent = this.agents.get(agentId);
    if (!agent && !this.unreachableAgents.has(agentId)) throw new MasterError('AGENT_UNKNOWN', `Agent ${agentId} is not registered: nothing to acknowledge there`);
    const task = f.tasks.get(taskId);
    if (!task) throw new MasterError('TASK_UNKNOWN', `Task ${taskId} of framework ${f.id} is unknown: nothing to acknowledge`);
    if (agent?.conn) {
      agent.conn.send({ message: { $case: 'statusUpdateAcknowledgement', value: { agentId: { value: agentId }, frameworkId: { value: f.id }, taskId: { value: taskId }, uuid: ack.uuid } } });
    }
    if (isTerminalState(task.statusUpdateState) && task.statusUpdateUuid && ack.uuid && Buffer.compare(task.statusUpdateUuid, Buffer.from(ack.uuid)) === 0) {
      this.completeTask(f, task);
      this.changed();
    }
  }

  /** Explicit (with tasks) or implicit (without) reconciliation; answers arrive as UPDATE events. */
  reconcile(f: FrameworkEntry, tasks: { taskId: string; agentId?: string }[]): void {
    const pa = isPartitionAware(f.info);
    if (tasks.length === 0) {
      for (const task of f.tasks.values()) this.send(f, { type: Event_Type.UPDATE, update: { status: this.reconciliationStatus(task) } });
      for (const task of f.unreachableTasks.values()) {
        this.send(f, {
          type: Event_Type.UPDATE,
          update: { status: { ...this.reconciliationStatus(task), state: pa ? TaskState.TASK_UNREACHABLE : TaskState.TASK_LOST } },
        });
      }
      return;
    }
    for (const { taskId, agentId } of tasks) {
      const task = f.tasks.get(taskId);
      let status: TaskStatus;
      if (task) status = this.reconciliationStatus(task);
      else if (f.unreachableTasks.has(taskId) || (agentId && this.unreachableAgents.has(agentId))) {
        status = this.statusFor(taskId, agentId, pa ? TaskState.TASK_UNREACHABLE : TaskState.TASK_LOST, 'Reconciliation: Task is unreachable', TaskStatus_Reason.REASON_RECONCILIATION);
      } else if (agentId && this.agents.has(agentId)) {
        status = this.statusFor(taskId, agentId, pa ? TaskState.TASK_UNKNOWN : TaskState.TASK_LOST, 'Reconciliation: Task is unknown to the agent', TaskStatus_Reason.REASON_RECONCILIATION);
      } else {
        status = this.statusFor(taskId, agentId, pa ? TaskState.TASK_UNKNOWN : TaskState.TASK_LOST, 'Reconciliation: Task is unknown', TaskStatus_Reason.REASON_RECONCILIATION);
      }
      this.send(f, { type: Event_Type.UPDATE, update: { status } });
    }
  }

  /** The latest state of a task as reconciliation reports it (with its container_status). */
  private reconciliationStatus(task: Task): TaskStatus {
    const latest = task.statuses?.at(-1);
    return createTaskStatus({
      taskId: task.taskId ?? {},
      state: task.state ?? TaskState.TASK_STAGING,
      message: 'Reconciliation: Latest task state',
      source: TaskStatus_Source.SOURCE_MASTER,
      reason: TaskStatus_Reason.REASON_RECONCILIATION,
      agentId: task.agentId?.value ?? '',
      executorId: task.executorId?.value,
      healthy: latest?.healthy,
      labels: latest?.labels,
      containerStatus: latest?.containerStatus,
      unreachableTime: latest?.unreachableTime,
    });
  }

  /** A status the master generates: SOURCE_MASTER, no uuid (nothing to acknowledge). */
  private statusFor(taskId: string, agentId: string | undefined, state: TaskState, message: string, reason: TaskStatus_Reason): TaskStatus {
    return createTaskStatus({ taskId, state, message, source: TaskStatus_Source.SOURCE_MASTER, reason, agentId: agentId || undefined });
  }

  private masterStatus(task: Task, state: TaskState, message: string, reason: TaskStatus_Reason, unreachableTime?: TimeInfo): TaskStatus {
    return createTaskStatus({
      taskId: task.taskId?.value ?? '',
      state,
      message,
      source: TaskStatus_Source.SOURCE_MASTER,
      reason,
      agentId: task.agentId?.value || undefined,
      executorId: task.executorId?.value,
      unreachableTime,
    });
  }

  // -------------------------------------------------------------------------------------------
  // Tasks

  /**
   * Records a status on a task: the latest state, the status (collapsed as Mesos keeps the history:
   * a status with the same state as the last replaces it; `data` is dropped), and the resources back
   * to the pool when the task becomes terminal.
   */
  private updateTask(task: Task, status: TaskStatus, latestState?: TaskState): void {
    const wasTerminal = isTerminalState(task.state);
    recordStatus(task, status, latestState);
    task.statusUpdateState = status.state;
    task.statusUpdateUuid = status.uuid;
    if (!wasTerminal && isTerminalState(task.state)) this.scheduleAllocation();
    this.changed();
  }

  /** Moves a task to the framework's completed tasks. */
  private completeTask(f: FrameworkEntry, task: Task): void {
    const taskId = task.taskId?.value ?? '';
    if (f.tasks.get(taskId) !== task) return;
    f.tasks.delete(taskId);
    this.pushCompleted(f, task);
  }

  private pushCompleted(f: FrameworkEntry, task: Task): void {
    f.completedTasks.push(task);
    while (f.completedTasks.length > this.maxCompletedTasks) f.completedTasks.shift();
  }

  private countUpdate(state: TaskState, source: TaskStatus_Source | undefined, reason: TaskStatus_Reason | undefined): void {
    const key = `${taskStateToJSON(state)}|${source ?? ''}|${reason ?? ''}`;
    this.counters.statusUpdates.set(key, (this.counters.statusUpdates.get(key) ?? 0) + 1);
  }

  // -------------------------------------------------------------------------------------------
  // Agents

  /** A new agent. Returns its id; throws AGENT_INVALID with Mesos's message for a bad registration. */
  registerAgent(msg: agentv1.RegisterAgent, conn: AgentConnection): string {
    const info = msg.agent;
    if (!info) throw new MasterError('AGENT_INVALID', 'Not initialized: agent');
    const err = validateResourceList(info.resources ?? []);
    if (err) throw new MasterError('AGENT_INVALID', err);
    if (info.hostname === undefined) throw new MasterError('AGENT_INVALID', 'Not initialized: agent.hostname');
    // An agent that comes back without its checkpoint replaces the one at the same address.
    for (const a of [...this.agents.values()]) if (a.pid === msg.pid) this.removeAgent(a, `Agent ${a.info.hostname} re-registered with a new id`);
    const id = `${this.id}-S${this.nextAgent++}`;
    const agent = this.newAgent(id, { ...info, id: { value: id } }, msg.pid ?? '', msg.version ?? '', conn);
    this.agents.set(id, agent);
    this.counters.agentRegistrations++;
    this.log.info({ agentId: id, hostname: info.hostname, pid: msg.pid }, 'agent registered');
    conn.send({ message: { $case: 'agentRegistered', value: { agentId: { value: id } } } });
    this.changed();
    this.scheduleAllocation();
    return id;
  }

  private newAgent(id: string, info: AgentInfo, pid: string, version: string, conn: AgentConnection): AgentEntry {
    return {
      id,
      info,
      pid,
      version,
      conn,
      registeredTime: now(),
      total: normalizeResources(unallocateResources(info.resources ?? [])),
      executors: new Map(),
      offers: new Set(),
      pendingKills: new Map(),
    };
  }

  /**
   * An agent with the id it checkpointed. Known agents keep their tasks and their history; unknown
   * ones (after a master restart, or back from unreachable) are added with what they report.
   */
  reregisterAgent(msg: agentv1.ReregisterAgent, conn: AgentConnection): string {
    const info = msg.agent;
    const id = info?.id?.value;
    if (!info || !id) throw new MasterError('AGENT_INVALID', 'Not initialized: agent.id');
    const err = this.validateReregistration(msg, id);
    if (err) throw new MasterError('AGENT_INVALID', err);

    let agent = this.agents.get(id);
    if (agent) {
      if (agent.conn && agent.conn !== conn) agent.conn.close('Agent re-registered on a new connection');
      if (agent.removalTimer) clearTimeout(agent.removalTimer);
      agent.removalTimer = undefined;
      agent.conn = conn;
      agent.info = info;
      agent.pid = msg.pid ?? '';
      agent.version = msg.version ?? '';
      agent.total = normalizeResources(unallocateResources(info.resources ?? []));
      agent.reregisteredTime = now();
    } else {
      agent = this.newAgent(id, info, msg.pid ?? '', msg.version ?? '', conn);
      agent.reregisteredTime = now();
      this.agents.set(id, agent);
      this.unreachableAgents.delete(id);
    }
    this.counters.agentReregistrations++;

    for (const fi of msg.frameworks) {
      const fid = fi.id?.value ?? '';
      if (!this.frameworks.has(fid) && !this.completedFrameworks.some((c) => c.id === fid)) {
        // Mesos's recovered framework: known from an agent, waiting for its scheduler to subscribe.
        this.frameworks.set(fid, {
          id: fid,
          info: fi,
          recovered: true,
          registeredTime: now(),
          tasks: new Map(),
          unreachableTasks: new Map(),
          completedTasks: [],
          offers: new Set(),
          filters: new Map(),
          suppressed: false,
        });
      }
    }
    agent.executors.clear();
    for (const e of msg.executorInfos) {
      const fid = e.frameworkId?.value ?? '';
      const byId = agent.executors.get(fid) ?? new Map<string, ExecutorInfo>();
      byId.set(e.executorId?.value ?? '', e);
      agent.executors.set(fid, byId);
    }

    const reported = new Set<string>();
    for (const t of msg.tasks) {
      const fid = t.frameworkId?.value ?? '';
      const tid = t.taskId?.value ?? '';
      reported.add(`${fid}/${tid}`);
      const f = this.frameworks.get(fid);
      if (!f) {
        // A framework that was removed: its tasks must go (Mesos shuts the framework down on the agent).
        conn.send({ message: { $case: 'shutdownFramework', value: { frameworkId: { value: fid } } } });
        continue;
      }
      const known = f.tasks.get(tid) ?? f.unreachableTasks.get(tid);
      f.unreachableTasks.delete(tid);
      if (known) {
        known.state = t.state;
        if ((t.statuses ?? []).length > (known.statuses ?? []).length) known.statuses = t.statuses;
        f.tasks.set(tid, known);
      } else {
        f.tasks.set(tid, { ...t, agentId: { value: id } });
      }
    }
    // Tasks the master has on this agent that the agent did not report: ask the agent about them.
    for (const f of this.frameworks.values()) {
      const missing = [...f.tasks.values()].filter((t) => t.agentId?.value === id && !reported.has(`${f.id}/${t.taskId?.value}`) && !isTerminalState(t.state));
      if (missing.length > 0) {
        conn.send({
          message: {
            $case: 'reconcileTasks',
            value: { frameworkId: { value: f.id }, statuses: missing.map((t) => ({ taskId: t.taskId, state: t.state, agentId: { value: id } })) },
          },
        });
      }
    }
    for (const [key, kill] of agent.pendingKills) {
      conn.send({ message: { $case: 'killTask', value: kill } });
      agent.pendingKills.delete(key);
    }
    this.log.info({ agentId: id, hostname: info.hostname, tasks: msg.tasks.length }, 'agent re-registered');
    conn.send({ message: { $case: 'agentReregistered', value: { agentId: { value: id } } } });
    this.changed();
    this.scheduleAllocation();
    return id;
  }

  /** `validation::master::message::reregisterSlave`. */
  private validateReregistration(msg: agentv1.ReregisterAgent, agentId: string): string | undefined {
    const idErr = validateId(agentId);
    if (idErr) return idErr;
    const resErr = validateResourceList(msg.agent?.resources ?? []);
    if (resErr) return resErr;
    const frameworkIds = new Set<string>();
    for (const fi of msg.frameworks) {
      const err = validateFrameworkInfo(fi);
      if (err) return err;
      const fid = fi.id?.value ?? '';
      if (frameworkIds.has(fid)) return `Framework has a duplicate FrameworkID: '${fid}'`;
      frameworkIds.add(fid);
    }
    const executorIds = new Set<string>();
    for (const e of msg.executorInfos) {
      const fid = e.frameworkId?.value ?? '';
      if (!frameworkIds.has(fid)) return `Executor has an invalid FrameworkID '${fid}'`;
      const key = `${fid}/${e.executorId?.value ?? ''}`;
      if (executorIds.has(key)) return `Framework '${fid}' has a duplicate ExecutorID '${e.executorId?.value ?? ''}'`;
      executorIds.add(key);
    }
    for (const t of msg.tasks) {
      const err = validateId(t.taskId?.value ?? '');
      if (err) return `Task has an invalid TaskID: ${err}`;
      if ((t.agentId?.value ?? '') !== agentId) return `Task has an invalid SlaveID '${t.agentId?.value ?? ''}'`;
      if (!frameworkIds.has(t.frameworkId?.value ?? '')) return `Task has an invalid FrameworkID '${t.frameworkId?.value ?? ''}'`;
      const resErr2 = validateResourceList(t.resources ?? []);
      if (resErr2) return `Task uses invalid resources: ${resErr2.replace(/^Invalid resources: /, '')}`;
    }
    return undefined;
  }

  /** The agent's session ended: rescind its offers and wait for it to come back. */
  agentDisconnected(agentId: string, conn: AgentConnection): void {
    const agent = this.agents.get(agentId);
    if (!agent || agent.conn !== conn) return;
    agent.conn = undefined;
    for (const offerId of [...agent.offers]) this.rescindOffer(offerId);
    this.log.warn({ agentId, timeoutMs: this.reregisterTimeoutMs }, 'agent disconnected');
    agent.removalTimer = setTimeout(() => this.markUnreachable(agent), this.reregisterTimeoutMs);
    agent.removalTimer.unref();
    this.changed();
  }

  /** The agent stayed away too long: its tasks become unreachable (TASK_LOST for frameworks that are not partition-aware). */
  private markUnreachable(agent: AgentEntry): void {
    if (agent.conn || this.agents.get(agent.id) !== agent) return;
    const time = now();
    const message = `Agent ${agent.info.hostname ?? agent.id} is unreachable: health check timed out`;
    for (const f of this.frameworks.values()) {
      for (const task of [...f.tasks.values()]) {
        if (task.agentId?.value !== agent.id) continue;
        if (isTerminalState(task.state)) {
          this.completeTask(f, task);
          continue;
        }
        const state = isPartitionAware(f.info) ? TaskState.TASK_UNREACHABLE : TaskState.TASK_LOST;
        const status = this.masterStatus(task, state, message, TaskStatus_Reason.REASON_AGENT_REMOVED, { nanoseconds: Math.round(time * 1e9) });
        this.updateTask(task, { ...status, state: TaskState.TASK_UNREACHABLE });
        f.tasks.delete(task.taskId?.value ?? '');
        f.unreachableTasks.set(task.taskId?.value ?? '', task);
        this.countUpdate(state, TaskStatus_Source.SOURCE_MASTER, TaskStatus_Reason.REASON_AGENT_REMOVED);
        this.send(f, { type: Event_Type.UPDATE, update: { status } });
      }
      this.send(f, { type: Event_Type.FAILURE, failure: { agentId: { value: agent.id } } });
    }
    this.agents.delete(agent.id);
    this.unreachableAgents.set(agent.id, { info: agent.info, time });
    this.counters.agentsUnreachable++;
    this.log.warn({ agentId: agent.id }, 'agent marked unreachable');
    this.changed();
  }

  /** Removes an agent for good (replaced by a new registration at the same address). */
  private removeAgent(agent: AgentEntry, message: string): void {
    if (agent.removalTimer) clearTimeout(agent.removalTimer);
    for (const offerId of [...agent.offers]) this.rescindOffer(offerId);
    for (const f of this.frameworks.values()) {
      for (const task of [...f.tasks.values()]) {
        if (task.agentId?.value !== agent.id) continue;
        if (!isTerminalState(task.state)) {
          const status = this.masterStatus(task, TaskState.TASK_LOST, message, TaskStatus_Reason.REASON_AGENT_REMOVED);
          this.updateTask(task, status);
          this.send(f, { type: Event_Type.UPDATE, update: { status } });
        }
        this.completeTask(f, task);
      }
    }
    agent.conn?.close(message);
    this.agents.delete(agent.id);
    this.changed();
  }

  /** A status update from an agent's status update manager, forwarded to the framework. */
  statusUpdate(agentId: string, conn: AgentConnection, update: agentv1.StatusUpdate): void {
    const agent = this.agents.get(agentId);
    if (!agent || agent.conn !== conn) throw new MasterError('AGENT_INVALID', 'Agent must (re-)register before sending status updates');
    const status = update.status;
    if (!status?.taskId?.value || status.state === undefined) throw new MasterError('AGENT_INVALID', 'Not initialized: status_update.status.task_id, status_update.status.state');
    const fid = update.frameworkId?.value ?? '';
    const f = this.frameworks.get(fid);
    this.countUpdate(status.state, status.source, status.reason);
    if (!f) {
      this.log.warn({ agentId, frameworkId: fid, taskId: status.taskId.value }, 'status update for an unknown framework: dropped (the agent retries)');
      return;
    }
    const task = f.tasks.get(status.taskId.value);
    if (task) this.updateTask(task, status, update.latestState as TaskState | undefined);
    else this.log.warn({ agentId, frameworkId: fid, taskId: status.taskId.value }, 'status update for a task the master does not know; forwarding it');
    this.send(f, { type: Event_Type.UPDATE, update: { status } });
  }

  // -------------------------------------------------------------------------------------------
  // Views for the state endpoint and tests

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

export type { AgentEntry, FrameworkEntry, OfferEntry };
