import { createLogger, createMetricsRegistry, startHttpServer, type Logger, type NetworkUsage } from '@ippc/core';
import { TaskState } from '@ippc/proto';
import { Counter, Gauge, type Registry } from 'prom-client';
import { Agent, type AgentOptions } from './agent.js';
import { agentState } from './state.js';
import { createUsageCache, statisticsJson, type ContainerUsage } from './statistics.js';

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

function registerMetrics(registry: Registry, agent: Agent, usages: () => Promise<ContainerUsage[]>): void {
  new Gauge({
    name: 'ippc_agent_registered',
    help: '1 while the agent is registered with the master',
    registers: [registry],
    collect() {
      this.set(agent.registered ? 1 : 0);
    },
  });
  new Gauge({
    name: 'ippc_agent_tasks',
    help: 'Tasks on this agent by latest state (not yet completed)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.reset();
      const counts = new Map<string, number>();
      for (const f of agent.frameworks.values()) for (const e of f.executors.values()) for (const t of e.tasks.values()) counts.set(TaskState[t.task.state ?? 6] ?? '', (counts.get(TaskState[t.task.state ?? 6] ?? '') ?? 0) + 1);
      for (const [state, n] of counts) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'ippc_agent_containers',
    help: 'Containers held by each containerizer',
    labelNames: ['containerizer'],
    registers: [registry],
    collect() {
      for (const c of agent.options.containerizers) this.set({ containerizer: c.name }, c.containers().length);
    },
  });
  new Gauge({
    name: 'ippc_agent_status_updates_pending',
    help: 'Status updates waiting for acknowledgement',
    registers: [registry],
    collect() {
      this.set(agent.sum.pendingCount());
    },
  });
  new Counter({
    name: 'ippc_agent_status_update_retries_total',
    help: 'Status updates resent because no acknowledgement came',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(agent.sum.retries);
    },
  });
  new Counter({
    name: 'ippc_agent_container_launch_failures_total',
    help: 'Containers that failed to launch (TASK_FAILED, REASON_CONTAINER_LAUNCH_FAILED)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(agent.launchFailures);
    },
  });
  const fields: [keyof NetworkUsage, string][] = [
    ['rxBytes', 'net_rx_bytes'],
    ['rxPackets', 'net_rx_packets'],
    ['rxErrors', 'net_rx_errors'],
    ['rxDropped', 'net_rx_dropped'],
    ['txBytes', 'net_tx_bytes'],
    ['txPackets', 'net_tx_packets'],
    ['txErrors', 'net_tx_errors'],
    ['txDropped', 'net_tx_dropped'],
  ];
  for (const [field, name] of fields) {
    new Gauge({
      name: `ippc_agent_container_${name}`,
      help: `Network counter ${name} of each running container with a network of its own, per interface (network: the CNI network; empty when the containerizer gives only a total)`,
      labelNames: ['container_id', 'task_id', 'framework_id', 'network', 'interface'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const u of await usages()) {
          const base = { container_id: u.containerId, task_id: u.taskId, framework_id: u.frameworkId };
          if (u.usage.interfaces) for (const i of u.usage.interfaces) this.set({ ...base, network: i.network, interface: i.ifName }, i[field as keyof typeof i] as number);
          else this.set({ ...base, network: '', interface: '' }, u.usage[field] as number);
        }
      },
    });
  }
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
  const state = async () => {
    const byContainer = new Map((await usages()).map((u) => [u.containerId, statisticsJson(u.usage)]));
    return agentState(holder.agent!, byContainer);
  };
  const statistics = async () =>
    (await usages()).map((u) => ({
      executor_id: u.executorId,
      executor_name: u.executorName,
      framework_id: u.frameworkId,
      source: u.source,
      statistics: statisticsJson(u.usage),
    }));
  const http = await startHttpServer(options.bindIp ?? options.ip, options.port ?? 5051, {
    metrics,
    routes: {
      '/state': state,
      '/state.json': state,
      '/slave(1)/state': state,
      '/slave(1)/state.json': state,
      '/monitor/statistics': statistics,
      '/monitor/statistics.json': statistics,
    },
    health: () => ({ status: 'ok', id: holder.agent?.id ?? '', registered: holder.agent?.registered ?? false, ...(options.health?.() ?? {}) }),
  });
  const agent = new Agent({ ...options, port: http.port, log });
  holder.agent = agent;
  holder.usage = createUsageCache(agent);
  registerMetrics(metrics, agent, usages);
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
