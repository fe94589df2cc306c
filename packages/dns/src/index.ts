/**
 * @ippc/dns: Mesos-DNS-style service discovery from the master's `/master/state`.
 *
 * @example
 * ```ts
 * import { createDnsServer } from '@ippc/dns';
 * await using dns = await createDnsServer({ master: 'http://127.0.0.1:5050', listen: '127.0.0.1:0' });
 * await dns.ready();   // web.marathon.ippc now answers on dns.port (UDP and TCP)
 * ```
 */
// The server, as `ippc-dns` runs it.
export { createDnsServer, resolveDnsServerOptions, type DnsServer, type DnsServerOptions, type DnsServerStatus } from './server.js';
export { DEFAULT_IP_SOURCES, IP_SOURCES, type IpSource } from './ip-sources.js';
export { DnsError, type DnsErrorCode } from './errors.js';

// Its pieces, each usable alone: the master's state followed, the zone built from it (pure), the
// queries answered (bytes in, bytes out), the upstream forwarder. A stand-in master for tests is
// `@ippc/dns/testing`.
export {
  createPollingStateSource,
  DEFAULT_REFRESH_MS,
  type PollingStateSourceOptions,
  type StateEvent,
  type StateListener,
  type StateSource,
} from './state-source.js';
export { parseMesosState, type MesosState } from './mesos-state.js';
export { buildRecords, type BuildRecordsOptions, type NameRecords, type RecordSet, type RecordStats, type SrvRecord } from './records.js';
export { createQueryHandler, type QueryHandler, type QueryHandlerOptions, type ZoneView } from './resolver.js';
export { createUpstreamForwarder, type Forwarder, type Transport, type UpstreamForwarderOptions } from './forwarder.js';
