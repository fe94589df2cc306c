import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIppcError, messageOf, type Logger } from '@ippc/core';
import {
  APPLICATION_JSON,
  APPLICATION_PROTOBUF,
  type ContentType,
  encodeMessage,
  encodeRecord,
  type HttpAccess,
  HttpAnswer,
  negotiate,
  readCall,
  sendText,
} from '@ippc/mesos';
import { schedulerv1 } from '@ippc/proto';
import type { MasterErrorCode } from '../errors.js';
import type { FrameworkConnection, Master } from '../master.js';
import { validateSchedulerCall } from '../validation/framework.js';

const { Call, Call_Type, Event } = schedulerv1;

// The scheduler HTTP API (`POST /api/v1/scheduler`, Mesos's `Master::Http::scheduler`): a second
// front door onto the same master core as the gRPC framework API. SUBSCRIBE answers 200 with a
// `Mesos-Stream-Id` header and a RecordIO stream of events, one record per write; every other
// call needs that stream id and answers 202. Statuses and messages are Mesos's.

export interface SchedulerApiOptions {
  /** Who may call: the cluster token, the credentials for HTTP Basic, or nobody checked. */
  access: HttpAccess;
  log: Logger;
  /** Largest request body read. Default 16 MiB. */
  maxBodyBytes?: number;
}

/** The handler of `/api/v1/scheduler`. */
export function schedulerApi(master: Master, options: SchedulerApiOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const maxBodyBytes = options.maxBodyBytes ?? 16 * 1024 * 1024;
  return (req, res) => {
    handle(master, options, maxBodyBytes, req, res).catch((err: unknown) => {
      if (err instanceof HttpAnswer) return sendText(res, err.status, err.message, err.headers);
      options.log.error({ err: messageOf(err) }, 'scheduler API call failed');
      sendText(res, 500, messageOf(err));
    });
  };
}

async function handle(master: Master, options: SchedulerApiOptions, maxBodyBytes: number, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { call, principal } = await readCall(req, {
    access: options.access,
    maxBodyBytes,
    codec: Call,
    kind: 'scheduler::Call',
    validate: validateSchedulerCall,
  });
  if (principal) checkPrincipal(master, call, principal);
  if (call.type === Call_Type.SUBSCRIBE) return subscribe(master, options.log, call, req, res);
  const streamId = req.headers['mesos-stream-id'];
  try {
    master.handleCall(call, typeof streamId === 'string' ? streamId : undefined);
  } catch (err) {
    if (!isIppcError(err)) throw err;
    answerCallError(options.log, err.code as MasterErrorCode, err.message);
  }
  res.writeHead(202, { 'content-length': '0' });
  res.end();
}

/**
 * A caller authenticated as `principal` acts only for frameworks of that principal (Mesos's
 * implicit authorization): a SUBSCRIBE naming another principal is invalid, one naming none gets
 * the caller's; a call for a framework of another principal is refused.
 */
function checkPrincipal(master: Master, call: schedulerv1.Call, principal: string): void {
  const mismatch = (other: string) => `Authenticated principal '${principal}' does not match principal '${other}' set in \`FrameworkInfo\``;
  if (call.type === Call_Type.SUBSCRIBE) {
    const info = call.subscribe!.frameworkInfo!;
    if (info.principal !== undefined && info.principal !== principal)
      throw new HttpAnswer(400, `Failed to validate scheduler::Call: ${mismatch(info.principal)}`);
    info.principal = principal;
    return;
  }
  const known = master.frameworks.get(call.frameworkId?.value ?? '');
  if (known && (known.info.principal ?? '') !== principal) throw new HttpAnswer(400, mismatch(known.info.principal ?? ''));
}

/** The master's refusal of a call as Mesos answers it over HTTP; returns for what Mesos accepts with 202. */
function answerCallError(log: Logger, code: MasterErrorCode, message: string): void {
  switch (code) {
    case 'FRAMEWORK_UNKNOWN':
    case 'FRAMEWORK_REMOVED':
      throw new HttpAnswer(400, 'Framework cannot be found');
    case 'FRAMEWORK_NOT_SUBSCRIBED':
      throw new HttpAnswer(403, 'Framework is not subscribed');
    case 'STREAM_MISMATCH':
    case 'CALL_INVALID':
      throw new HttpAnswer(400, message);
    case 'CALL_UNSUPPORTED':
      throw new HttpAnswer(501, message);
    case 'AGENT_UNKNOWN':
    case 'TASK_UNKNOWN':
      // Mesos accepts the call and drops what it cannot deliver (an acknowledgement for an agent
      // it no longer knows), counting it; the framework learns nothing more.
      log.warn({ code, message }, 'dropping a scheduler call the master cannot deliver');
      return;
    default:
      throw new HttpAnswer(500, message);
  }
}

/**
 * SUBSCRIBE: 200, `Mesos-Stream-Id`, then the events as RecordIO in the negotiated type. A
 * FrameworkInfo the master refuses (or a removed framework) gets an ERROR event and the stream
 * ends, as in Mesos. The framework is disconnected (failover timeout) when the client goes away.
 */
function subscribe(master: Master, log: Logger, call: schedulerv1.Call, req: IncomingMessage, res: ServerResponse): void {
  const type = negotiate(req);
  if (!type) throw new HttpAnswer(406, `Expecting 'Accept' to allow '${APPLICATION_PROTOBUF}' or '${APPLICATION_JSON}'`);
  if (req.headers['mesos-stream-id'] !== undefined) throw new HttpAnswer(400, "Subscribe calls should not include the 'Mesos-Stream-Id' header");
  const stream = eventStream(res, type);
  let ids: { frameworkId: string; streamId: string };
  try {
    ids = master.subscribe(call, stream.conn);
  } catch (err) {
    if (!isIppcError(err)) throw err;
    stream.open(randomUUID());
    stream.conn.send({ type: schedulerv1.Event_Type.ERROR, error: { message: err.message } });
    stream.conn.close();
    return;
  }
  stream.open(ids.streamId);
  log.info({ frameworkId: ids.frameworkId, accept: type }, 'framework subscribed over HTTP');
  res.on('close', () => {
    if (!stream.ended) master.frameworkDisconnected(ids.frameworkId, ids.streamId);
  });
}

/** A framework's event stream on an HTTP response; events sent before `open` wait for the headers. */
function eventStream(res: ServerResponse, type: ContentType) {
  const queue: schedulerv1.Event[] = [];
  let opened = false;
  const state = { ended: false };
  const write = (event: schedulerv1.Event) => {
    res.write(encodeRecord(encodeMessage(type, Event, event)));
  };
  const conn: FrameworkConnection = {
    send: (event) => {
      if (state.ended || res.destroyed) return;
      if (!opened) queue.push(event);
      else write(event);
    },
    close: () => {
      if (state.ended) return;
      state.ended = true;
      if (opened) res.end();
    },
  };
  return {
    conn,
    get ended() {
      return state.ended;
    },
    open(streamId: string) {
      res.writeHead(200, { 'content-type': type, 'mesos-stream-id': streamId, 'cache-control': 'no-cache' });
      res.flushHeaders();
      opened = true;
      for (const e of queue.splice(0)) write(e);
      if (state.ended) res.end();
    },
  };
}
