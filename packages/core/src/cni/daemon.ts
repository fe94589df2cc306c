import { chmod, mkdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import { silentLogger, type Logger } from '../log.js';
import { CNI_SPEC_ERROR_CODES } from './errors.js';
import type { CniRequest, CniResponse } from './request.js';

// The daemon side of a thick CNI plugin: the other end of the CNI forwarder (forwarder.ts). The
// only place a plugin's daemon reads the CNI call (the X-Cni-* headers the forwarder makes of
// CNI_*, and the config as the body) and writes its answer; a plugin brings a handler.

/** Largest network config a call may carry, in bytes; a larger one is answered with code 6. */
export const CNI_MAX_CONFIG_BYTES = 1 << 20;

/** One call as the daemon hands it to the handler, besides the request. */
export interface CniCall {
  /** `performance.now()` when the request arrived, before its body was read. */
  readonly startedAt: number;
  /**
   * Writes `response` at once; the handler's result is ignored then. For a handler with
   * bookkeeping to do after the answer is on its way.
   */
  answer(response: CniResponse): void;
}

/** Answers one CNI call. A CNI error is an answer (400); a throw is answered 500 and logged. */
export type CniHandle = (request: CniRequest, call: CniCall) => Promise<CniResponse>;

export interface CniDaemonOptions {
  /** The unix socket to serve. Its folder is created; a stale socket file is replaced. */
  socketPath: string;
  handle: CniHandle;
  /** HTTP path of the CNI endpoint: the forwarder's `urlPath`. Default `/cni`. */
  path?: string;
  /**
   * Every request other than the CNI call and `GET /health` (a plugin's own endpoints). Default:
   * 404 with a CNI error JSON (code 4).
   */
  serve?: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  log?: Logger;
}

export interface CniDaemon {
  readonly socketPath: string;
  /** True from `start()` until `close()`. */
  readonly listening: boolean;
  /** Listens on the socket, mode 0600. */
  start(): Promise<void>;
  /** Stops listening, closes every connection and removes the socket file. */
  close(): Promise<void>;
}

const JSON_TYPE = { 'content-type': 'application/json' };

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The call the forwarder sent: `CNI_*` as `X-Cni-*` headers (absent when empty), stdin as the body. */
function requestOf(req: IncomingMessage, stdin: string): CniRequest {
  return {
    command: header(req, 'x-cni-command') ?? '',
    containerId: header(req, 'x-cni-containerid'),
    netns: header(req, 'x-cni-netns'),
    ifName: header(req, 'x-cni-ifname'),
    args: header(req, 'x-cni-args'),
    path: header(req, 'x-cni-path'),
    stdin,
  };
}

function notFound(req: IncomingMessage, res: ServerResponse): Promise<void> {
  res
    .writeHead(404, JSON_TYPE)
    .end(JSON.stringify({ cniVersion: '1.0.0', code: CNI_SPEC_ERROR_CODES.INVALID_ENV, msg: `no such endpoint: ${req.method} ${req.url}` }));
  return Promise.resolve();
}

const tooLarge: CniResponse = {
  status: 400,
  body: JSON.stringify({ cniVersion: '1.0.0', code: CNI_SPEC_ERROR_CODES.DECODE, msg: `network config larger than ${CNI_MAX_CONFIG_BYTES} bytes` }) + '\n',
};

/**
 * Serves a thick CNI plugin's node daemon on a unix socket: `POST <path>` takes one call (the CNI
 * environment in `X-Cni-*` headers, the config as the body, at most {@link CNI_MAX_CONFIG_BYTES})
 * and answers the handler's status with its body verbatim (200: the plugin's standard output; 400:
 * a CNI error JSON); `GET /health` answers `{"status":"ok"}`; the rest goes to `serve`.
 *
 * @example
 * ```ts
 * const daemon = createCniDaemon({ socketPath: '/run/ippc/my.sock', handle: async (req) => ({ status: 200, body: '' }) });
 * await daemon.start();
 * ```
 */
export function createCniDaemon(options: CniDaemonOptions): CniDaemon {
  const { socketPath, handle } = options;
  const cniPath = options.path ?? '/cni';
  const serve = options.serve ?? notFound;
  const log = options.log ?? silentLogger();
  let server: Server | undefined;

  function cniCall(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const startedAt = performance.now();
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      // Listeners rather than `for await`: fewer turns of the event loop on the CNI hot path.
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= CNI_MAX_CONFIG_BYTES) chunks.push(c);
      });
      req.on('error', reject);
      req.on('end', () => {
        const started = process.hrtime.bigint();
        const request = requestOf(req, Buffer.concat(chunks).toString('utf8'));
        let answered = false;
        const answer = (out: CniResponse) => {
          if (answered) return;
          answered = true;
          log.debug({ command: request.command, ok: out.status === 200, ms: Number(process.hrtime.bigint() - started) / 1e6 }, 'CNI call');
          res.writeHead(out.status, { ...JSON_TYPE, connection: 'close' }).end(out.body);
        };
        const call = size > CNI_MAX_CONFIG_BYTES ? Promise.resolve(tooLarge) : handle(request, { startedAt, answer });
        call.then(answer).then(resolve, reject);
      });
    });
  }

  function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { pathname } = new URL(req.url ?? '/', 'http://cni');
    if (req.method === 'POST' && pathname === cniPath) return cniCall(req, res);
    if (req.method === 'GET' && pathname === '/health') {
      res.writeHead(200, JSON_TYPE).end('{"status":"ok"}');
      return Promise.resolve();
    }
    return serve(req, res);
  }

  return {
    socketPath,
    get listening() {
      return server?.listening === true;
    },
    async start() {
      await mkdir(dirname(socketPath), { recursive: true });
      await rm(socketPath, { force: true });
      const s = createServer((req, res) => {
        route(req, res).catch((err: unknown) => {
          log.error({ err }, 'request failed');
          if (!res.headersSent) res.writeHead(500, JSON_TYPE);
          res.end(JSON.stringify({ error: (err as Error).message }));
        });
      });
      server = s;
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(socketPath, () => resolve());
      });
      // Only root (the runtime that execs CNI plugins) may talk to it.
      await chmod(socketPath, 0o600);
    },
    async close() {
      const s = server;
      server = undefined;
      if (s) {
        await new Promise<void>((resolve) => s.close(() => resolve()));
        s.closeAllConnections();
      }
      await rm(socketPath, { force: true }).catch(() => undefined);
    },
  };
}
