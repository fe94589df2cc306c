/**
 * @ippc/docker-containerizer: tasks as Docker containers through the Engine API, with Mesos's
 * network modes (HOST, BRIDGE, NONE, USER), rules, messages and status reporting.
 *
 * @example
 * ```ts
 * import { createDockerContainerizer } from '@ippc/docker-containerizer';
 * const docker = createDockerContainerizer({ hostNetwork: 'host' });
 * await docker.recover([]);                       // reaps containers of this scope nobody knows
 * if (docker.supports(task.container)) {
 *   await docker.launch({ ...spec, sendStatus: (s) => console.log(s.state, s.containerStatus) });
 *   const end = await docker.wait(containerId);   // TASK_FINISHED / TASK_FAILED / TASK_KILLED
 * }
 * ```
 */
export {
  createDockerContainerizer,
  type DockerContainerizer,
  type DockerContainerizerOptions,
  type DockerContainerDescription,
} from './docker-containerizer.js';
export { createRunOptions, portRanges, type DockerRunOptions, type HostNetwork, type RunOptionsInput } from './run-options.js';
export { SUPPORTED_DOCKER_PARAMETERS, parseBytes } from './parameters.js';
export { addressesFromInspect, runningNetworkInfo, inspectData, type ContainerAddresses } from './inspect.js';
export { DockerContainerizerError, type DockerContainerizerErrorCode } from './errors.js';
// Published host ports at the agent's addresses, for an agent that is a container (the `hostPorts` option).
export type { HostPort, HostPortForwarder } from './host-ports/host-port-forwarder.js';
export { createNftHostPortForwarder, type NftHostPortForwarderOptions } from './host-ports/nft-host-port-forwarder.js';
export { containerName, OWNER_LABEL, OWNER_VALUE, SCOPE_LABEL } from './labels.js';
