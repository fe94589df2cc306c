import { createLogger, createMetricsRegistry, startHttpServer, type Logger, type NetworkUsage } from '@ippc/core';
import { TaskState } from '@ippc/proto';
import { Counter, Gauge, type Registry } from 'prom-client';
import { Agent, type AgentOptions } from './agent.js';
import { agentState } from './state.js';

export interface StartAgentOptions extends Omit<AgentOptions, 'port' | 'log'> {
  /** HTTP port (`/state`, `/health`, `/metrics`). Default 5051 (Mesos); 0 picks a free one. */
  port?: number;
  /** Address the HTTP endpoints listen on. Default: `ip`. */
  bindIp?: string;
  log?: Logger;
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

interface Usage {
  executorId: string;
  executorName: string;
  frameworkId: string;
  source: string;
  containerId: string;
  taskId: string;
  usage: NetworkUsage;
}

async function usages(agent: Agent): Promise<Usage[]> {
  const out: Usage[] = [];
  for (const f of agent.frameworks.values()) {
    for (const e of f.executors.values()) {
      if (e.state !== 'running' || !e.containerizer.usage) continue;
      const usage = await e.containerizer.usage(e.containerId).catch(() => undefined);
      if (usage) out.push({ executorId: e.id, executorName: e.info.name ?? '', frameworkId: f.id, source: e.info.source ?? '', containerId: e.containerId, taskId: [...e.tasks.keys()][0] ?? '', usage });
    }
  }
  return out;
}

function registerMetrics(registry: Registry, agent: Agent): void {
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
      help: `Per-container network counter ${name} (containers with a network of their own)`,
      labelNames: ['container_id', 'task_id', 'framework_id'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const u of await usages(agent)) this.set({ container_id: u.containerId, task_id: u.taskId, framework_id: u.frameworkId }, u.usage[field]);
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
  const metrics = createMetricsRegistry('agent');
  // The HTTP server starts first (its port goes into the agent's pid); the agent is filled in next.
  const holder: { agent?: Agent } = {};
  const state = () => agentState(holder.agent!);
  const statistics = async () =>
    (await usages(holder.agent!)).map((u) => ({
      executor_id: u.executorId,
      executor_name: u.executorName,
      framework_id: u.frameworkId,
      source: u.source,
      statistics: {
        timestamp: Date.now() / 1000,
        net_rx_bytes: u.usage.rxBytes,
        net_rx_packets: u.usage.rxPackets,
        net_rx_errors: u.usage.rxErrors,
        net_rx_dropped: u.usage.rxDropped,
        net_tx_bytes: u.usage.txBytes,
        net_tx_packets: u.usage.txPackets,
        net_tx_errors: u.usage.txErrors,
        net_tx_dropped: u.usage.txDropped,
      },
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
    health: () => ({ status: 'ok', id: holder.agent?.id ?? '', registered: holder.agent?.registered ?? false }),
  });
  const agent = new Agent({ ...options, port: http.port, log });
  holder.agent = agent;
  registerMetrics(metrics, agent);
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
