import type { IncomingMessage, ServerResponse } from 'node:http';
import { toV1Json, type JsonCodec } from '../json/v1-json.js';

// Content negotiation of Mesos's v1 HTTP APIs: bodies in JSON or protobuf (`Content-Type`),
// answers in what `Accept` allows (libprocess's `Request::acceptsMediaType`), and the plain-text
// error answers Mesos gives (400, 401, 403, 405, 406, 413, 415, 501).

export const APPLICATION_JSON = 'application/json';
export const APPLICATION_PROTOBUF = 'application/x-protobuf';
export type ContentType = typeof APPLICATION_JSON | typeof APPLICATION_PROTOBUF;

/** The media type of a `Content-Type` header, lower-cased and without parameters (`; charset=utf-8`). */
export function mediaTypeOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  return header.split(';')[0]!.trim().toLowerCase();
}

/**
 * Whether an `Accept` header allows `type`: no header allows everything; otherwise an entry for
 * the type itself, `type/*` or `*\/*` with a q-value above 0 (the most specific entry decides).
 */
export function acceptsMediaType(header: string | undefined, type: string): boolean {
  if (header === undefined || header.trim() === '') return true;
  const [main] = type.split('/');
  let best: { specificity: number; q: number } | undefined;
  for (const entry of header.split(',')) {
    const [range, ...params] = entry.split(';').map((s) => s.trim().toLowerCase());
    const q = Number(params.find((p) => p.startsWith('q='))?.slice(2) ?? 1);
    const specificity = range === type ? 3 : range === `${main}/*` ? 2 : range === '*/*' ? 1 : 0;
    if (specificity > 0 && (!best || specificity > best.specificity)) best = { specificity, q: Number.isFinite(q) ? q : 0 };
  }
  return !!best && best.q > 0;
}

/** The response type of a streaming call: JSON unless only protobuf is acceptable; undefined: 406. */
export function negotiate(req: IncomingMessage): ContentType | undefined {
  const accept = req.headers.accept;
  if (acceptsMediaType(accept, APPLICATION_JSON)) return APPLICATION_JSON;
  if (acceptsMediaType(accept, APPLICATION_PROTOBUF)) return APPLICATION_PROTOBUF;
  return undefined;
}

/** What a v1 API writes its answers with: the generated codec of a message. */
export interface MessageCodec<T> extends JsonCodec<T> {
  encode(message: T): { finish(): Uint8Array };
}

/** A message in the negotiated type: Mesos's JSON form (proto field names, enums by name) or protobuf bytes. */
export function encodeMessage<T>(type: ContentType, codec: MessageCodec<T>, message: T): string | Uint8Array {
  return type === APPLICATION_JSON ? JSON.stringify(toV1Json(codec, message)) : codec.encode(message).finish();
}

/** A plain-text answer, as libprocess writes its error responses. */
export function sendText(res: ServerResponse, code: number, body: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}

/** An HTTP error answer on its way out: a status, Mesos's message, and headers (e.g. `Allow`). */
export class HttpAnswer extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * The request body, up to `maxBytes`. Throws an HttpAnswer 413 for a larger one (the rest is not
 * read) and 400 for a body cut short.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > maxBytes) return reject(new HttpAnswer(413, `Request body of ${declared} bytes is larger than the limit of ${maxBytes} bytes`));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.removeAllListeners('data');
        req.resume();
        reject(new HttpAnswer(413, `Request body is larger than the limit of ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('aborted', () => reject(new HttpAnswer(400, 'Request body was cut short')));
    req.on('error', (err) => reject(new HttpAnswer(400, `Failed to read the request body: ${err.message}`)));
  });
}
