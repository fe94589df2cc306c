import { schedulerv1, type ExecutorInfo, type FrameworkID, type Offer, type Resource, type TaskInfo, type TaskState, type TaskStatus } from '@ippc/proto';
import { acknowledge, kill, messageExecutor, reconcile, revive, send, shutdownExecutor, suppress } from './calls.js';
import { createContext, type SchedulerContext } from './context.js';
import { events, on, type SchedulerEvent } from './events.js';
import { accept, decline, launch, taskFromOffer, type TaskSpec } from './launch.js';
import { groupFromOffer, launchGroup, type ExecutorSpec } from './launch-group.js';
import { awaitOffers } from './offers.js';
import type { SchedulerOptions } from './options.js';
import { latestStatus, waitForState, type StateName } from './statuses.js';
import { close, subscribe } from './subscription.js';

const { Call_Type } = schedulerv1;
type Call = schedulerv1.Call;

// The Scheduler is the framework's handle; its parts are in files of their own, over one
// SchedulerContext (context.ts): the subscription and its re-subscription (subscription.ts),
// listeners (events.ts), offers (offers.ts), launches and accepts (launch.ts), task groups
// (launch-group.ts), statuses and waits (statuses.ts), the other calls and `send` (calls.ts).

/**
 * A framework's connection to the master: subscribe, receive offers and status updates, launch,
 * kill, acknowledge, reconcile. Created by {@link createScheduler}; nothing happens until
 * `subscribe()`.
 */
export class Scheduler {
  private readonly ctx: SchedulerContext;
  /** Offers received and not yet used, declined or rescinded, by offer id. */
  readonly offers: Map<string, Offer>;
  /** Every status update received, per task id, oldest first. */
  readonly statuses: Map<string, TaskStatus[]>;

  constructor(options: SchedulerOptions) {
    // Every call goes through this.send, so that a replaced `send` sees them all.
    this.ctx = createContext(options, (call) => this.send(call));
    this.offers = this.ctx.offers;
    this.statuses = this.ctx.statuses;
  }

  /** The framework id the master assigned (after the first SUBSCRIBED). */
  get frameworkId(): string | undefined {
    return this.ctx.info.id?.value;
  }

  get isSubscribed(): boolean {
    return this.ctx.subscribed;
  }

  /** Opens the event stream; resolves with the framework id on SUBSCRIBED. */
  subscribe(timeoutMs = 15_000): Promise<string> {
    return subscribe(this.ctx, timeoutMs);
  }

  /** Calls `listener` for every event from now on; returns a function that removes it. */
  on(listener: (event: SchedulerEvent) => void): () => void {
    return on(this.ctx, listener);
  }

  /** The events from now on, as an async iterator (ends when the scheduler is closed). */
  events(): AsyncIterableIterator<SchedulerEvent> {
    return events(this.ctx);
  }

  /**
   * Resolves with outstanding offers that satisfy `filter` (all by default) as soon as there are at
   * least `count` of them; waits for OFFERS events if needed.
   */
  awaitOffers(options: { count?: number; filter?: (offer: Offer) => boolean; timeoutMs?: number } = {}): Promise<Offer[]> {
    return awaitOffers(this.ctx, options);
  }

  /**
   * Resolves with the first status of `taskId` whose state is one of `states` (already received or
   * arriving later). Rejects on timeout, and, unless `states` includes it, when the task reaches
   * another terminal state first.
   */
  waitForState(taskId: string, states: StateName | TaskState | readonly (StateName | TaskState)[], timeoutMs = 30_000): Promise<TaskStatus> {
    return waitForState(this.ctx, taskId, states, timeoutMs);
  }

  /** The latest status received for a task. */
  latestStatus(taskId: string): TaskStatus | undefined {
    return latestStatus(this.ctx, taskId);
  }

  /**
   * Builds a command TaskInfo on `offer`'s agent, taking cpus/mem/disk/ports from what is left of
   * it. Throws RESOURCES_INVALID when the offer cannot hold the task.
   */
  taskFromOffer(offer: Offer, spec: TaskSpec, available: readonly Resource[] = offer.resources): TaskInfo {
    return taskFromOffer(offer, spec, available);
  }

  /** ACCEPT with one LAUNCH operation. Outcomes arrive as status updates. */
  async launch(offers: Offer | readonly Offer[] | readonly string[], tasks: readonly TaskInfo[], options: { refuseSeconds?: number } = {}): Promise<void> {
    await launch(this.ctx, offers, tasks, options);
  }

  /**
   * Builds a task group on `offer`'s agent: a DEFAULT executor (joining `executor.networks`, whose
   * addresses every task shares) and a command task per spec, all from what is left of the offer.
   * Throws RESOURCES_INVALID when the offer cannot hold them.
   */
  groupFromOffer(
    offer: Offer,
    spec: { executor?: ExecutorSpec; tasks: readonly TaskSpec[] },
    available: readonly Resource[] = offer.resources,
  ): { executor: ExecutorInfo; tasks: TaskInfo[] } {
    return groupFromOffer(offer, spec, available);
  }

  /** ACCEPT with one LAUNCH_GROUP operation: the tasks start together under `executor`, or none does. */
  async launchGroup(
    offers: Offer | readonly Offer[] | readonly string[],
    executor: ExecutorInfo,
    tasks: readonly TaskInfo[],
    options: { refuseSeconds?: number } = {},
  ): Promise<void> {
    await launchGroup(this.ctx, offers, executor, tasks, options);
  }

  /** ACCEPT with arbitrary operations (e.g. to test the master's answers). */
  async accept(offerIds: readonly string[], operations: schedulerv1.Call_Accept['operations'], refuseSeconds?: number): Promise<void> {
    await accept(this.ctx, offerIds, operations, refuseSeconds);
  }

  async decline(offerIds: readonly string[], refuseSeconds?: number): Promise<void> {
    await decline(this.ctx, offerIds, refuseSeconds);
  }

  /** KILL; `gracePeriodMs` overrides the task's kill policy. */
  async kill(taskId: string, options: { agentId?: string; gracePeriodMs?: number } = {}): Promise<void> {
    await kill(this.ctx, taskId, options);
  }

  /** ACKNOWLEDGE a status update that carries a `uuid` (others need none). */
  async acknowledge(status: TaskStatus): Promise<void> {
    await acknowledge(this.ctx, status);
  }

  /** RECONCILE: explicit for the given tasks, implicit (every task the master knows) without. */
  async reconcile(tasks: readonly { taskId: string; agentId?: string }[] = []): Promise<void> {
    await reconcile(this.ctx, tasks);
  }

  /** SHUTDOWN: the executor on `agentId` kills its tasks (TASK_KILLED) and ends. */
  async shutdownExecutor(agentId: string, executorId: string): Promise<void> {
    await shutdownExecutor(this.ctx, agentId, executorId);
  }

  /** MESSAGE: opaque bytes for an executor, delivered at most once; its answers come as MESSAGE events. */
  async message(agentId: string, executorId: string, data: Uint8Array | string): Promise<void> {
    await messageExecutor(this.ctx, agentId, executorId, data);
  }

  async revive(): Promise<void> {
    await revive(this.ctx);
  }

  async suppress(): Promise<void> {
    await suppress(this.ctx);
  }

  /** TEARDOWN: kills every task of this framework and removes it; the subscription ends. */
  async teardown(): Promise<void> {
    await this.send({ type: Call_Type.TEARDOWN });
    await this.close();
  }

  /** Sends any call with this framework's id and stream id; rejects with the master's error. */
  send(call: Partial<Call>): Promise<void> {
    return send(this.ctx, call);
  }

  /** Ends the subscription (the framework stays known to the master for its failover timeout). */
  async close(): Promise<void> {
    await close(this.ctx);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
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
