/**
 * @ippc/node: an ippc node, as the `ippc-agent` executable runs it — the agent core (@ippc/agent)
 * with its containerizers (`--containerizers=mesos,docker`, and more from `--modules`), the
 * network/cni isolator, the IPAM and isolation node daemons in the same process, ippc's CNI plugins
 * and the default networks. This entry is for module writers and embedders.
 *
 * @example
 * ```ts
 * // my-modules.ts, loaded with `ippc-agent --modules=./my-modules.ts --isolation=my/isolator`
 * import type { IsolatorFactory } from '@ippc/node';
 * export const isolators: Record<string, IsolatorFactory> = { 'my/isolator': (ctx) => createMyIsolator(ctx.flags) };
 * ```
 */
export {
  BUILTIN_MODULES,
  buildContainerizers,
  loadModules,
  resolveIsolation,
  type AgentModules,
  type ContainerizerFactory,
  type IsolatorFactory,
  type ModuleContext,
} from './modules.js';
export { startNodeServices, type IpamDaemonOptions, type IsolationDaemonOptions, type NodeServices, type NodeServicesOptions } from './node-services.js';
export { DEFAULT_NETWORKS, installDefaultNetworks, parseNetworkSubnets, type DefaultNetworkName, type DefaultNetworksOptions } from './cni-networks.js';

// The flags of `ippc-agent`, read the way Mesos's agent reads them.
export { createCniIsolatorFromFlags, parseDefaultContainerDns, type CniFlags } from './cni-options.js';
export { createDockerFromFlags, type DockerFlags } from './docker-options.js';
export { agentResources, parseAttributes } from './agent-flags.js';
