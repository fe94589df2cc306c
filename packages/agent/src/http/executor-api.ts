import type { IncomingMessage, ServerResponse } from 'node:http';
import { messageOf, type Logger } from '@ippc/core';
import { APPLICATION_JSON, APPLICATION_PROTOBUF, encodeMessage, encodeRecord, HttpAnswer, negotiate, readCall, sendText, type ContentType } from '@ippc/mesos';
import { executorv1, type TaskStatus } from '@ippc/proto';
import { deliverQueued, dropUndelivered } from '../executors/custom.js';
import type { AgentContext, ExecutorRecord, ExecutorStream } from '../model.js';
import { queueCustomExecutorStatus } from '../status/status-updates.js';
import { validateExecutorCall } from './executor-validation.js';

const { Call, Call_Type, Event, Event_Type } = executorv1;

// The executor HTTP API (`POST /api/v1/executor`, Mesos's agent `Http::executor`): how a custom
// executor talks to its agent. SUBSCRIBE answers 200 and a RecordIO stream of events (SUBSCRIBED,
// then LAUNCH for the tasks that waited, and whatever comes: LAUNCH, KILL, ACKNOWLEDGED, MESSAGE,
// SHUTDOWN, HEARTBEAT); UPDATE and MESSAGE answer 202. Statuses and messages are Mesos's. As in
// Mesos without `--authenticate_http_executors` (its default), executors are not authenticated.

/** How often a subscribed executor hears from the agent when nothing else happens. */
const HEARTBEAT_MS = 30_000;

export interface ExecutorApiOptions {
  log: Logger;
  /** Largest request body read. Default 16 MiB. */
  maxBodyBytes?: number;
}

/** The handler of `/api/v1/executor`; `agent` is read per request (undefined until the agent has recovered: 503). */
export function executorApi(agent: () => AgentContext | undefined, options: ExecutorApiOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const maxBodyBytes = options.maxBodyBytes ?? 16 * 1024 * 1024;
  return (req, res) => {
    handle(agent(), maxBodyBytes, req, res).catch((err: unknown) => {
      if (err instanceof HttpAnswer) return sendText(res, err.status, err.message, err.headers);
      options.log.error({ err: messageOf(err) }, 'executor API call failed');
      sendText(res, 500, messageOf(err));
    });
  };
}

async function handle(a: AgentContext | undefined, maxBodyBytes: number, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { call } = await readCall(req, {
    access: { auth: { disabled: true } },
    maxBodyBytes,
    codec: Call,
    // Mesos's agent says `Executor::Call` here (src/slave/http.cpp), unlike its other APIs' lower case.
    kind: 'Executor::Call',
    validate: validateExecutorCall,
  });
  let type: ContentType | undefined;
  if (call.type === Call_Type.SUBSCRIBE) {
    type = negotiate(req);
    if (!type) throw new HttpAnswer(406, `Expecting 'Accept' to allow '${APPLICATION_PROTOBUF}' or '${APPLICATION_JSON}'`);
  } else if (call.type === Call_Type.HEARTBEAT) {
    return accepted(res);
  }
  if (!a?.id) throw new HttpAnswer(503, 'Agent has not finished recovery');
  const f = a.frameworks.get(call.frameworkId!.value!);
  if (!f) throw new HttpAnswer(400, 'Framework cannot be found');
  const exec = f.executors.get(call.executorId!.value!);
  if (!exec || exec.kind !== 'custom') throw new HttpAnswer(400, 'Executor cannot be found');
  if (!exec.subscribed && call.type !== Call_Type.SUBSCRIBE) throw new HttpAnswer(403, 'Executor is not subscribed');
  switch (call.type) {
    case Call_Type.SUBSCRIBE:
      return subscribe(a, exec, call.subscribe!, type!, res);
    case Call_Type.UPDATE:
      await queueCustomExecutorStatus(a, exec, call.update!.status!);
      return accepted(res);
    case Call_Type.MESSAGE:
      // Mesos forwards it to the master without retry; the master drops it if the framework is gone.
      a.sendToMaster({
        $case: 'executorToFramework',
        value: { agentId: { value: a.id }, frameworkId: { value: exec.frameworkId }, executorId: { value: exec.id }, data: Buffer.from(call.message!.data!) },
      });
      return accepted(res);
    default:
      throw new HttpAnswer(501, `Call ${executorv1.call_TypeToJSON(call.type!)} is not supported by ippc`);
  }
}

function accepted(res: ServerResponse): void {
  res.writeHead(202, { 'content-length': '0' });
  res.end();
}

/**
 * SUBSCRIBE (Mesos's `Slave::subscribe` for HTTP executors): a new subscription replaces the old
 * one; SUBSCRIBED first, then the updates the executor says were never acknowledged (given to the
 * status update manager again, which ignores those it has), then the tasks that waited. An executor
 * the agent is already ending is told to shut down. After an agent restart, a STAGING task the
 * executor does not know never reached it, and is dropped (Mesos's `reregisterExecutor`).
 */
function subscribe(a: AgentContext, exec: ExecutorRecord, sub: executorv1.Call_Subscribe, type: ContentType, res: ServerResponse): void {
  exec.stream?.close();
  const stream = eventStream(res, type);
  res.on('close', () => {
    clearInterval(heartbeat);
    if (exec.stream === stream) exec.stream = undefined;
    a.log.info({ frameworkId: exec.frameworkId, executorId: exec.id }, 'executor disconnected');
  });
  const heartbeat = setInterval(() => stream.send({ type: Event_Type.HEARTBEAT }), HEARTBEAT_MS);
  heartbeat.unref();
  const f = a.frameworks.get(exec.frameworkId)!;
  stream.send({
    type: Event_Type.SUBSCRIBED,
    subscribed: { executorInfo: exec.info, frameworkInfo: f.info, agentInfo: a.info, containerId: { value: exec.containerId } },
  });
  if (exec.destroying || exec.state === 'terminated') {
    stream.send({ type: Event_Type.SHUTDOWN });
    stream.close();
    return;
  }
  exec.stream = stream;
  exec.subscribed = true;
  clearTimeout(exec.registrationTimer);
  a.log.info({ frameworkId: exec.frameworkId, executorId: exec.id, containerId: exec.containerId }, 'executor subscribed');
  for (const u of sub.unacknowledgedUpdates) if (u.status) void resend(a, exec, u.status);
  if (exec.recovered) {
    exec.recovered = false;
    const known = [...sub.unacknowledgedTasks.map((t) => t.taskId?.value ?? ''), ...sub.unacknowledgedUpdates.map((u) => u.status?.taskId?.value ?? '')];
    void dropUndelivered(a, exec, known).catch((err: Error) => a.log.warn({ err: err.message }, 'cannot drop the tasks unknown to the executor'));
  }
  deliverQueued(a, exec);
}

async function resend(a: AgentContext, exec: ExecutorRecord, status: TaskStatus): Promise<void> {
  await queueCustomExecutorStatus(a, exec, status).catch((err: Error) => a.log.warn({ err: err.message }, 'cannot take a resent update'));
}

/** The executor's events on the SUBSCRIBE response, one RecordIO record per write. */
function eventStream(res: ServerResponse, type: ContentType): ExecutorStream {
  res.writeHead(200, { 'content-type': type, 'cache-control': 'no-cache' });
  res.flushHeaders();
  let ended = false;
  return {
    send: (event) => {
      if (ended || res.destroyed) return;
      res.write(encodeRecord(encodeMessage(type, Event, event)));
    },
    close: () => {
      if (ended) return;
      ended = true;
      res.end();
    },
  };
}
