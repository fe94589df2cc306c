import type { NetworkUsage } from '@ippc/core';
import { TaskState } from '@ippc/proto';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Agent } from '../agent.js';
import type { ContainerUsage } from './statistics.js';

// The agent's Prometheus metrics, read from its records (and the containers' usage) at scrape time.

/** Registers every metric of the agent on `registry`; `usages` gives the running containers' usage. */
export function registerAgentMetrics(registry: Registry, agent: Agent, usages: () => Promise<ContainerUsage[]>): void {
  registerAgentGauges(registry, agent);
  registerUsageGauges(registry, usages);
}

function registerAgentGauges(registry: Registry, agent: Agent): void {
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
      for (const f of agent.frameworks.values())
        for (const e of f.executors.values())
          for (const t of e.tasks.values()) counts.set(TaskState[t.task.state ?? 6] ?? '', (counts.get(TaskState[t.task.state ?? 6] ?? '') ?? 0) + 1);
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
  new Counter({
    name: 'ippc_agent_framework_messages_total',
    help: "Schedulers' messages for executors: delivered (valid) or dropped because the executor is unknown or ending (invalid), as Mesos's slave/valid_framework_messages and slave/invalid_framework_messages",
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ outcome: 'valid' }, agent.counters.validFrameworkMessages);
      this.inc({ outcome: 'invalid' }, agent.counters.invalidFrameworkMessages);
    },
  });
}

/** Each running container's network counters, per interface. */
function registerUsageGauges(registry: Registry, usages: () => Promise<ContainerUsage[]>): void {
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
          if (u.usage.interfaces)
            for (const i of u.usage.interfaces) this.set({ ...base, network: i.network, interface: i.ifName }, i[field as keyof typeof i] as number);
          else this.set({ ...base, network: '', interface: '' }, u.usage[field] as number);
        }
      },
    });
  }
}
