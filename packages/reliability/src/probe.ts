import * as grpc from '@grpc/grpc-js';
import { request } from 'node:http';

// Raw probes of the components' edges: bytes that are not the message a method expects, calls
// without or with a wrong token, HTTP bodies over TCP or a unix socket. They speak below the
// generated clients on purpose: those never send malformed input.

export interface GrpcOutcome {
  code: grpc.status;
  details: string;
}

const identity = (b: Buffer) => b;

function metadataOf(token: string | undefined): grpc.Metadata {
  const md = new grpc.Metadata();
  if (token !== undefined) md.set('authorization', `Bearer ${token}`);
  return md;
}

/** One call of `path` with `body` as the serialized request; a streaming answer is read until its first message or its end. */
export function grpcCall(
  address: string,
  path: string,
  body: Buffer,
  options: { token?: string; kind?: 'unary' | 'server-stream' | 'bidi'; timeoutMs?: number } = {},
): Promise<GrpcOutcome> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const deadline = Date.now() + (options.timeoutMs ?? 5000);
  const md = metadataOf(options.token);
  return new Promise<GrpcOutcome>((resolve) => {
    const done = (code: grpc.status, details: string) => {
      client.close();
      resolve({ code, details });
    };
    const kind = options.kind ?? 'unary';
    if (kind === 'unary') {
      client.makeUnaryRequest(path, identity, identity, body, md, { deadline }, (err) => (err ? done(err.code, err.details) : done(grpc.status.OK, '')));
      return;
    }
    const call =
      kind === 'server-stream'
        ? client.makeServerStreamRequest(path, identity, identity, body, md, { deadline })
        : client.makeBidiStreamRequest(path, identity, identity, md, { deadline });
    if (kind === 'bidi') {
      (call as grpc.ClientDuplexStream<Buffer, Buffer>).write(body);
      (call as grpc.ClientDuplexStream<Buffer, Buffer>).end();
    }
    call.on('data', () => {
      call.cancel();
    });
    call.on('error', (err: grpc.ServiceError) => done(err.code, err.details));
    call.on('status', (s: grpc.StatusObject) => {
      if (s.code === grpc.status.OK) done(s.code, s.details);
    });
  });
}

export interface HttpOutcome {
  status: number;
  body: string;
}

/** An HTTP request to `url` (http://host:port/path) or to a unix socket (`socketPath` + path). */
export function httpCall(
  target: { url: string } | { socketPath: string; path: string },
  options: { method?: string; body?: string | Buffer; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<HttpOutcome> {
  return new Promise((resolve, reject) => {
    const base =
      'url' in target
        ? (() => {
            const u = new URL(target.url);
            return { host: u.hostname, port: Number(u.port), path: `${u.pathname}${u.search}` };
          })()
        : { socketPath: target.socketPath, path: target.path };
    const req = request({ ...base, method: options.method ?? 'GET', headers: options.headers, timeout: options.timeoutMs ?? 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** Bytes that are no valid protobuf message: a field tag with wire type 7, then a truncated length. */
export const GARBAGE_PROTOBUF = Buffer.from([0x0f, 0xff, 0xff, 0xff, 0xff, 0x0a, 0xff, 0x01]);
/** A length-delimited field whose length runs past the end. */
export const TRUNCATED_PROTOBUF = Buffer.from([0x0a, 0x7f, 0x41, 0x42]);
