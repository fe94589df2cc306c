import { MesosError } from '../errors.js';
import type { Json, JsonObject } from './protobuf-json.js';

// Messages of Mesos's v1 HTTP APIs as JSON, the way Mesos reads and writes them (stout's
// `JSON::protobuf` and `::protobuf::parse`): the proto's own field names (snake_case), enums by
// name, bytes as base64, 64-bit integers as numbers, unknown keys ignored. The generated code
// (ts-proto) writes lowerCamelCase names and reads both; these two adapt it at the API edge.

/** Anything ts-proto generated for a message: its JSON reader and writer. */
export interface JsonCodec<T> {
  fromJSON(object: unknown): T;
  toJSON(message: T): unknown;
}

// Field names repeat in every event, so each is converted once (the set of names is the proto's).
const SNAKE = new Map<string, string>();
const snake = (name: string): string => {
  let s = SNAKE.get(name);
  if (s === undefined) SNAKE.set(name, (s = name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)));
  return s;
};

function snakeKeys(value: unknown): Json {
  if (Array.isArray(value)) return value.map(snakeKeys);
  if (value === null || typeof value !== 'object') return value as Json;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) out[snake(k)] = snakeKeys(v);
  return out;
}

/** `message` as Mesos writes it in JSON. */
export function toV1Json<T>(codec: JsonCodec<T>, message: T): Json {
  return snakeKeys(codec.toJSON(message));
}

/**
 * A message from JSON as Mesos reads it (proto field names; the camelCase names of proto3 JSON
 * are read too). Throws JSON_INVALID when the value is not an object or a field does not convert
 * (an enum name the proto does not have, say), with the reason.
 */
export function fromV1Json<T>(codec: JsonCodec<T>, json: unknown, what: string): T {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new MesosError(
      'JSON_INVALID',
      `Expecting a JSON object for ${what}, not ${Array.isArray(json) ? 'an array' : json === null ? 'null' : `a ${typeof json}`}`,
    );
  }
  try {
    return codec.fromJSON(json);
  } catch (err) {
    throw new MesosError('JSON_INVALID', (err as Error).message, { cause: err });
  }
}
