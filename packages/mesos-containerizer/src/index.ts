/**
 * @ippc/mesos-containerizer: tasks as supervised processes on the agent, in the agent's namespaces
 * or, when an isolator asks for it, in new network, UTS and mount namespaces set up (by the
 * isolators) before the task runs. Tasks survive agent restarts and are found again by `recover`.
 *
 * @example
 * ```ts
 * import { createMesosContainerizer } from '@ippc/mesos-containerizer';
 * const containerizer = createMesosContainerizer({ runtimeDir: '/var/run/ippc', isolators: [] });
 * await containerizer.recover([]);
 * ```
 */
export { createMesosContainerizer, MesosContainerizer, type MesosContainerizerOptions } from './mesos-containerizer.js';
export { commandArgv } from './launch.js';
export { describeExit } from './termination.js';
export { HOLDER, NOT_STARTED_EXIT_CODE, SUPERVISOR } from './supervisor.js';
