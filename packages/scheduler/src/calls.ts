import * as grpc from '@grpc/grpc-js';
import { KillPolicy, schedulerv1, type TaskStatus } from '@ippc/proto';
import type { SchedulerContext } from './context.js';
import { SchedulerError } from './errors.js';

const { Call, Call_Type } = schedulerv1;
type Call = schedulerv1.Call;

// Calls to the master other than ACCEPT and DECLINE (launch.ts), and `send`, which every call goes
// through: with this framework's id and the stream's id.

/** KILL; `gracePeriodMs` overrides the task's kill policy. */
export async function kill(ctx: SchedulerContext, taskId: string, options: { agentId?: string; gracePeriodMs?: number } = {}): Promise<void> {
  await ctx.send({
    type: Call_Type.KILL,
    kill: {
      taskId: { value: taskId },
      ...(options.agentId ? { agentId: { value: options.agentId } } : {}),
      ...(options.gracePeriodMs !== undefined ? { killPolicy: KillPolicy.fromPartial({ gracePeriod: { nanoseconds: options.gracePeriodMs * 1e6 } }) } : {}),
    },
  });
}

/** ACKNOWLEDGE a status update that carries a `uuid` (others need none). */
export async function acknowledge(ctx: SchedulerContext, status: TaskStatus): Promise<void> {
  if (!status.uuid || status.uuid.length === 0) return;
  await ctx.send({
    type: Call_Type.ACKNOWLEDGE,
    acknowledge: { agentId: status.agentId, taskId: status.taskId, uuid: status.uuid },
  });
}

/** RECONCILE: explicit for the given tasks, implicit (every task the master knows) without. */
export async function reconcile(ctx: SchedulerContext, tasks: readonly { taskId: string; agentId?: string }[] = []): Promise<void> {
  await ctx.send({
    type: Call_Type.RECONCILE,
    reconcile: { tasks: tasks.map((t) => ({ taskId: { value: t.taskId }, ...(t.agentId ? { agentId: { value: t.agentId } } : {}) })) },
  });
}

/** SHUTDOWN: the executor kills its tasks (TASK_KILLED) and ends. */
export async function shutdownExecutor(ctx: SchedulerContext, agentId: string, executorId: string): Promise<void> {
  await ctx.send({ type: Call_Type.SHUTDOWN, shutdown: { agentId: { value: agentId }, executorId: { value: executorId } } });
}

/** MESSAGE: opaque bytes for an executor, delivered at most once (Mesos makes no promise). */
export async function messageExecutor(ctx: SchedulerContext, agentId: string, executorId: string, data: Uint8Array | string): Promise<void> {
  await ctx.send({
    type: Call_Type.MESSAGE,
    message: { agentId: { value: agentId }, executorId: { value: executorId }, data: Buffer.from(typeof data === 'string' ? Buffer.from(data) : data) },
  });
}

export async function revive(ctx: SchedulerContext): Promise<void> {
  await ctx.send({ type: Call_Type.REVIVE, revive: { roles: [] } });
}

export async function suppress(ctx: SchedulerContext): Promise<void> {
  await ctx.send({ type: Call_Type.SUPPRESS, suppress: { roles: [] } });
}

/** Sends any call with this framework's id and stream id; rejects with the master's error. */
export function send(ctx: SchedulerContext, call: Partial<Call>): Promise<void> {
  if (!ctx.subscribed || !ctx.streamId || !ctx.info.id) {
    return Promise.reject(new SchedulerError('SCHEDULER_NOT_SUBSCRIBED', 'not subscribed: await subscribe() (or wait for the re-subscription) first'));
  }
  const md = new grpc.Metadata();
  md.set('mesos-stream-id', ctx.streamId);
  const full = Call.fromPartial({ ...call, frameworkId: ctx.info.id });
  return new Promise((resolve, reject) =>
    ctx.client.send(full, md, { deadline: Date.now() + 15_000 }, (err) => {
      if (err) reject(new SchedulerError('SCHEDULER_CALL_FAILED', err.details || err.message, { grpcCode: err.code, cause: err }));
      else resolve();
    }),
  );
}
