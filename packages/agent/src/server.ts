import { createLogger, createMetricsRegistry, startHttpServer, type Logger } from '@ippc/core';
import type { Registry } from 'prom-client';
import { Agent, type AgentOptions } from './agent.js';
import { agentRoutes } from './http/endpoints.js';
import { registerAgentMetrics } from './http/metrics.js';
import { createUsageCache } from './http/statistics.js';

export interface StartAgentOptions extends Omit<AgentOptions, 'port' | 'log'> {
  /** HTTP port (`/state`, `/health`, `/metrics`). Default 5051 (Mesos); 0 picks a free one. */
  port?: number;
  /** Address the HTTP endpoints listen on. Default: `ip`. */
  bindIp?: string;
  log?: Logger;
  /** Registry served on `/metrics` (e.g. one the node daemons already write to). Default: a new one. */
  metrics?: Registry;
  /** Extra fields of `/health` (e.g. the node daemons' state). */
  health?: () => Record<string, unknown>;
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
 * Starts an agent: serves `/state` (also `/slave(1)/state`), `/monitor/statistics`, `/health` and
 * `/metrics`, recovers what it ran before, and registers (or re-registers) with the master.
 */
export async function startAgent(options: StartAgentOptions): Promise<StartedAgent> {
  const log = options.log ?? createLogger({ component: 'agent' });
  const metrics = options.metrics ?? createMetricsRegistry('agent');
  // The HTTP server starts first (its port goes into the agent's pid); the agent is filled in next.
  const holder: { agent?: Agent; usage?: ReturnType<typeof createUsageCache> } = {};
  const usages = () => holder.usage?.get() ?? Promise.resolve([]);
  const http = await startHttpServer(options.bindIp ?? options.ip, options.port ?? 5051, {
    metrics,
    routes: agentRoutes(() => holder.agent!, usages),
    health: () => ({ status: 'ok', id: holder.agent?.id ?? '', registered: holder.agent?.registered ?? false, ...(options.health?.() ?? {}) }),
  });
  const agent = new Agent({ ...options, port: http.port, log });
  holder.agent = agent;
  holder.usage = createUsageCache(agent);
  registerAgentMetrics(metrics, agent, usages);
  try {
    await agent.start();
  } catch (err) {
    await http.close();
    throw err;
  }
  log.info({ url: `http://${options.ip}:${http.port}`, master: options.master }, 'agent listening');
  let closing: Promise<void> | undefined;
  return {
    agent,
    port: http.port,
    url: `http://${options.ip}:${http.port}`,
    metrics,
    close: (o = {}) =>
      (closing ??= (async () => {
        await agent.stop(o);
        http.server.closeAllConnections();
        await http.close();
      })()),
  };
}
