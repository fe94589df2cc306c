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
export * from './errors.js';
export * from './ip-sources.js';
export * from './labels.js';
export * from './mesos-state.js';
export * from './records.js';
export * from './addresses.js';
export * from './forwarder.js';
export * from './resolver.js';
export * from './server.js';
export * from './state-source.js';
export * from './fake-master.js';
