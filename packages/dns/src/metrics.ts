import { Counter, Gauge, Registry } from 'prom-client';
import type { QueryHandlerOptions } from './resolver.js';

/** The DNS server's Prometheus metrics, in a registry of its own (served on the `http` option's `/metrics`). */
export interface DnsMetrics {
  readonly registry: Registry;
  /** `ippc_dns_state_reads_total`, by `result`: `changed`, `unchanged`, `error`. */
  readonly updates: Counter<'result'>;
  /** `ippc_dns_records`: A, AAAA and SRV records in the zone. */
  readonly recordsGauge: Gauge;
  /** Counts one answered message in `ippc_dns_queries_total` (the query handler's `onAnswer`). */
  readonly onAnswer: NonNullable<QueryHandlerOptions['onAnswer']>;
}

/** `confirmedAt`: when the master last answered (ms since the epoch), for `ippc_dns_state_age_seconds`. */
export function createDnsMetrics(confirmedAt: () => number | undefined): DnsMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ component: 'dns' });
  const queries = new Counter({
    name: 'ippc_dns_queries_total',
    help: 'DNS messages answered, by rcode and transport',
    labelNames: ['rcode', 'transport', 'forwarded'],
    registers: [registry],
  });
  const queryCounters = new Map<string, { inc(): void }>();
  const updates = new Counter({
    name: 'ippc_dns_state_reads_total',
    help: 'Reads of the master state, by result',
    labelNames: ['result'],
    registers: [registry],
  });
  const recordsGauge = new Gauge({ name: 'ippc_dns_records', help: 'A, AAAA and SRV records in the zone', registers: [registry] });
  const ageGauge = new Gauge({
    name: 'ippc_dns_state_age_seconds',
    help: 'Seconds since the master last answered',
    registers: [registry],
    collect() {
      const at = confirmedAt();
      this.set(at === undefined ? -1 : (Date.now() - at) / 1000);
    },
  });
  void ageGauge;
  return {
    registry,
    updates,
    recordsGauge,
    onAnswer: ({ rcode, transport, forwarded }) => {
      // Bound children are cached: prom-client hashes a label object on every inc() otherwise.
      const key = `${rcode}|${transport}|${forwarded}`;
      let child = queryCounters.get(key);
      if (!child) queryCounters.set(key, (child = queries.labels(rcode, transport, String(forwarded))));
      child.inc();
    },
  };
}
