import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NodeDaemonContext } from './context.js';
import { resync } from './enforce.js';
import type { NodeDaemonStatus } from './node-daemon.js';
import { unsynced } from './sync.js';

// Status: what the daemon reports of itself, and its endpoints on the socket besides the CNI call.

export function status(ctx: NodeDaemonContext): NodeDaemonStatus {
  const { applied, base } = ctx;
  return {
    agentId: ctx.me,
    connected: ctx.connected,
    epoch: applied?.live ? (applied.base?.epoch ?? '') : '',
    appliedRevision: applied?.live ? (applied.base?.revision ?? 0) : 0,
    knownRevision: ctx.live ? (base?.revision ?? 0) : 0,
    members: ctx.local.size,
    unsynced: unsynced(ctx),
    lastError: ctx.lastError || ctx.syncError,
  };
}

/** `GET /status`, `/members`, `/timings`, `/metrics`, `POST /resync`; anything else 404. */
export function endpoints(ctx: NodeDaemonContext): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://node-daemon');
    const json = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && url.pathname === '/status') return json(200, status(ctx));
    if (req.method === 'GET' && url.pathname === '/members') return json(200, [...ctx.local.values()]);
    if (req.method === 'GET' && url.pathname === '/timings') return json(200, ctx.timings);
    if (req.method === 'GET' && url.pathname === '/metrics') {
      res.writeHead(200, { 'content-type': ctx.registry.contentType });
      res.end(await ctx.registry.metrics());
      return;
    }
    if (req.method === 'POST' && url.pathname === '/resync') return json(200, await resync(ctx));
    json(404, { error: `no such endpoint: ${req.method} ${url.pathname}` });
  };
}
