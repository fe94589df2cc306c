/**
 * @ippc/master: the ippc master. Frameworks subscribe over gRPC (Mesos's v1 scheduler API: offers,
 * ACCEPT with LAUNCH, DECLINE, KILL, ACKNOWLEDGE, RECONCILE), agents register over their own
 * channel, and `GET /master/state` serves the Mesos JSON model, all on one port (default 5050).
 *
 * @example
 * ```ts
 * import { startMaster } from '@ippc/master';
 * const master = await startMaster({ ip: '127.0.0.1', port: 5050, auth: { token: process.env.IPPC_TOKEN! } });
 * console.log(`frameworks and agents connect to ${master.address}; state at ${master.url}/master/state`);
 * await master.close();
 * ```
 */
export * from './errors.js';
export * from './master.js';
export * from './server.js';
export * from './state.js';
export * from './validation.js';
