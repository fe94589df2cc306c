import { request, type IncomingMessage } from 'node:http';
import { RecordIoDecoder } from './recordio.js';

// Test support for Mesos's v1 HTTP APIs (scheduler, operator, executor) against a daemon on loopback: a
// plain call and its whole answer, and a RecordIO event stream read record by record.

export const JSON_TYPE = 'application/json';
export const PROTOBUF = 'application/x-protobuf';

export interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
  raw: Buffer;
}

export interface Stream {
  status: number;
  headers: IncomingMessage['headers'];
  /** Records as they arrive (raw bytes: JSON text or protobuf). */
  records: Buffer[];
  /** Records completed by each data chunk: one record per write shows as one per chunk. */
  perChunk: number[];
  ended: boolean;
  /** The first record (from `from` on) that matches, waiting up to `timeoutMs` for it. */
  next(pred: (r: Buffer) => boolean, timeoutMs?: number, from?: number): Promise<Buffer>;
  close(): void;
}

export type Headers = Record<string, string | undefined>;

/** Headers without the ones set to undefined (a test drops a default header that way). */
export function clean(headers: Headers): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter((e): e is [string, string] => e[1] !== undefined));
}

/** One request and its whole answer. */
export function call(url: string, body: string | Buffer, headers: Headers, method = 'POST'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: clean(headers) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        resolve({ status: res.statusCode!, headers: res.headers, body: raw.toString('utf8'), raw });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A request whose answer is a RecordIO stream, read as it comes. */
export function openStream(url: string, body: string | Buffer, headers: Headers): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: clean(headers) }, (res) => {
      const decoder = new RecordIoDecoder();
      const waiters: { pred: (r: Buffer) => boolean; resolve: (r: Buffer) => void }[] = [];
      const stream: Stream = {
        status: res.statusCode!,
        headers: res.headers,
        records: [],
        perChunk: [],
        ended: false,
        next(pred, timeoutMs = 3000, from = 0) {
          const found = stream.records.slice(from).find(pred);
          if (found) return Promise.resolve(found);
          return new Promise((res2, rej2) => {
            const timer = setTimeout(() => rej2(new Error(`no matching record within ${timeoutMs} ms; have ${stream.records.length}`)), timeoutMs);
            waiters.push({ pred, resolve: (r) => (clearTimeout(timer), res2(r)) });
          });
        },
        close: () => req.destroy(),
      };
      res.on('data', (chunk: Buffer) => {
        const got = decoder.push(chunk);
        stream.perChunk.push(got.length);
        for (const r of got) {
          stream.records.push(r);
          for (const w of [...waiters]) {
            if (!w.pred(r)) continue;
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(r);
          }
        }
      });
      res.on('end', () => (stream.ended = true));
      res.on('error', () => (stream.ended = true));
      resolve(stream);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Polls `check` every 20 ms until it holds; throws after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
