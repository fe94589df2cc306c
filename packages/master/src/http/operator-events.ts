import type { ServerResponse } from 'node:http';
import type { Logger } from '@ippc/core';
import { type ContentType, encodeMessage, encodeRecord } from '@ippc/mesos';
import { masterv1 } from '@ippc/proto';
import type { Master, MasterObserver } from '../master.js';
import { agentModel, frameworkEventModel, getState } from './operator-responses.js';

const { Event, Event_Type } = masterv1;

// SUBSCRIBE of the operator API (Mesos's `Master::subscribe(HttpConnection)` and its
// `Subscribers`): 200 and a RecordIO stream, one record per write, in the negotiated type.
// SUBSCRIBED (the whole state) comes first, then the master's observers (observers.ts) turn each
// change into its event, and HEARTBEAT keeps the stream alive. The stream ends when the client
// goes away (the observer is removed), when the master stops, or when the client stops reading.

/** Bytes a subscriber may leave unread before the master cuts its stream at the next event (a stuck reader must not hold the master's memory). */
export const OPERATOR_STREAM_MAX_BUFFERED = 16 * 1024 * 1024;

/** Answers a SUBSCRIBE call on `res` and keeps the stream going until one side ends it. */
export function operatorSubscribe(master: Master, type: ContentType, res: ServerResponse, log: Logger): void {
  res.writeHead(200, { 'content-type': type, 'cache-control': 'no-cache' });
  // Set once the stream is live; `end` may run before (a client gone, a master stopped).
  const live: { heartbeat?: NodeJS.Timeout; remove?: () => void } = {};
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    clearInterval(live.heartbeat);
    live.remove?.();
    res.end();
  };
  const send = (event: masterv1.Event) => {
    if (ended || res.destroyed) return;
    // Checked before the write, so one large record (a big SUBSCRIBED) always goes out whole.
    if (res.writableLength > OPERATOR_STREAM_MAX_BUFFERED) {
      log.warn({ buffered: res.writableLength }, 'operator subscriber does not read its events: ending its stream');
      return end();
    }
    res.write(encodeRecord(encodeMessage(type, Event, event)));
  };
  res.on('close', end);
  const heartbeatSeconds = master.settings.heartbeatSeconds;
  send({ type: Event_Type.SUBSCRIBED, subscribed: { getState: getState(master), heartbeatIntervalSeconds: heartbeatSeconds } });
  if (ended || master.stopped) return end();
  // Added right after SUBSCRIBED, in the same turn: no change can fall in between.
  live.remove = master.observers.add(eventsOf(master, send, end));
  live.heartbeat = setInterval(() => send({ type: Event_Type.HEARTBEAT }), heartbeatSeconds * 1000);
  live.heartbeat.unref();
  log.info({ accept: type, subscribers: master.observers.size }, 'operator subscribed');
}

/** The observer that turns each change of the master into its operator event (`protobuf::master::event::*`). */
function eventsOf(master: Master, send: (event: masterv1.Event) => void, end: () => void): MasterObserver {
  return {
    taskAdded: (task) => send({ type: Event_Type.TASK_ADDED, taskAdded: { task } }),
    taskUpdated: (task, status) =>
      send({ type: Event_Type.TASK_UPDATED, taskUpdated: { frameworkId: task.frameworkId, status, state: task.state ?? status.state } }),
    frameworkAdded: (f) => send({ type: Event_Type.FRAMEWORK_ADDED, frameworkAdded: { framework: frameworkEventModel(f) } }),
    frameworkUpdated: (f) => send({ type: Event_Type.FRAMEWORK_UPDATED, frameworkUpdated: { framework: frameworkEventModel(f) } }),
    frameworkRemoved: (f) => send({ type: Event_Type.FRAMEWORK_REMOVED, frameworkRemoved: { frameworkInfo: f.info } }),
    agentAdded: (a) => send({ type: Event_Type.AGENT_ADDED, agentAdded: { agent: agentModel(master, a) } }),
    agentRemoved: (agentId) => send({ type: Event_Type.AGENT_REMOVED, agentRemoved: { agentId: { value: agentId } } }),
    masterStopped: end,
  };
}
