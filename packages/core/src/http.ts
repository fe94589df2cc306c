import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { collectDefaultMetrics, Registry } from 'prom-client';

/** A route handler; return a body (object → JSON) or write to `res` yourself and return undefined. */
export type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<unknown> | unknown;

export interface HttpServerOptions {
  /** Exact paths, e.g. `/master/state`. `/metrics` and `/health` are added unless given. */
  routes?: Record<string, Route>;
  /** Registry served on `/metrics`. */
  metrics?: Registry;
  /** What `/health` answers; default `{ status: 'ok' }` with 200. Throw to answer 503. */
  health?: () => Promise<unknown> | unknown;
}

export interface StartedHttpServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** A metrics registry with Node's default process metrics, labelled by component. */
export function createMetricsRegistry(component: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ component });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * A small HTTP server for the JSON endpoints (`state`), `/health` and Prometheus `/metrics`.
 * Unknown paths answer 404 with JSON, methods other than GET and HEAD 405; a handler that throws
 * answers 500 with its message.
 */
export async function startHttpServer(host: string, port: number, options: HttpServerOptions = {}): Promise<StartedHttpServer> {
  const routes: Record<string, Route> = {
    '/health': async () => (options.health ? options.health() : { status: 'ok' }),
    ...(options.metrics
      ? {
          '/metrics': async (_req, res) => {
            res.writeHead(200, { 'content-type': options.metrics!.contentType });
            res.end(await options.metrics!.metrics());
            return undefined;
          },
        }
      : {}),
    ...options.routes,
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = routes[url.pathname];
    const send = (code: number, body: unknown) => {
      if (res.headersSent) return;
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (!route) return send(404, { error: `no such endpoint: ${url.pathname}` });
    // Every route here only reads (Mesos answers 405 to anything but GET on its read-only endpoints).
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(405, { error: `${req.method} is not allowed on ${url.pathname}; use GET` });
    }
    Promise.resolve()
      .then(() => route(req, res, url))
      .then((body) => body !== undefined && send(200, body))
      .catch((err: unknown) => send(url.pathname === '/health' ? 503 : 500, { error: (err as Error).message ?? String(err) }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return {
    server,
    port: typeof address === 'object' && address ? address.port : port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
