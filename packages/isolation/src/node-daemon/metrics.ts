import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The daemon's metrics (on its socket's `GET /metrics`, or the embedding process's registry). */
export interface NodeDaemonMetrics {
  cniRequests: Counter<'command' | 'result'>;
  cniSeconds: Histogram<'command'>;
  applySeconds: Histogram<'mode'>;
  cniPhaseSeconds: Histogram<'command' | 'phase'>;
  applyKernelSeconds: Histogram<'mode'>;
  applyErrors: Counter;
  syncCalls: Counter<'kind' | 'result'>;
}

/** What the gauges read when scraped. */
export interface NodeDaemonGauges {
  appliedRevision(): number;
  members(): number;
  unsynced(): number;
}

export function createNodeDaemonMetrics(registry: Registry, gauges: NodeDaemonGauges): NodeDaemonMetrics {
  const cniRequests = new Counter({
    name: 'ippc_isolation_cni_requests_total',
    help: 'CNI calls by command and result',
    labelNames: ['command', 'result'],
    registers: [registry],
  });
  const cniSeconds = new Histogram({
    name: 'ippc_isolation_cni_seconds',
    help: 'Time the daemon spends on a CNI call (ADD includes the local enforcement)',
    labelNames: ['command'],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [registry],
  });
  const applySeconds = new Histogram({
    name: 'ippc_isolation_apply_seconds',
    help: 'Time to apply a state to nftables and routes, by mode',
    labelNames: ['mode'],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  const cniPhaseSeconds = new Histogram({
    name: 'ippc_isolation_cni_phase_seconds',
    help: 'Where the daemon spends a CNI ADD/DEL, by phase: body (receiving the request), decode (its JSON), record (the checkpoint journal, after earlier changes), enforce (until the local sets hold it), answer (the reply written)',
    labelNames: ['command', 'phase'],
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 1],
    registers: [registry],
  });
  const applyKernelSeconds = new Histogram({
    name: 'ippc_isolation_apply_kernel_seconds',
    help: 'Of an apply, the time spent waiting for nft (and ip), by mode',
    labelNames: ['mode'],
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 1],
    registers: [registry],
  });
  const applyErrors = new Counter({ name: 'ippc_isolation_apply_errors_total', help: 'Failed applies', registers: [registry] });
  const syncCalls = new Counter({
    name: 'ippc_isolation_agent_sync_calls_total',
    help: 'Calls telling the service about local members, by kind and result',
    labelNames: ['kind', 'result'],
    registers: [registry],
  });

  new Gauge({
    name: 'ippc_isolation_agent_applied_revision',
    help: 'Revision of the last service state applied on this agent',
    registers: [registry],
    collect() {
      this.set(gauges.appliedRevision());
    },
  });
  new Gauge({
    name: 'ippc_isolation_agent_members',
    help: 'Members (container interfaces) on this agent',
    registers: [registry],
    collect() {
      this.set(gauges.members());
    },
  });
  new Gauge({
    name: 'ippc_isolation_agent_unsynced',
    help: 'Local members and removals the service does not hold yet',
    registers: [registry],
    collect() {
      this.set(gauges.unsynced());
    },
  });
  return { cniRequests, cniSeconds, applySeconds, cniPhaseSeconds, applyKernelSeconds, applyErrors, syncCalls };
}
