/**
 * @ippc/dns: Mesos-DNS-style service discovery from the master's state.
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
