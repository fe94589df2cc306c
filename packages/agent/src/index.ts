/**
 * @ippc/agent: the ippc agent's core. It registers with the master, advertises its resources, runs
 * tasks through the containerizers it is given (tried in order), sends status updates with
 * `container_status` (the agent IP filled in when a task has no network of its own) until they are
 * acknowledged, checkpoints what it runs and recovers it after a restart, and serves `/state` in the
 * Mesos JSON model. The `ippc-agent` executable, which composes it with containerizers, isolators
 * and node daemons from flags, is @ippc/node.
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
export { startAgent, type StartAgentOptions, type StartedAgent } from './server.js';
export { Agent, type AgentOptions, type ExecutorRecord, type FrameworkRecord, type TaskRecord } from './agent.js';
export { AGENT_ERROR_CODES, AgentError, type AgentErrorCode } from './errors.js';
export { agentState } from './http/state.js';
export { statisticsJson, type ContainerUsage, type StatisticsJson } from './http/statistics.js';

// Mesos's rules the agent applies, for containerizer writers who want the same.
export { commandExecutorInfo, mergeContainerStatus, portEnvironment } from './agent.js';
