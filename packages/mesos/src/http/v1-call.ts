import type { IncomingMessage } from 'node:http';
import { fromV1Json, type JsonCodec } from '../json/v1-json.js';
import { authenticate, type HttpAccess } from './auth.js';
import { APPLICATION_JSON, APPLICATION_PROTOBUF, HttpAnswer, mediaTypeOf, readBody } from './media.js';

// The front matter every v1 API call goes through before it reaches its handler, as Mesos's
// `Master::Http::scheduler`, `Master::Http::api` and the agent's `Http::api` share it: the credentials (401), POST only
// (405), the body (413 over the limit, 400 cut short), its `Content-Type` (400 without one, 415
// for anything but JSON or protobuf), the call parsed from it (400 with Mesos's messages) and
// validated (400 `Failed to validate <kind>: <why>`).

/** What a v1 API reads its calls with: the generated codec of its `Call`. */
export interface CallCodec<T> extends JsonCodec<T> {
  decode(input: Uint8Array): T;
}

export interface ReadCallOptions<T> {
  /** Who may call (see auth.ts). */
  access: HttpAccess;
  maxBodyBytes: number;
  codec: CallCodec<T>;
  /** Mesos's name of the call in its validation message: `scheduler::Call`, `master::Call`, `agent::Call`. */
  kind: string;
  /** Mesos's validation of the call: the first error, or undefined. "Not initialized: ..." is a parse error, as in proto2. */
  validate(call: T): string | undefined;
}

/** How a `validate` reports required fields left out (proto2's `Not initialized: a, b`). */
const NOT_INITIALIZED = 'Not initialized: ';

/** Authenticates the request and returns its call and the caller's Basic principal (if any), or throws the HttpAnswer Mesos would give. */
export async function readCall<T extends { type?: number }>(req: IncomingMessage, options: ReadCallOptions<T>): Promise<{ call: T; principal?: string }> {
  const { principal } = authenticate(options.access, req);
  if (req.method !== 'POST') throw new HttpAnswer(405, `Expecting one of { 'POST' }, but received '${req.method}'`, { allow: 'POST' });
  const body = await readBody(req, options.maxBodyBytes);
  const type = mediaTypeOf(req.headers['content-type']);
  if (type === undefined) throw new HttpAnswer(400, "Expecting 'Content-Type' to be present");
  let call: T;
  if (type === APPLICATION_PROTOBUF) call = decodeProtobuf(options.codec, body);
  else if (type === APPLICATION_JSON) call = decodeJson(options.codec, body, options.kind);
  else throw new HttpAnswer(415, `Expecting 'Content-Type' of ${APPLICATION_JSON} or ${APPLICATION_PROTOBUF}`);
  const invalid = options.validate(call);
  if (invalid) {
    // Mesos finds missing required fields while parsing (proto2), the rest in validation. From
    // JSON, stout's `protobuf::parse` names them: `Missing required fields: a, b`.
    if (invalid.startsWith(NOT_INITIALIZED)) {
      throw new HttpAnswer(
        400,
        type === APPLICATION_JSON
          ? `Failed to convert JSON into Call protobuf: Missing required fields: ${invalid.slice(NOT_INITIALIZED.length)}`
          : 'Failed to parse body into Call protobuf',
      );
    }
    throw new HttpAnswer(400, `Failed to validate ${options.kind}: ${invalid}`);
  }
  return { call, ...(principal ? { principal } : {}) };
}

function decodeProtobuf<T>(codec: CallCodec<T>, body: Buffer): T {
  try {
    return codec.decode(body);
  } catch {
    throw new HttpAnswer(400, 'Failed to parse body into Call protobuf');
  }
}

function decodeJson<T extends { type?: number }>(codec: CallCodec<T>, body: Buffer, kind: string): T {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new HttpAnswer(400, `Failed to parse body into JSON: ${(err as Error).message}`);
  }
  let call: T;
  try {
    call = fromV1Json(codec, json, `a ${kind}`);
  } catch (err) {
    throw new HttpAnswer(400, `Failed to convert JSON into Call protobuf: ${(err as Error).message}`);
  }
  // ts-proto reads a type name it does not know as UNRECOGNIZED (-1); stout's parser refuses it.
  if (call.type === -1) {
    throw new HttpAnswer(400, `Failed to convert JSON into Call protobuf: Failed to find enum for '${String((json as { type?: unknown }).type)}'`);
  }
  return call;
}
