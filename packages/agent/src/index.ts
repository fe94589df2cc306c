/**
 * @ippc/agent: the ippc agent. It registers with the master, advertises its resources, runs tasks
 * through containerizers (tried in order), sends status updates with `container_status` (the agent
 * IP filled in when a task has no network of its own) until they are acknowledged, checkpoints
 * what it runs and recovers it after a restart, and serves `/state` in the Mesos JSON model.
 *
 * @example
 * ```ts
 * import { startAgent } from '@ippc/agent';
 * import { createMesosContainerizer } from '@ippc/mesos-containerizer';
 * import { parseResources } from '@ippc/mesos';
 * const agent = await startAgent({
 *   master: '127.0.0.1:5050', auth: { token }, ip: '127.0.0.2', port: 5051, workDir: '/var/lib/ippc',
 *   resources: parseResources('cpus:2;mem:1024;ports:[31000-31099]'),
 *   containerizers: [createMesosContainerizer({ runtimeDir: '/var/run/ippc' })],
 * });
 * ```
 */
export * from './agent.js';
export * from './checkpoint.js';
export * from './cni-networks.js';
export * from './cni-options.js';
export * from './docker-options.js';
export * from './errors.js';
export * from './flags.js';
export * from './modules.js';
export * from './node-services.js';
export * from './server.js';
export * from './http/state.js';
export * from './http/statistics.js';
export * from './status/status-update-manager.js';
