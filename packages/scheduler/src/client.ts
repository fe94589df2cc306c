import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { clientOptions, silentLogger, type AuthConfig, type Logger } from '@ippc/core';
import { isTerminalState, pickResources } from '@ippc/mesos';
import {
  ContainerInfo,
  FrameworkInfo,
  FrameworkInfo_Capability_Type,
  KillPolicy,
  Offer_Operation_Type,
  schedulerv1,
  TaskInfo,
  TaskState,
  taskStateFromJSON,
  taskStateToJSON,
  type AgentID,
  type CommandInfo,
  type FrameworkID,
  type Labels,
  type NetworkInfo,
  type Offer,
  type Resource,
  type TaskStatus,
} from '@ippc/proto';
import { SchedulerError } from './errors.js';

const { SchedulerClient, Call, Call_Type, Event_Type } = schedulerv1;
type Call = schedulerv1.Call;
type Event = schedulerv1.Event;

/** What a framework tells the master about itself (Mesos's FrameworkInfo, with friendlier defaults). */
export interface FrameworkOptions {
  name: string;
  /** Unix user tasks run as. Default: the current user's name, else `root`. */
  user?: string;
  /** Default `*`. */
  role?: string;
  /** Set to fail over to an existing framework (re-subscribe after a restart). */
  id?: string;
  /**
   * Ask agents to checkpoint this framework's tasks so they survive an agent restart. Default `true`
   * (Mesos's proto default is false; a testbed framework nearly always wants its tasks to survive).
   */
  checkpoint?: boolean;
  /** Seconds the master keeps the framework's tasks after it disconnects. Default 0 (Mesos's default). */
  failoverTimeoutSeconds?: number;
  /** e.g. `PARTITION_AWARE`, `TASK_KILLING_STATE`. */
  capabilities?: (keyof typeof FrameworkInfo_Capability_Type)[];
  hostname?: string;
  principal?: string;
  labels?: Labels;
}

export interface SchedulerOptions {
  /** The master's address, `host:port` (Mesos's default port is 5050). */
  master: string;
  /** The cluster's shared secret, or `{ disabled: true }` for a master started without authentication. */
  auth: AuthConfig;
  framework: FrameworkOptions;
  /**
   * Acknowledge each status update that carries a `uuid` right after it was delivered to listeners,
   * as Mesos's scheduler driver does by default. Default `true`. With `false`, call `acknowledge()`.
   */
  implicitAcknowledgements?: boolean;
  /** Re-subscribe (with backoff, same framework id) when the stream ends or heartbeats stop. Default `true`. */
  reconnect?: boolean;
  log?: Logger;
}

/** An event from the master, as delivered to `events()` and `on()` listeners. */
export type SchedulerEvent =
  | { type: 'SUBSCRIBED'; frameworkId: string; heartbeatIntervalSeconds?: number }
  | { type: 'OFFERS'; offers: Offer[] }
  | { type: 'RESCIND'; offerId: string }
  | { type: 'UPDATE'; status: TaskStatus }
  | { type: 'FAILURE'; agentId?: string; executorId?: string; status?: number }
  | { type: 'ERROR'; message: string }
  | { type: 'HEARTBEAT' }
  | { type: 'DISCONNECTED'; reason: string };

type StateName = keyof typeof TaskState;

/** A command task to launch, in friendly terms; see {@link Scheduler.taskFromOffer}. */
export interface TaskSpec {
  name: string;
  /** Default: `<name>-<random>`. */
  id?: string;
  /** A shell command (`sh -c`), or a full CommandInfo. */
  command: string | CommandInfo;
  cpus?: number;
  mem?: number;
  disk?: number;
  /** How many ports to take from the offer (lowest first), or which ones. The task sees them as PORT0..N and PORTS. */
  ports?: number | number[];
  /** Networks to join (opt in to an IP of the task's own); empty or absent: the agent's network. */
  networks?: NetworkInfo[];
  /** A full ContainerInfo; `networks` are added to it. */
  container?: ContainerInfo;
  labels?: Labels;
  killGracePeriodMs?: number;
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(err: Error): void;
}

/**
 * A framework's connection to the master: subscribe, receive offers and status updates, launch,
 * kill, acknowledge, reconcile. Created by {@link createScheduler}; nothing happens until
 * `subscribe()`.
 */
export class Scheduler {
  private readonly client: InstanceType<typeof SchedulerClient>;
  private readonly log: Logger;
  private readonly implicitAcks: boolean;
  private readonly reconnect: boolean;
  private info: FrameworkInfo;
  private stream: grpc.ClientReadableStream<Event> | undefined;
  private streamId: string | undefined;
  private closed = false;
  private subscribed = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private backoffMs = 250;
  private readonly listeners = new Set<(event: SchedulerEvent) => void>();
  private readonly subscribedWaiters: Waiter<string>[] = [];
  /** Offers received and not yet used, declined or rescinded, by offer id. */
  readonly offers = new Map<string, Offer>();
  /** Offers out for an ACCEPT or DECLINE call now: true once rescinded meanwhile (not put back then). */
  private readonly inFlight = new Map<string, boolean>();
  /** Every status update received, per task id, oldest first. */
  readonly statuses = new Map<string, TaskStatus[]>();

  constructor(private readonly options: SchedulerOptions) {
    this.log = options.log ?? silentLogger();
    this.implicitAcks = options.implicitAcknowledgements ?? true;
    this.reconnect = options.reconnect ?? true;
    this.client = new SchedulerClient(
      options.master,
      grpc.credentials.createInsecure(),
      clientOptions(options.auth, { 'grpc.keepalive_time_ms': 10_000, 'grpc.keepalive_timeout_ms': 5_000, 'grpc.keepalive_permit_without_calls': 1 }),
    );
    const f = options.framework;
    this.info = FrameworkInfo.fromPartial({
      name: f.name,
      user: f.user ?? process.env.USER ?? 'root',
      ...(f.id ? { id: { value: f.id } } : {}),
      checkpoint: f.checkpoint ?? true,
      ...(f.role ? { role: f.role } : {}),
      ...(f.failoverTimeoutSeconds !== undefined ? { failoverTimeout: f.failoverTimeoutSeconds } : {}),
      capabilities: (f.capabilities ?? []).map((c) => ({ type: FrameworkInfo_Capability_Type[c] })),
      ...(f.hostname ? { hostname: f.hostname } : {}),
      ...(f.principal ? { principal: f.principal } : {}),
      ...(f.labels ? { labels: f.labels } : {}),
    });
  }

  /** The framework id the master assigned (after the first SUBSCRIBED). */
  get frameworkId(): string | undefined {
    return this.info.id?.value;
  }

  get isSubscribed(): boolean {
    return this.subscribed;
  }

  /** Opens the event stream; resolves with the framework id on SUBSCRIBED. */
  subscribe(timeoutMs = 15_000): Promise<string> {
    if (this.closed) return Promise.reject(new SchedulerError('SCHEDULER_DISCONNECTED', 'this scheduler was closed; create a new one'));
    const done = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new SchedulerError('SCHEDULER_TIMEOUT', `no SUBSCRIBED from the master at ${this.options.master} within ${timeoutMs} ms: is it running, and is the token right?`)), timeoutMs);
      this.subscribedWaiters.push({
        resolve: (id) => {
          clearTimeout(timer);
          resolve(id);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
    });
    if (!this.stream) this.openStream();
    return done;
  }

  private openStream(): void {
    const call = Call.fromPartial({
      type: Call_Type.SUBSCRIBE,
      ...(this.info.id ? { frameworkId: this.info.id } : {}),
      subscribe: { frameworkInfo: this.info },
    });
    const stream = this.client.subscribe(call);
    this.stream = stream;
    stream.on('metadata', (md: grpc.Metadata) => {
      const id = md.get('mesos-stream-id')[0];
      if (typeof id === 'string') this.streamId = id;
    });
    stream.on('data', (event: Event) => this.onEvent(event));
    stream.on('error', (err: grpc.ServiceError) => this.onStreamEnd(stream, `${grpc.status[err.code] ?? err.code}: ${err.details || err.message}`, err));
    stream.on('end', () => this.onStreamEnd(stream, 'the master ended the subscription'));
  }

  private onStreamEnd(stream: grpc.ClientReadableStream<Event>, reason: string, err?: grpc.ServiceError): void {
    if (this.stream !== stream) return;
    this.stream = undefined;
    this.streamId = undefined;
    const wasSubscribed = this.subscribed;
    this.subscribed = false;
    this.offers.clear();
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    if (this.closed) return;
    this.log.warn({ reason }, 'subscription ended');
    this.emit({ type: 'DISCONNECTED', reason });
    const fatal = this.aborted !== undefined || (err && (err.code === grpc.status.UNAUTHENTICATED || err.code === grpc.status.INVALID_ARGUMENT || err.code === grpc.status.PERMISSION_DENIED));
    if (fatal || (!wasSubscribed && this.subscribedWaiters.length > 0 && err?.code !== grpc.status.UNAVAILABLE)) {
      const error = this.aborted !== undefined
        ? new SchedulerError('SCHEDULER_DISCONNECTED', `the master ended this framework's subscription: ${this.aborted}`)
        : new SchedulerError('SCHEDULER_CALL_FAILED', `subscription refused: ${reason}`, { grpcCode: err?.code, cause: err });
      for (const w of this.subscribedWaiters.splice(0)) w.reject(error);
      return;
    }
    if (!this.reconnect) {
      for (const w of this.subscribedWaiters.splice(0)) w.reject(new SchedulerError('SCHEDULER_DISCONNECTED', reason));
      return;
    }
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, 10_000);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.closed && !this.stream) this.openStream();
    }, delay);
  }

  private armHeartbeat(intervalSeconds: number | undefined): void {
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    if (!intervalSeconds) return;
    const stream = this.stream;
    // Mesos's advice: after missing about five heartbeats, consider the connection dead.
    this.heartbeatTimer = setTimeout(() => {
      if (stream && this.stream === stream) {
        stream.cancel();
        this.onStreamEnd(stream, `no heartbeat for ${5 * intervalSeconds} s`);
      }
    }, 5 * intervalSeconds * 1000);
    this.heartbeatTimer.unref?.();
  }

  private heartbeatSeconds: number | undefined;
  /** Set by an ERROR event: the subscription is over for good (no re-subscription). */
  private aborted: string | undefined;

  private onEvent(event: Event): void {
    if (this.heartbeatSeconds) this.armHeartbeat(this.heartbeatSeconds);
    switch (event.type) {
      case Event_Type.SUBSCRIBED: {
        const id = event.subscribed?.frameworkId?.value ?? '';
        this.info = FrameworkInfo.fromPartial({ ...this.info, id: { value: id } });
        this.subscribed = true;
        this.backoffMs = 250;
        this.heartbeatSeconds = event.subscribed?.heartbeatIntervalSeconds;
        this.armHeartbeat(this.heartbeatSeconds);
        this.log.info({ frameworkId: id }, 'subscribed');
        for (const w of this.subscribedWaiters.splice(0)) w.resolve(id);
        this.emit({ type: 'SUBSCRIBED', frameworkId: id, heartbeatIntervalSeconds: this.heartbeatSeconds });
        break;
      }
      case Event_Type.OFFERS: {
        const offers = event.offers?.offers ?? [];
        for (const o of offers) if (o.id?.value) this.offers.set(o.id.value, o);
        this.emit({ type: 'OFFERS', offers });
        break;
      }
      case Event_Type.RESCIND: {
        const id = event.rescind?.offerId?.value ?? '';
        this.offers.delete(id);
        if (this.inFlight.has(id)) this.inFlight.set(id, true);
        this.emit({ type: 'RESCIND', offerId: id });
        break;
      }
      case Event_Type.UPDATE: {
        const status = event.update?.status;
        if (!status) break;
        const taskId = status.taskId?.value ?? '';
        const list = this.statuses.get(taskId) ?? [];
        list.push(status);
        this.statuses.set(taskId, list);
        this.emit({ type: 'UPDATE', status });
        if (this.implicitAcks && status.uuid && status.uuid.length > 0) {
          this.acknowledge(status).catch((err: Error) => this.log.warn({ err: err.message, taskId }, 'acknowledgement failed; the agent will resend the update'));
        }
        break;
      }
      case Event_Type.FAILURE:
        this.emit({
          type: 'FAILURE',
          agentId: event.failure?.agentId?.value,
          executorId: event.failure?.executorId?.value,
          status: event.failure?.status,
        });
        break;
      case Event_Type.ERROR:
        // Mesos: "The scheduler should abort on receiving this event" (failed over, removed).
        this.log.error({ message: event.error?.message }, 'master sent ERROR');
        this.aborted = event.error?.message ?? 'ERROR';
        this.emit({ type: 'ERROR', message: event.error?.message ?? '' });
        break;
      case Event_Type.HEARTBEAT:
        this.emit({ type: 'HEARTBEAT' });
        break;
      default:
        break;
    }
  }

  private emit(event: SchedulerEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(event);
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'event listener threw');
      }
    }
  }

  /** Calls `listener` for every event from now on; returns a function that removes it. */
  on(listener: (event: SchedulerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The events from now on, as an async iterator (ends when the scheduler is closed). */
  events(): AsyncIterableIterator<SchedulerEvent> {
    const queue: SchedulerEvent[] = [];
    let wake: (() => void) | undefined;
    let ended = false;
    const off = this.on((e) => {
      queue.push(e);
      wake?.();
    });
    this.closeHooks.push(() => {
      ended = true;
      wake?.();
    });
    const iterator: AsyncIterableIterator<SchedulerEvent> = {
      [Symbol.asyncIterator]: () => iterator,
      next: async () => {
        while (queue.length === 0 && !ended) await new Promise<void>((r) => (wake = r));
        wake = undefined;
        if (queue.length > 0) return { value: queue.shift() as SchedulerEvent, done: false };
        off();
        return { value: undefined, done: true };
      },
      return: async () => {
        off();
        ended = true;
        return { value: undefined, done: true };
      },
    };
    return iterator;
  }

  private readonly closeHooks: (() => void)[] = [];

  /**
   * Resolves with outstanding offers that satisfy `filter` (all by default) as soon as there are at
   * least `count` of them; waits for OFFERS events if needed.
   */
  awaitOffers(options: { count?: number; filter?: (offer: Offer) => boolean; timeoutMs?: number } = {}): Promise<Offer[]> {
    const count = options.count ?? 1;
    const filter = options.filter ?? (() => true);
    const matching = () => [...this.offers.values()].filter(filter);
    const now = matching();
    if (now.length >= count) return Promise.resolve(now);
    const timeoutMs = options.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new SchedulerError('SCHEDULER_TIMEOUT', `fewer than ${count} matching offer(s) within ${timeoutMs} ms (have ${matching().length}): are agents registered with free resources?`));
      }, timeoutMs);
      const off = this.on((e) => {
        if (e.type !== 'OFFERS' && e.type !== 'RESCIND') return;
        const m = matching();
        if (m.length >= count) {
          clearTimeout(timer);
          off();
          resolve(m);
        }
      });
    });
  }

  /**
   * Resolves with the first status of `taskId` whose state is one of `states` (already received or
   * arriving later). Rejects on timeout, and, unless `states` includes it, when the task reaches
   * another terminal state first.
   */
  waitForState(taskId: string, states: StateName | TaskState | readonly (StateName | TaskState)[], timeoutMs = 30_000): Promise<TaskStatus> {
    const wanted = new Set((Array.isArray(states) ? states : [states]).map((s) => (typeof s === 'string' ? taskStateFromJSON(s) : s)));
    const check = (s: TaskStatus): 'match' | 'terminal' | undefined => {
      if (s.state !== undefined && wanted.has(s.state)) return 'match';
      if (isTerminalState(s.state)) return 'terminal';
      return undefined;
    };
    for (const s of this.statuses.get(taskId) ?? []) {
      const r = check(s);
      if (r === 'match') return Promise.resolve(s);
      if (r === 'terminal') return Promise.reject(this.unexpected(taskId, s, wanted));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        const last = (this.statuses.get(taskId) ?? []).at(-1);
        reject(new SchedulerError('SCHEDULER_TIMEOUT', `task ${taskId} did not reach ${[...wanted].map(taskStateToJSON).join('/')} within ${timeoutMs} ms (last: ${last ? taskStateToJSON(last.state ?? 0) : 'no update'})`));
      }, timeoutMs);
      const off = this.on((e) => {
        if (e.type !== 'UPDATE' || e.status.taskId?.value !== taskId) return;
        const r = check(e.status);
        if (!r) return;
        clearTimeout(timer);
        off();
        if (r === 'match') resolve(e.status);
        else reject(this.unexpected(taskId, e.status, wanted));
      });
    });
  }

  private unexpected(taskId: string, s: TaskStatus, wanted: Set<TaskState>): SchedulerError {
    return new SchedulerError(
      'SCHEDULER_CALL_FAILED',
      `task ${taskId} reached ${taskStateToJSON(s.state ?? 0)} instead of ${[...wanted].map(taskStateToJSON).join('/')}${s.message ? `: ${s.message}` : ''}`,
      { details: { state: taskStateToJSON(s.state ?? 0), message: s.message, reason: s.reason, source: s.source } },
    );
  }

  /** The latest status received for a task. */
  latestStatus(taskId: string): TaskStatus | undefined {
    return this.statuses.get(taskId)?.at(-1);
  }

  /**
   * Builds a command TaskInfo on `offer`'s agent, taking cpus/mem/disk/ports from what is left of
   * it. Throws RESOURCES_INVALID when the offer cannot hold the task.
   */
  taskFromOffer(offer: Offer, spec: TaskSpec, available: readonly Resource[] = offer.resources): TaskInfo {
    const resources = pickResources(available, { cpus: spec.cpus ?? 0.1, mem: spec.mem ?? 32, disk: spec.disk, ports: spec.ports });
    if (!resources) throw new SchedulerError('RESOURCES_INVALID', `offer ${offer.id?.value} on ${offer.hostname} cannot hold task '${spec.name}'`);
    return buildTask(offer.agentId as AgentID, resources, spec);
  }

  /** ACCEPT with one LAUNCH operation. Outcomes arrive as status updates. */
  async launch(offers: Offer | readonly Offer[] | readonly string[], tasks: readonly TaskInfo[], options: { refuseSeconds?: number } = {}): Promise<void> {
    const ids = (Array.isArray(offers) ? offers : [offers]).map((o: Offer | string) => (typeof o === 'string' ? o : (o.id?.value ?? '')));
    await this.spending(ids, () =>
      this.send({
        type: Call_Type.ACCEPT,
        accept: {
          offerIds: ids.map((value) => ({ value })),
          operations: [{ type: Offer_Operation_Type.LAUNCH, launch: { taskInfos: [...tasks] } }],
          ...(options.refuseSeconds !== undefined ? { filters: { refuseSeconds: options.refuseSeconds } } : {}),
        },
      }),
    );
  }

  /**
   * Takes the offers out of `offers` for the call, and puts them back when the call fails: a
   * refused call (not subscribed, stream mismatch, a transport error) leaves them outstanding at
   * the master, so they stay usable (a decline, another launch) until rescinded. An offer the
   * master did consume is refused on reuse (TASK_LOST, REASON_INVALID_OFFERS), as in Mesos.
   */
  private async spending(ids: readonly string[], call: () => Promise<void>): Promise<void> {
    const taken = new Map<string, Offer>();
    for (const id of ids) {
      const o = this.offers.get(id);
      if (o) taken.set(id, o);
      this.offers.delete(id);
      this.inFlight.set(id, false);
    }
    try {
      await call();
    } catch (err) {
      for (const [id, o] of taken) if (!this.offers.has(id) && this.inFlight.get(id) === false) this.offers.set(id, o);
      throw err;
    } finally {
      for (const id of ids) this.inFlight.delete(id);
    }
  }

  /** ACCEPT with arbitrary operations (e.g. to test the master's answers). */
  async accept(offerIds: readonly string[], operations: schedulerv1.Call_Accept['operations'], refuseSeconds?: number): Promise<void> {
    await this.spending(offerIds, () =>
      this.send({
        type: Call_Type.ACCEPT,
        accept: { offerIds: offerIds.map((value) => ({ value })), operations, ...(refuseSeconds !== undefined ? { filters: { refuseSeconds } } : {}) },
      }),
    );
  }

  async decline(offerIds: readonly string[], refuseSeconds?: number): Promise<void> {
    await this.spending(offerIds, () =>
      this.send({
        type: Call_Type.DECLINE,
        decline: { offerIds: offerIds.map((value) => ({ value })), ...(refuseSeconds !== undefined ? { filters: { refuseSeconds } } : {}) },
      }),
    );
  }

  /** KILL; `gracePeriodMs` overrides the task's kill policy. */
  async kill(taskId: string, options: { agentId?: string; gracePeriodMs?: number } = {}): Promise<void> {
    await this.send({
      type: Call_Type.KILL,
      kill: {
        taskId: { value: taskId },
        ...(options.agentId ? { agentId: { value: options.agentId } } : {}),
        ...(options.gracePeriodMs !== undefined ? { killPolicy: KillPolicy.fromPartial({ gracePeriod: { nanoseconds: options.gracePeriodMs * 1e6 } }) } : {}),
      },
    });
  }

  /** ACKNOWLEDGE a status update that carries a `uuid` (others need none). */
  async acknowledge(status: TaskStatus): Promise<void> {
    if (!status.uuid || status.uuid.length === 0) return;
    await this.send({
      type: Call_Type.ACKNOWLEDGE,
      acknowledge: { agentId: status.agentId, taskId: status.taskId, uuid: status.uuid },
    });
  }

  /** RECONCILE: explicit for the given tasks, implicit (every task the master knows) without. */
  async reconcile(tasks: readonly { taskId: string; agentId?: string }[] = []): Promise<void> {
    await this.send({
      type: Call_Type.RECONCILE,
      reconcile: { tasks: tasks.map((t) => ({ taskId: { value: t.taskId }, ...(t.agentId ? { agentId: { value: t.agentId } } : {}) })) },
    });
  }

  async revive(): Promise<void> {
    await this.send({ type: Call_Type.REVIVE, revive: { roles: [] } });
  }

  async suppress(): Promise<void> {
    await this.send({ type: Call_Type.SUPPRESS, suppress: { roles: [] } });
  }

  /** TEARDOWN: kills every task of this framework and removes it; the subscription ends. */
  async teardown(): Promise<void> {
    await this.send({ type: Call_Type.TEARDOWN });
    await this.close();
  }

  /** Sends any call with this framework's id and stream id; rejects with the master's error. */
  send(call: Partial<Call>): Promise<void> {
    if (!this.subscribed || !this.streamId || !this.info.id) {
      return Promise.reject(new SchedulerError('SCHEDULER_NOT_SUBSCRIBED', 'not subscribed: await subscribe() (or wait for the re-subscription) first'));
    }
    const md = new grpc.Metadata();
    md.set('mesos-stream-id', this.streamId);
    const full = Call.fromPartial({ ...call, frameworkId: this.info.id });
    return new Promise((resolve, reject) =>
      this.client.send(full, md, { deadline: Date.now() + 15_000 }, (err) => {
        if (err) reject(new SchedulerError('SCHEDULER_CALL_FAILED', err.details || err.message, { grpcCode: err.code, cause: err }));
        else resolve();
      }),
    );
  }

  /** Ends the subscription (the framework stays known to the master for its failover timeout). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.stream?.cancel();
    this.stream = undefined;
    this.subscribed = false;
    for (const w of this.subscribedWaiters.splice(0)) w.reject(new SchedulerError('SCHEDULER_DISCONNECTED', 'closed'));
    for (const h of this.closeHooks.splice(0)) h();
    this.client.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** A command TaskInfo from a friendly spec and chosen resources. */
export function buildTask(agentId: AgentID, resources: Resource[], spec: TaskSpec): TaskInfo {
  const command: CommandInfo = typeof spec.command === 'string' ? { shell: true, value: spec.command, uris: [], arguments: [] } : spec.command;
  let container = spec.container ? ContainerInfo.fromPartial(spec.container) : undefined;
  if (spec.networks?.length) {
    container = ContainerInfo.fromPartial({ type: 2, ...(container ?? {}), networkInfos: [...(container?.networkInfos ?? []), ...spec.networks] });
  }
  return TaskInfo.fromPartial({
    name: spec.name,
    taskId: { value: spec.id ?? `${spec.name}-${randomUUID().slice(0, 8)}` },
    agentId,
    resources,
    command,
    ...(container ? { container } : {}),
    ...(spec.labels ? { labels: spec.labels } : {}),
    ...(spec.killGracePeriodMs !== undefined ? { killPolicy: { gracePeriod: { nanoseconds: spec.killGracePeriodMs * 1e6 } } } : {}),
  });
}

/** A scheduler, not yet subscribed. */
export function createScheduler(options: SchedulerOptions): Scheduler {
  return new Scheduler(options);
}

/** Creates a scheduler and subscribes; resolves once SUBSCRIBED arrived. */
export async function connectScheduler(options: SchedulerOptions & { timeoutMs?: number }): Promise<Scheduler> {
  const scheduler = new Scheduler(options);
  try {
    await scheduler.subscribe(options.timeoutMs);
  } catch (err) {
    await scheduler.close();
    throw err;
  }
  return scheduler;
}

export type { FrameworkID };
