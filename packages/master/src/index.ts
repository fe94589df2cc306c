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
export { startMaster, type StartedMaster, type StartMasterOptions } from './server.js';
export { Master, type MasterOptions } from './master.js';
export type { AgentConnection, AgentEntry, FrameworkConnection, FrameworkEntry, MasterCounters, OfferEntry } from './model.js';
export { IPPC_VERSION, masterState } from './http/state.js';
export { MASTER_ERROR_CODES, MasterError, type MasterErrorCode } from './errors.js';

// Mesos's validation, rule for rule and message for message: a framework can check a call or a
// task before it sends it and get the words a Mesos master would answer.
export { validateFrameworkInfo, validateId, validateRole, validateSchedulerCall } from './validation/framework.js';
export { validateTask, type TaskContext } from './validation/task.js';
export { validateOffers, type OfferFacts } from './validation/offers.js';
export { validateResourceList } from './validation/common.js';
