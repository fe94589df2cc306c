import type { IncomingMessage, ServerResponse } from 'node:http';
import { messageOf, type Logger } from '@ippc/core';
import {
  acceptsMediaType,
  APPLICATION_JSON,
  APPLICATION_PROTOBUF,
  authenticate,
  encodeMessage,
  type HttpAccess,
  HttpAnswer,
  negotiate,
  readCall,
  sendText,
} from '@ippc/mesos';
import { agentapiv1 } from '@ippc/proto';
import type { Agent } from '../agent.js';
import { AGENT_READS } from './operator-responses.js';
import type { ContainerUsage } from './statistics.js';

const { Call, Call_Type, call_TypeToJSON, Response } = agentapiv1;

// The agent's operator HTTP API (`POST /api/v1` on the agent's port, Mesos's `Http::api` in
// src/slave/http.cpp): the front matter every v1 API shares (`readCall` of @ippc/mesos: 401, 405,
// 413, 400, 415), 503 until the agent has recovered, then `Accept` (406, JSON by default), then the
// call: the reads answer 200 and a Response (operator-responses.ts); every call outside
// IP-per-container answers 501 naming the call and why. Statuses and messages are Mesos's.

const APPLICATION_RECORDIO = 'application/recordio';

export interface AgentOperatorApiOptions {
  /** Who may call: the cluster token, the credentials for HTTP Basic, or nobody checked. */
  access: HttpAccess;
  log: Logger;
  /** The agent once it has recovered (undefined before: 503, as Mesos's agent answers while RECOVERING). */
  agent(): Agent | undefined;
  /** The running containers' usage (statistics.ts's cache). */
  usages(): Promise<ContainerUsage[]>;
  /** Largest request body read. Default 16 MiB. */
  maxBodyBytes?: number;
}

/** Why ippc answers 501 to each agent call it does not serve. */
const NOT_SERVED: [why: string, calls: agentapiv1.Call_Type[]][] = [
  [
    'ippc runs no nested or standalone containers: an agent runs the containers of the tasks its master sends (outside IP-per-container)',
    [
      Call_Type.LAUNCH_NESTED_CONTAINER,
      Call_Type.WAIT_NESTED_CONTAINER,
      Call_Type.KILL_NESTED_CONTAINER,
      Call_Type.REMOVE_NESTED_CONTAINER,
      Call_Type.LAUNCH_NESTED_CONTAINER_SESSION,
      Call_Type.LAUNCH_CONTAINER,
      Call_Type.WAIT_CONTAINER,
      Call_Type.KILL_CONTAINER,
      Call_Type.REMOVE_CONTAINER,
    ],
  ],
  ["ippc does not attach to a container's input or output (outside IP-per-container)", [Call_Type.ATTACH_CONTAINER_INPUT, Call_Type.ATTACH_CONTAINER_OUTPUT]],
  ['the agent serves no files: the sandboxes are under its --work_dir', [Call_Type.LIST_FILES, Call_Type.READ_FILE]],
  ["the agent's log level is its --logging_level flag", [Call_Type.GET_LOGGING_LEVEL, Call_Type.SET_LOGGING_LEVEL]],
  [
    'ippc has no resource providers (outside IP-per-container)',
    [
      Call_Type.GET_RESOURCE_PROVIDERS,
      Call_Type.ADD_RESOURCE_PROVIDER_CONFIG,
      Call_Type.UPDATE_RESOURCE_PROVIDER_CONFIG,
      Call_Type.REMOVE_RESOURCE_PROVIDER_CONFIG,
      Call_Type.MARK_RESOURCE_PROVIDER_GONE,
    ],
  ],
  ['ippc runs no offer operations but LAUNCH', [Call_Type.GET_OPERATIONS]],
  ["ippc keeps no image store to prune (Docker images are the daemon's)", [Call_Type.PRUNE_IMAGES]],
  ['UNKNOWN is no call', [Call_Type.UNKNOWN]],
];
const WHY_NOT = new Map(NOT_SERVED.flatMap(([why, calls]) => calls.map((c) => [c, why] as const)));

/** `validation::agent::call::validate`: a call must say what it is (an enum number ippc does not know counts as absent, as in proto2). */
export function validateAgentCall(call: agentapiv1.Call): string | undefined {
  if (call.type === undefined || call_TypeToJSON(call.type) === 'UNRECOGNIZED') return "Expecting 'type' to be present";
  return undefined;
}

/** The handler of `/api/v1` on the agent. */
export function agentOperatorApi(options: AgentOperatorApiOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const maxBodyBytes = options.maxBodyBytes ?? 16 * 1024 * 1024;
  return (req, res) => {
    handle(options, maxBodyBytes, req, res).catch((err: unknown) => {
      if (err instanceof HttpAnswer) return sendText(res, err.status, err.message, err.headers);
      options.log.error({ err: messageOf(err) }, 'agent operator API call failed');
      sendText(res, 500, messageOf(err));
    });
  };
}

async function handle(options: AgentOperatorApiOptions, maxBodyBytes: number, req: IncomingMessage, res: ServerResponse): Promise<void> {
  // Credentials first (libprocess authenticates before the handler runs), then recovery.
  authenticate(options.access, req);
  const agent = options.agent();
  if (!agent) throw new HttpAnswer(503, 'Agent has not finished recovery');
  const { call } = await readCall(req, { access: options.access, maxBodyBytes, codec: Call, kind: 'agent::Call', validate: validateAgentCall });
  const name = call_TypeToJSON(call.type!);
  // Only ATTACH_CONTAINER_INPUT streams its request, and only ATTACH_CONTAINER_OUTPUT and
  // LAUNCH_NESTED_CONTAINER_SESSION their answer: ippc serves none of them.
  if (req.headers['message-content-type'] !== undefined) {
    throw new HttpAnswer(415, "Expecting 'Message-Content-Type' to be not set for non-streaming requests");
  }
  if (req.headers['message-accept'] !== undefined) throw new HttpAnswer(406, "Expecting 'Message-Accept' to be not set for non-streaming responses");
  const type = negotiate(req);
  if (!type) {
    if (acceptsMediaType(req.headers.accept, APPLICATION_RECORDIO)) throw new HttpAnswer(406, `Streaming response is not supported for ${name} call`);
    throw new HttpAnswer(406, `Expecting 'Accept' to allow ${APPLICATION_JSON} or ${APPLICATION_PROTOBUF} or ${APPLICATION_RECORDIO}`);
  }
  const read = AGENT_READS[call.type!];
  if (!read) throw new HttpAnswer(501, `ippc does not implement the agent call ${name}: ${WHY_NOT.get(call.type!) ?? 'not implemented'}`);
  options.log.debug({ call: name }, 'processing agent operator call');
  const body = encodeMessage(type, Response, await read({ agent, usages: options.usages }));
  res.writeHead(200, { 'content-type': type, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}
