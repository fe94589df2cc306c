import { isTerminalState } from '@ippc/mesos';
import { taskStateToJSON } from '@ippc/proto';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Master } from '../master.js';

// The master's Prometheus metrics, read from its records at scrape time.

/** Registers every metric of the master on `registry`. */
export function registerMasterMetrics(registry: Registry, master: Master): void {
  registerMembershipGauges(registry, master);
  registerTaskGauges(registry, master);
  registerCounters(registry, master);
}

/** Frameworks and agents by state. */
function registerMembershipGauges(registry: Registry, master: Master): void {
  new Gauge({
    name: 'ippc_master_frameworks',
    help: 'Frameworks by state (connected, disconnected, completed)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const fs = master.frameworkEntries();
      this.set({ state: 'connected' }, fs.filter((f) => f.conn).length);
      this.set({ state: 'disconnected' }, fs.filter((f) => !f.conn).length);
      this.set({ state: 'completed' }, master.completedFrameworks.length);
    },
  });
  new Gauge({
    name: 'ippc_master_agents',
    help: 'Agents by state (connected, disconnected, unreachable)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const as = master.agentEntries();
      this.set({ state: 'connected' }, as.filter((a) => a.conn).length);
      this.set({ state: 'disconnected' }, as.filter((a) => !a.conn).length);
      this.set({ state: 'unreachable' }, master.unreachableAgents.size);
    },
  });
}

/** Tasks by state, active tasks and outstanding offers. */
function registerTaskGauges(registry: Registry, master: Master): void {
  new Gauge({
    name: 'ippc_master_tasks',
    help: 'Tasks the master knows, by latest state',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.reset();
      const counts = new Map<string, number>();
      for (const f of master.frameworkEntries()) {
        for (const t of f.tasks.values()) counts.set(String(t.state), (counts.get(String(t.state)) ?? 0) + 1);
        for (const t of f.unreachableTasks.values()) counts.set(String(t.state), (counts.get(String(t.state)) ?? 0) + 1);
      }
      for (const [state, n] of counts) this.set({ state: stateName(Number(state)) }, n);
    },
  });
  new Gauge({
    name: 'ippc_master_tasks_active',
    help: 'Tasks that are not terminal',
    registers: [registry],
    collect() {
      this.set(master.frameworkEntries().reduce((n, f) => n + [...f.tasks.values()].filter((t) => !isTerminalState(t.state)).length, 0));
    },
  });
  new Gauge({
    name: 'ippc_master_offers_outstanding',
    help: 'Offers sent and not yet accepted, declined or rescinded',
    registers: [registry],
    collect() {
      this.set(master.offers.size);
    },
  });
}

/** Status updates, refused calls, and the master's plain counters. */
function registerCounters(registry: Registry, master: Master): void {
  new Counter({
    name: 'ippc_master_task_status_updates_total',
    help: 'Status updates seen by the master, by state, source and reason',
    labelNames: ['state', 'source', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [key, n] of master.counters.statusUpdates) {
        const [state, source, reason] = key.split('|');
        this.inc({ state: state ?? '', source: source ?? '', reason: reason ?? '' }, n);
      }
    },
  });
  new Counter({
    name: 'ippc_master_invalid_calls_total',
    help: 'Framework calls refused by validation, by call type',
    labelNames: ['call'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [call, n] of master.counters.invalidCalls) this.inc({ call }, n);
    },
  });
  const simple: [string, string, () => number][] = [
    ['ippc_master_offers_sent_total', 'Offers sent to frameworks', () => master.counters.offersSent],
    ['ippc_master_offers_declined_total', 'Offers declined', () => master.counters.offersDeclined],
    ['ippc_master_offers_rescinded_total', 'Offers rescinded', () => master.counters.offersRescinded],
    ['ippc_master_tasks_launched_total', 'Tasks sent to agents', () => master.counters.tasksLaunched],
    ['ippc_master_tasks_invalid_total', 'Tasks refused with TASK_ERROR', () => master.counters.tasksInvalid],
    ['ippc_master_agent_registrations_total', 'Agent registrations', () => master.counters.agentRegistrations],
    ['ippc_master_agent_reregistrations_total', 'Agent re-registrations', () => master.counters.agentReregistrations],
    ['ippc_master_agents_unreachable_total', 'Agents marked unreachable', () => master.counters.agentsUnreachable],
  ];
  for (const [name, help, read] of simple) {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  }
}

/** A task state's name (`TASK_RUNNING`), or the number for one this build does not know. */
function stateName(s: number): string {
  const name = taskStateToJSON(s);
  return name === 'UNRECOGNIZED' ? String(s) : name;
}
