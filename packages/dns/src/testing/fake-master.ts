/**
 * A stand-in for the master's `GET /master/state`, for tests and benchmarks: serves a state you
 * set, can change it, can fail, and counts requests. Loopback only.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { MesosState } from '../mesos-state.js';

export interface FakeMasterOptions {
  state?: MesosState;
  /** Send an ETag and honour If-None-Match with 304. Default true (real Mesos does not). */
  etag?: boolean;
  /** Default 127.0.0.1. Port is always ephemeral. */
  host?: string;
}

export interface FakeMaster {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly port: number;
  /** Replaces the served state (deep-copied). */
  setState(state: MesosState): void;
  /** Edits the served state in place and serves the result. */
  update(edit: (state: MesosState) => void): void;
  /** From now on answer with this HTTP status (e.g. 503), or cut connections (`'reset'`); undefined: serve again. */
  fail(how: number | 'reset' | undefined): void;
  /** Requests served so far. */
  readonly requests: { total: number; notModified: number };
  close(): Promise<void>;
}

export async function startFakeMaster(options: FakeMasterOptions = {}): Promise<FakeMaster> {
  let body = '';
  let etag = '';
  let failure: number | 'reset' | undefined;
  let state: MesosState = {};
  const requests = { total: 0, notModified: 0 };
  const set = (s: MesosState) => {
    state = structuredClone(s);
    body = JSON.stringify(state);
    etag = `"${createHash('sha1').update(body).digest('hex').slice(0, 16)}"`;
  };
  set(options.state ?? { frameworks: [], slaves: [] });
  const useEtag = options.etag ?? true;

  const server: Server = createServer((req, res) => {
    requests.total++;
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (failure === 'reset') return void req.socket.destroy();
    if (failure !== undefined) {
      res.writeHead(failure, { 'content-type': 'text/plain' });
      return void res.end('fake master failure');
    }
    if (path !== '/master/state' && path !== '/master/state.json' && path !== '/state') {
      res.writeHead(404);
      return void res.end();
    }
    if (useEtag && req.headers['if-none-match'] === etag) {
      requests.notModified++;
      res.writeHead(304, { etag });
      return void res.end();
    }
    res.writeHead(200, { 'content-type': 'application/json', ...(useEtag ? { etag } : {}) });
    res.end(body);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    setState: set,
    update(edit) {
      const next = structuredClone(state);
      edit(next);
      set(next);
    },
    fail(how) {
      failure = how;
    },
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
