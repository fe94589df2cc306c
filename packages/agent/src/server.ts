import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpRouter, createLogger, createMetricsRegistry, metricsRoute, type Logger } from '@ippc/core';
import type { Credential, HttpAccess } from '@ippc/mesos';
import type { Registry } from 'prom-client';
import { Agent, type AgentOptions } from './agent.js';
import { agentRoutes } from './http/endpoints.js';
import { executorApi } from './http/executor-api.js';
import { registerAgentMetrics } from './http/metrics.js';
import { agentOperatorApi } from './http/operator-api.js';
import { createUsageCache, type ContainerUsage } from './http/statistics.js';

// startAgent: the agent's HTTP side (the read-only routes of http/endpoints.ts, `/health`,
// `/metrics`, the operator API's POSTs on `/api/v1` and the executor API's on `/api/v1/executor`),
// then the agent, recovered and registered.

const V1_OPERATOR = new Set(['/api/v1', '/api/v1/']);
const V1_EXECUTOR = new Set(['/api/v1/executor', '/api/v1/executor/']);

export interface StartAgentOptions extends Omit<AgentOptions, 'port' | 'log'> {
  /** HTTP port (`/state`, `/health`, `/metrics`, `/api/v1`). Default 5051 (Mesos); 0 picks a free one. */
  port?: number;
  /** Address the HTTP endpoints listen on. Default: `ip`. */
  bindIp?: string;
  log?: Logger;
  /** Registry served on `/metrics` (e.g. one the node daemons already write to). Default: a new one. */
  metrics?: Registry;
  /** Extra fields of `/health` (e.g. the node daemons' state). */
  health?: () => Record<string, unknown>;
  /** Principals and secrets for HTTP Basic on the agent's HTTP endpoints (Mesos's `--http_credentials`), beside the cluster token of `auth`. */
  credentials?: Credential[];
  /**
   * Require credentials on the operator API, `POST /api/v1` (Mesos's `--authenticate_http_readwrite`):
   * the cluster token as bearer, or a principal of `credentials`. Default true (Mesos: false); with
   * `auth: { disabled: true }` and no `credentials` nothing is checked anyway.
   */
  authenticateHttpReadwrite?: boolean;
  /** Require credentials on `/state`, `/monitor/statistics`, `/containers`, `/metrics/snapshot` (Mesos's `--authenticate_http_readonly`). Default false. */
  authenticateHttpReadonly?: boolean;
}

export interface StartedAgent {
  agent: Agent;
  port: number;
  /** `http://ip:port`. */
  url: string;
  metrics: Registry;
  /** Stops the agent; running tasks keep running (a restarted agent recovers them) unless `killTasks`. */
  close(options?: { killTasks?: boolean }): Promise<void>;
}

/**
 * Starts an agent: serves `/state` (also `/slave(1)/state`), `/monitor/statistics`, `/containers`,
 * `/metrics/snapshot`, `/health`, `/metrics` and the operator API (`POST /api/v1`; 503 until
 * recovery is done), recovers what it ran before, and registers (or re-registers) with the master.
 */
export async function startAgent(options: StartAgentOptions): Promise<StartedAgent> {
  const log = options.log ?? createLogger({ component: 'agent' });
  const metrics = options.metrics ?? createMetricsRegistry('agent');
  // The HTTP server starts first (its port goes into the agent's pid); the agent is filled in next.
  const holder: Holder = {};
  const usages = () => holder.usage?.get() ?? Promise.resolve([]);
  const http = await listen(options.bindIp ?? options.ip, options.port ?? 5051, httpHandler(options, metrics, log, holder, usages));
  const port = (http.address() as AddressInfo).port;
  const closeHttp = () => {
    http.closeAllConnections();
    return new Promise<void>((resolve) => http.close(() => resolve()));
  };
  const agent = new Agent({ ...options, port, log });
  holder.agent = agent;
  holder.usage = createUsageCache(agent);
  registerAgentMetrics(metrics, agent, usages);
  try {
    await agent.start();
    holder.recovered = true;
  } catch (err) {
    await closeHttp();
    throw err;
  }
  log.info({ url: `http://${options.ip}:${port}`, master: options.master }, 'agent listening');
  let closing: Promise<void> | undefined;
  return {
    agent,
    port: port,
    url: `http://${options.ip}:${port}`,
    metrics,
    close: (o = {}) =>
      (closing ??= (async () => {
        await agent.stop(o);
        await closeHttp();
      })()),
  };
}

type Holder = { agent?: Agent; usage?: { get(): Promise<ContainerUsage[]> }; recovered?: boolean };

/** Who may call the operator API and (with `authenticateHttpReadonly`) the read-only endpoints. */
function accessOf(options: StartAgentOptions): { readwrite: HttpAccess; readonly?: HttpAccess } {
  const access: HttpAccess = { auth: options.auth, ...(options.credentials ? { credentials: options.credentials } : {}) };
  return {
    readwrite: options.authenticateHttpReadwrite === false ? { auth: { disabled: true } } : access,
    ...(options.authenticateHttpReadonly ? { readonly: access } : {}),
  };
}

/** The POSTs of `/api/v1` beside the read-only router (which answers 405 to anything but GET and HEAD). */
function httpHandler(options: StartAgentOptions, metrics: Registry, log: Logger, holder: Holder, usages: () => Promise<ContainerUsage[]>) {
  const access = accessOf(options);
  const router = createHttpRouter({
    '/health': () => ({ status: 'ok', id: holder.agent?.id ?? '', registered: holder.agent?.registered ?? false, ...(options.health?.() ?? {}) }),
    '/metrics': metricsRoute(metrics),
    ...agentRoutes(() => holder.agent!, usages, access.readonly),
  });
  const recovered = () => (holder.recovered ? holder.agent : undefined);
  const operator = agentOperatorApi({ access: access.readwrite, log, agent: recovered, usages });
  const executor = executorApi(recovered, { log });
  return (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (V1_OPERATOR.has(path)) operator(req, res);
    else if (V1_EXECUTOR.has(path)) executor(req, res);
    else router(req, res);
  };
}

async function listen(host: string, port: number, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
