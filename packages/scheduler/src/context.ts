import * as grpc from '@grpc/grpc-js';
import { Backoff, clientOptions, silentLogger, type Logger } from '@ippc/core';
import { schedulerv1, type FrameworkInfo, type Offer, type TaskStatus } from '@ippc/proto';
import type { SchedulerEvent } from './events.js';
import { frameworkInfo, type SchedulerOptions } from './options.js';

const { SchedulerClient } = schedulerv1;

export interface Waiter<T> {
  resolve(value: T): void;
  reject(err: Error): void;
}

/** A Scheduler's state, in one place: what its parts (subscription, events, offers, statuses, calls) share. */
export interface SchedulerContext {
  readonly options: SchedulerOptions;
  readonly client: InstanceType<typeof SchedulerClient>;
  readonly log: Logger;
  readonly implicitAcks: boolean;
  readonly reconnect: boolean;
  info: FrameworkInfo;
  stream: grpc.ClientReadableStream<schedulerv1.Event> | undefined;
  streamId: string | undefined;
  closed: boolean;
  subscribed: boolean;
  heartbeatTimer: NodeJS.Timeout | undefined;
  reconnectTimer: NodeJS.Timeout | undefined;
  /** Delays before re-subscribing: 250 ms doubling up to 10 s, back to 250 ms on SUBSCRIBED. */
  readonly backoff: Backoff;
  heartbeatSeconds: number | undefined;
  /** Set by an ERROR event: the subscription is over for good (no re-subscription). */
  aborted: string | undefined;
  readonly listeners: Set<(event: SchedulerEvent) => void>;
  readonly subscribedWaiters: Waiter<string>[];
  readonly closeHooks: (() => void)[];
  /** Offers received and not yet used, declined or rescinded, by offer id. */
  readonly offers: Map<string, Offer>;
  /** Offers out for an ACCEPT or DECLINE call now: true once rescinded meanwhile (not put back then). */
  readonly inFlight: Map<string, boolean>;
  /** Every status update received, per task id, oldest first. */
  readonly statuses: Map<string, TaskStatus[]>;
  /** The Scheduler's own `send`: every call goes through it (a replaced `send` sees them all). */
  send(call: Partial<schedulerv1.Call>): Promise<void>;
}

export function createContext(options: SchedulerOptions, send: SchedulerContext['send']): SchedulerContext {
  return {
    options,
    log: options.log ?? silentLogger(),
    implicitAcks: options.implicitAcknowledgements ?? true,
    reconnect: options.reconnect ?? true,
    client: new SchedulerClient(
      options.master,
      grpc.credentials.createInsecure(),
      clientOptions(options.auth, { 'grpc.keepalive_time_ms': 10_000, 'grpc.keepalive_timeout_ms': 5_000, 'grpc.keepalive_permit_without_calls': 1 }),
    ),
    info: frameworkInfo(options.framework),
    stream: undefined,
    streamId: undefined,
    closed: false,
    subscribed: false,
    heartbeatTimer: undefined,
    reconnectTimer: undefined,
    backoff: new Backoff({ initialMs: 250, maxMs: 10_000 }),
    heartbeatSeconds: undefined,
    aborted: undefined,
    listeners: new Set(),
    subscribedWaiters: [],
    closeHooks: [],
    offers: new Map(),
    inFlight: new Map(),
    statuses: new Map(),
    send,
  };
}
