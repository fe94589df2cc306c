import type { IncomingMessage, ServerResponse } from 'node:http';
import { messageOf, type Logger } from '@ippc/core';
import { APPLICATION_JSON, APPLICATION_PROTOBUF, encodeMessage, type HttpAccess, HttpAnswer, negotiate, readCall, sendText } from '@ippc/mesos';
import { masterv1 } from '@ippc/proto';
import type { Master } from '../master.js';
import { operatorSubscribe } from './operator-events.js';
import { OPERATOR_READS } from './operator-responses.js';

const { Call, Call_Type, call_TypeToJSON, Response } = masterv1;

// The operator HTTP API (`POST /api/v1`, Mesos's `Master::Http::api`): the same front matter as
// the scheduler API (`readCall` of @ippc/mesos), then `Accept` for every call (406, JSON by default), then the
// call: the reads answer 200 and a Response (operator-responses.ts), SUBSCRIBE answers 200 and a
// RecordIO stream of events (operator-events.ts), and every call outside IP-per-container answers
// 501 with why. Statuses and messages are Mesos's.

export interface OperatorApiOptions {
  /** Who may call: the cluster token, the credentials for HTTP Basic, or nobody checked. */
  access: HttpAccess;
  log: Logger;
  /** Largest request body read. Default 16 MiB. */
  maxBodyBytes?: number;
}

/** Why ippc answers 501 to each call it does not serve. */
const NOT_SERVED: [why: string, calls: masterv1.Call_Type[]][] = [
  ['ippc has no quota (outside IP-per-container)', [Call_Type.GET_QUOTA, Call_Type.UPDATE_QUOTA, Call_Type.SET_QUOTA, Call_Type.REMOVE_QUOTA]],
  [
    'ippc has no maintenance schedule (outside IP-per-container)',
    [
      Call_Type.GET_MAINTENANCE_STATUS,
      Call_Type.GET_MAINTENANCE_SCHEDULE,
      Call_Type.UPDATE_MAINTENANCE_SCHEDULE,
      Call_Type.START_MAINTENANCE,
      Call_Type.STOP_MAINTENANCE,
    ],
  ],
  [
    'ippc has no reservations or persistent volumes (outside IP-per-container)',
    [
      Call_Type.RESERVE_RESOURCES,
      Call_Type.UNRESERVE_RESOURCES,
      Call_Type.CREATE_VOLUMES,
      Call_Type.DESTROY_VOLUMES,
      Call_Type.GROW_VOLUME,
      Call_Type.SHRINK_VOLUME,
    ],
  ],
  ['ippc has no role weights (outside IP-per-container)', [Call_Type.GET_ROLES, Call_Type.GET_WEIGHTS, Call_Type.UPDATE_WEIGHTS]],
  ['ippc runs no offer operations but LAUNCH', [Call_Type.GET_OPERATIONS]],
  ["the master's log level is its --logging_level flag", [Call_Type.GET_LOGGING_LEVEL, Call_Type.SET_LOGGING_LEVEL]],
  ['the master serves no files', [Call_Type.LIST_FILES, Call_Type.READ_FILE]],
  ["a framework is torn down by its scheduler (TEARDOWN of '/api/v1/scheduler')", [Call_Type.TEARDOWN]],
  ['an agent that is gone is removed when its re-registration timeout expires', [Call_Type.MARK_AGENT_GONE]],
  ['UNKNOWN is no call', [Call_Type.UNKNOWN]],
];
const WHY_NOT = new Map(NOT_SERVED.flatMap(([why, calls]) => calls.map((c) => [c, why] as const)));

/** `validation::master::call::validate`: a call must say what it is (an enum number ippc does not know counts as absent, as in proto2). */
export function validateMasterCall(call: masterv1.Call): string | undefined {
  if (call.type === undefined || call_TypeToJSON(call.type) === 'UNRECOGNIZED') return "Expecting 'type' to be present";
  return undefined;
}

/** The handler of `/api/v1`. */
export function operatorApi(master: Master, options: OperatorApiOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const maxBodyBytes = options.maxBodyBytes ?? 16 * 1024 * 1024;
  return (req, res) => {
    handle(master, options, maxBodyBytes, req, res).catch((err: unknown) => {
      if (err instanceof HttpAnswer) return sendText(res, err.status, err.message, err.headers);
      options.log.error({ err: messageOf(err) }, 'operator API call failed');
      sendText(res, 500, messageOf(err));
    });
  };
}

async function handle(master: Master, options: OperatorApiOptions, maxBodyBytes: number, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { call } = await readCall(req, { access: options.access, maxBodyBytes, codec: Call, kind: 'master::Call', validate: validateMasterCall });
  const type = negotiate(req);
  if (!type) throw new HttpAnswer(406, `Expecting 'Accept' to allow '${APPLICATION_PROTOBUF}' or '${APPLICATION_JSON}'`);
  const name = call_TypeToJSON(call.type!);
  if (call.type === Call_Type.SUBSCRIBE) return operatorSubscribe(master, type, res, options.log);
  const read = OPERATOR_READS[call.type!];
  if (!read) throw new HttpAnswer(501, `ippc does not implement the operator call ${name}: ${WHY_NOT.get(call.type!) ?? 'not implemented'}`);
  const body = encodeMessage(type, Response, read(master));
  res.writeHead(200, { 'content-type': type, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}
