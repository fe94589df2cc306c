import type { ServerResponse } from 'node:http';
import { metricsRoute, type Route } from '@ippc/core';
import { guarded, type HttpAccess, type Json, toV1Json } from '@ippc/mesos';
import { VersionInfo } from '@ippc/proto';
import type { Registry } from 'prom-client';
import type { Master } from '../master.js';
import { metricsSnapshot } from './snapshot.js';
import { masterState, versionInfo } from './state.js';
import { masterTasks } from './tasks.js';

// The master's HTTP endpoints, as Mesos serves them on 5050 (`/master/state`, `/master/slaves`,
// `/master/frameworks`, `/master/tasks` and their aliases without `/master`, `/version`,
// `/metrics/snapshot`), plus `/health` and Prometheus `/metrics`.

function sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(code, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/**
 * `GET /master/state`, with ippc's long poll: `?since=<version>&timeout=<s>` answers once the
 * state version moved past `since` (or at the timeout); the version is in `ippc-state-version`.
 */
function stateRoute(master: Master, maxWatchSeconds: number): Route {
  return async (_req, res, url) => {
    const since = url.searchParams.get('since');
    if (since !== null) {
      const n = Number(since);
      const timeout = Math.min(Number(url.searchParams.get('timeout') ?? 30), maxWatchSeconds);
      if (!Number.isFinite(n) || !Number.isFinite(timeout) || timeout < 0) {
        return sendJson(res, 400, { error: "'since' must be a state version and 'timeout' seconds, e.g. /master/state?since=12&timeout=30" });
      }
      await master.waitForChange(n, timeout * 1000);
    }
    sendJson(res, 200, masterState(master), { 'ippc-state-version': String(master.stateVersion) });
  };
}

/** `GET /version`, as libprocess's version endpoint answers it. */
function versionJson(): Json {
  return toV1Json(VersionInfo, versionInfo());
}

/**
 * Every route of the master's HTTP side, for `createHttpRouter`; each `/master/x` also answers as
 * `/x`, as in libprocess. With `readonly` (Mesos's `--authenticate_http_readonly`) the endpoints
 * that reveal tasks and addresses need credentials; `/health`, `/version` and `/metrics` never do.
 */
export function masterRoutes(master: Master, metrics: Registry, maxWatchSeconds: number, readonly?: HttpAccess): Record<string, Route> {
  const guard = (route: Route) => (readonly ? guarded(readonly, route) : route);
  const state = guard(stateRoute(master, maxWatchSeconds));
  const slaves: Route = guard(() => {
    const s = masterState(master);
    return { slaves: s.slaves, recovered_slaves: [] };
  });
  const frameworks: Route = guard(() => {
    const s = masterState(master);
    return { frameworks: s.frameworks, completed_frameworks: s.completed_frameworks, unregistered_frameworks: [] };
  });
  const redirect: Route = (_req, res) => {
    res.writeHead(307, { location: `//${master.hostname}:${master.port}`, 'content-length': '0' });
    res.end();
    return undefined;
  };
  const tasks: Route = guard((_req, _res, url) => masterTasks(master, url.searchParams));
  return {
    '/master/state': state,
    '/master/state.json': state,
    '/state': state,
    '/state.json': state,
    '/master/slaves': slaves,
    '/slaves': slaves,
    '/master/frameworks': frameworks,
    '/frameworks': frameworks,
    '/master/tasks': tasks,
    '/tasks': tasks,
    '/version': versionJson,
    // The leading master's base URL, protocol-relative as Mesos writes it (one master: itself).
    '/master/redirect': redirect,
    '/redirect': redirect,
    '/metrics/snapshot': guard(() => metricsSnapshot(master)),
    '/health': () => ({ status: 'ok', id: master.id, agents: master.agents.size, frameworks: master.frameworks.size }),
    '/master/health': () => ({ status: 'ok' }),
    '/metrics': metricsRoute(metrics),
  };
}
