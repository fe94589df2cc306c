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
 * The one HTTP router of ippc's read-only endpoints: exact paths, JSON answers. A route returns a
 * body (sent as JSON with 200) or writes to `res` itself and returns undefined. Unknown paths answer
 * 404 with JSON, methods other than GET and HEAD 405 (with `allow`); a route that throws answers 500
 * with its message (503 on `/health`). Give it to `http.createServer`, or to a server of your own.
 */
export function createHttpRouter(routes: Record<string, Route>): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    // A trailing slash names the same endpoint (`/master/state/`), as libprocess treats it.
    if (url.pathname.length > 1 && url.pathname.endsWith('/')) url.pathname = url.pathname.replace(/\/+$/, '') || '/';
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
  };
}

/** `/metrics` in Prometheus's text format, for a router. */
export function metricsRoute(registry: Registry): Route {
  return async (_req, res) => {
    res.writeHead(200, { 'content-type': registry.contentType });
    res.end(await registry.metrics());
    return undefined;
  };
}

/**
 * A small HTTP server for the JSON endpoints (`state`), `/health` and Prometheus `/metrics`, on
 * {@link createHttpRouter}.
 */
export async function startHttpServer(host: string, port: number, options: HttpServerOptions = {}): Promise<StartedHttpServer> {
  const routes: Record<string, Route> = {
    '/health': async () => (options.health ? options.health() : { status: 'ok' }),
    ...(options.metrics ? { '/metrics': metricsRoute(options.metrics) } : {}),
    ...options.routes,
  };
  const server = createServer(createHttpRouter(routes));
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
