import * as grpc from '@grpc/grpc-js';
import { FrameworkInfo, schedulerv1 } from '@ippc/proto';
import { acknowledge } from './calls.js';
import type { SchedulerContext } from './context.js';
import { SchedulerError } from './errors.js';
import { emit } from './events.js';

const { Call, Call_Type, Event_Type } = schedulerv1;
type Event = schedulerv1.Event;

// The subscription: the event stream from the master, what each event changes, heartbeats, and
// re-subscription with backoff when the stream ends.

/** Opens the event stream; resolves with the framework id on SUBSCRIBED. */
export function subscribe(ctx: SchedulerContext, timeoutMs = 15_000): Promise<string> {
  if (ctx.closed) return Promise.reject(new SchedulerError('SCHEDULER_DISCONNECTED', 'this scheduler was closed; create a new one'));
  const done = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new SchedulerError(
            'SCHEDULER_TIMEOUT',
            `no SUBSCRIBED from the master at ${ctx.options.master} within ${timeoutMs} ms: is it running, and is the token right?`,
          ),
        ),
      timeoutMs,
    );
    ctx.subscribedWaiters.push({
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
  if (!ctx.stream) openStream(ctx);
  return done;
}

function openStream(ctx: SchedulerContext): void {
  const call = Call.fromPartial({
    type: Call_Type.SUBSCRIBE,
    ...(ctx.info.id ? { frameworkId: ctx.info.id } : {}),
    subscribe: { frameworkInfo: ctx.info },
  });
  const stream = ctx.client.subscribe(call);
  ctx.stream = stream;
  stream.on('metadata', (md: grpc.Metadata) => {
    const id = md.get('mesos-stream-id')[0];
    if (typeof id === 'string') ctx.streamId = id;
  });
  stream.on('data', (event: Event) => onEvent(ctx, event));
  stream.on('error', (err: grpc.ServiceError) => onStreamEnd(ctx, stream, `${grpc.status[err.code] ?? err.code}: ${err.details || err.message}`, err));
  stream.on('end', () => onStreamEnd(ctx, stream, 'the master ended the subscription'));
}

function onStreamEnd(ctx: SchedulerContext, stream: grpc.ClientReadableStream<Event>, reason: string, err?: grpc.ServiceError): void {
  if (ctx.stream !== stream) return;
  ctx.stream = undefined;
  ctx.streamId = undefined;
  const wasSubscribed = ctx.subscribed;
  ctx.subscribed = false;
  ctx.offers.clear();
  if (ctx.heartbeatTimer) clearTimeout(ctx.heartbeatTimer);
  if (ctx.closed) return;
  ctx.log.warn({ reason }, 'subscription ended');
  emit(ctx, { type: 'DISCONNECTED', reason });
  const fatal =
    ctx.aborted !== undefined ||
    (err && (err.code === grpc.status.UNAUTHENTICATED || err.code === grpc.status.INVALID_ARGUMENT || err.code === grpc.status.PERMISSION_DENIED));
  if (fatal || (!wasSubscribed && ctx.subscribedWaiters.length > 0 && err?.code !== grpc.status.UNAVAILABLE)) {
    const error =
      ctx.aborted !== undefined
        ? new SchedulerError('SCHEDULER_DISCONNECTED', `the master ended this framework's subscription: ${ctx.aborted}`)
        : new SchedulerError('SCHEDULER_CALL_FAILED', `subscription refused: ${reason}`, { grpcCode: err?.code, cause: err });
    for (const w of ctx.subscribedWaiters.splice(0)) w.reject(error);
    return;
  }
  if (!ctx.reconnect) {
    for (const w of ctx.subscribedWaiters.splice(0)) w.reject(new SchedulerError('SCHEDULER_DISCONNECTED', reason));
    return;
  }
  const delay = ctx.backoff.next();
  ctx.reconnectTimer = setTimeout(() => {
    ctx.reconnectTimer = undefined;
    if (!ctx.closed && !ctx.stream) openStream(ctx);
  }, delay);
}

function armHeartbeat(ctx: SchedulerContext, intervalSeconds: number | undefined): void {
  if (ctx.heartbeatTimer) clearTimeout(ctx.heartbeatTimer);
  if (!intervalSeconds) return;
  const stream = ctx.stream;
  // Mesos's advice: after missing about five heartbeats, consider the connection dead.
  ctx.heartbeatTimer = setTimeout(
    () => {
      if (stream && ctx.stream === stream) {
        stream.cancel();
        onStreamEnd(ctx, stream, `no heartbeat for ${5 * intervalSeconds} s`);
      }
    },
    5 * intervalSeconds * 1000,
  );
  ctx.heartbeatTimer.unref?.();
}

/** One event from the stream: what it changes (the subscription, offers, statuses), then the listeners. */
export function onEvent(ctx: SchedulerContext, event: Event): void {
  if (ctx.heartbeatSeconds) armHeartbeat(ctx, ctx.heartbeatSeconds);
  switch (event.type) {
    case Event_Type.SUBSCRIBED: {
      const id = event.subscribed?.frameworkId?.value ?? '';
      ctx.info = FrameworkInfo.fromPartial({ ...ctx.info, id: { value: id } });
      ctx.subscribed = true;
      ctx.backoff.reset();
      ctx.heartbeatSeconds = event.subscribed?.heartbeatIntervalSeconds;
      armHeartbeat(ctx, ctx.heartbeatSeconds);
      ctx.log.info({ frameworkId: id }, 'subscribed');
      for (const w of ctx.subscribedWaiters.splice(0)) w.resolve(id);
      emit(ctx, { type: 'SUBSCRIBED', frameworkId: id, heartbeatIntervalSeconds: ctx.heartbeatSeconds });
      break;
    }
    case Event_Type.OFFERS: {
      const offers = event.offers?.offers ?? [];
      for (const o of offers) if (o.id?.value) ctx.offers.set(o.id.value, o);
      emit(ctx, { type: 'OFFERS', offers });
      break;
    }
    case Event_Type.RESCIND: {
      const id = event.rescind?.offerId?.value ?? '';
      ctx.offers.delete(id);
      if (ctx.inFlight.has(id)) ctx.inFlight.set(id, true);
      emit(ctx, { type: 'RESCIND', offerId: id });
      break;
    }
    case Event_Type.UPDATE: {
      const status = event.update?.status;
      if (!status) break;
      const taskId = status.taskId?.value ?? '';
      const list = ctx.statuses.get(taskId) ?? [];
      list.push(status);
      ctx.statuses.set(taskId, list);
      emit(ctx, { type: 'UPDATE', status });
      if (ctx.implicitAcks && status.uuid && status.uuid.length > 0) {
        acknowledge(ctx, status).catch((err: Error) => ctx.log.warn({ err: err.message, taskId }, 'acknowledgement failed; the agent will resend the update'));
      }
      break;
    }
    case Event_Type.MESSAGE:
      emit(ctx, {
        type: 'MESSAGE',
        agentId: event.message?.agentId?.value ?? '',
        executorId: event.message?.executorId?.value ?? '',
        data: event.message?.data ?? new Uint8Array(),
      });
      break;
    case Event_Type.FAILURE:
      emit(ctx, {
        type: 'FAILURE',
        agentId: event.failure?.agentId?.value,
        executorId: event.failure?.executorId?.value,
        status: event.failure?.status,
      });
      break;
    case Event_Type.ERROR:
      // Mesos: "The scheduler should abort on receiving this event" (failed over, removed).
      ctx.log.error({ message: event.error?.message }, 'master sent ERROR');
      ctx.aborted = event.error?.message ?? 'ERROR';
      emit(ctx, { type: 'ERROR', message: event.error?.message ?? '' });
      break;
    case Event_Type.HEARTBEAT:
      emit(ctx, { type: 'HEARTBEAT' });
      break;
    default:
      break;
  }
}

/** Ends the subscription (the framework stays known to the master for its failover timeout). */
export async function close(ctx: SchedulerContext): Promise<void> {
  if (ctx.closed) return;
  ctx.closed = true;
  if (ctx.heartbeatTimer) clearTimeout(ctx.heartbeatTimer);
  if (ctx.reconnectTimer) clearTimeout(ctx.reconnectTimer);
  ctx.stream?.cancel();
  ctx.stream = undefined;
  ctx.subscribed = false;
  for (const w of ctx.subscribedWaiters.splice(0)) w.reject(new SchedulerError('SCHEDULER_DISCONNECTED', 'closed'));
  for (const h of ctx.closeHooks.splice(0)) h();
  ctx.client.close();
}
