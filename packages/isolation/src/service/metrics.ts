import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Delta } from '../model.js';
import type { PolicyStore } from './store/store.js';

// The service's metrics: requests and changes counted as they happen, the propagation time of
// each revision, and gauges read from the store on every scrape.

export interface ServiceMetrics {
  /** gRPC requests by method and result code. */
  requests: Counter<'method' | 'code'>;
}

/** Registers the service's metrics in `registry` and hooks them to `store`. */
export function createServiceMetrics(registry: Registry, store: PolicyStore): ServiceMetrics {
  const requests = new Counter({
    name: 'ippc_isolation_requests_total',
    help: 'gRPC requests by method and result code',
    labelNames: ['method', 'code'],
    registers: [registry],
  });
  const changes = new Counter({ name: 'ippc_isolation_changes_total', help: 'Changes committed, by kind', labelNames: ['kind'], registers: [registry] });
  const propagation = new Histogram({
    name: 'ippc_isolation_propagation_seconds',
    help: 'Time from a change until every registered agent has applied it',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  store.onPropagated((_rev, ms) => propagation.observe(ms / 1000));
  registerStateGauges(registry, store);
  const countChanges = (d: Delta) => {
    for (const c of d.changes) changes.inc({ kind: c.kind });
  };
  store.watch(countChanges);
  return { requests };
}

function registerStateGauges(registry: Registry, store: PolicyStore): void {
  new Gauge({
    name: 'ippc_isolation_revision',
    help: 'Current revision of the policy state',
    registers: [registry],
    collect() {
      this.set(store.revision);
    },
  });
  new Gauge({
    name: 'ippc_isolation_agents',
    help: 'Registered agents, by whether a watch stream is open',
    labelNames: ['connected'],
    registers: [registry],
    collect() {
      const agents = store.agents();
      this.set({ connected: 'true' }, agents.filter((a) => a.connected).length);
      this.set({ connected: 'false' }, agents.filter((a) => !a.connected).length);
    },
  });
  new Gauge({
    name: 'ippc_isolation_group_members',
    help: 'Members per group',
    labelNames: ['group'],
    registers: [registry],
    collect() {
      this.reset();
      for (const g of store.groups()) this.set({ group: g.name }, g.members.length);
    },
  });
  new Gauge({
    name: 'ippc_isolation_members',
    help: 'Attached members (container interfaces)',
    registers: [registry],
    collect() {
      this.set(store.members().length);
    },
  });
  new Gauge({
    name: 'ippc_isolation_rules',
    help: 'Operator rules',
    registers: [registry],
    collect() {
      this.set(store.rules().length);
    },
  });
  new Gauge({
    name: 'ippc_isolation_agent_lag_revisions',
    help: 'Revisions an agent is behind the service',
    labelNames: ['agent'],
    registers: [registry],
    collect() {
      this.reset();
      for (const a of store.agents()) this.set({ agent: a.id }, a.appliedEpoch === store.epoch ? store.revision - a.appliedRevision : store.revision);
    },
  });
}
