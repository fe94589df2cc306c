/**
 * @ippc/network-isolator: the agent-side `network/cni` isolator (Mesos's, on a CNI runtime of its
 * own): CNI configs by canonical name from a folder, one interface per named NetworkInfo
 * (`eth0`, `eth1`, ...), real CNI plugins (spec 0.1.0 to 1.0.0, conflists, chaining,
 * capabilities), Mesos's checkpoints and recovery, `status()` into `ContainerStatus.network_infos`.
 *
 * @example
 * ```ts
 * import { createNetworkIsolator } from '@ippc/network-isolator';
 * const isolator = createNetworkIsolator({ configDir: '/etc/ippc/cni', pluginDirs: '/usr/lib/cni' });
 * await isolator.recover([], []);
 * const launch = await isolator.prepare({ containerId, executor, containerInfo, sandboxDirectory });
 * // ... create the task's process in launch.namespaces with launch.environment, hold it ...
 * await isolator.isolate(containerId, pid);
 * const { networkInfos } = await isolator.status(containerId);
 * await isolator.cleanup(containerId);
 * ```
 */
export { createNetworkIsolator } from './isolator/isolator.js';
export { capabilityArgsFor, BANDWIDTH_LABELS } from './isolator/request.js';
export type { NetworkIsolator, NetworkIsolatorOptions, DefaultContainerDns } from './isolator/isolator.js';
export { NetworkIsolatorError, CniPluginError } from './errors.js';
export type { NetworkIsolatorErrorCode, PluginFailure } from './errors.js';
export { createNetworkConfigStore } from './config-store.js';
export type { NetworkConfigStore, NetworkConfigStoreOptions, ResolvedNetwork } from './config-store.js';
export { createHostOps } from './host/host-ops.js';
export { parseNetDev } from './host/counters.js';
export type { HostOps, HostOpsOptions, ContainerSetup, FileBind } from './host/host-ops.js';
export { paths as checkpointPaths, createCheckpointCache } from './checkpoint.js';
export { formatHosts, formatResolvConf, mergeDns } from './files.js';
export { renderNetworkTemplates, NETWORK_TEMPLATE_VARIABLES } from './templates.js';
export type { RenderNetworkTemplatesOptions } from './templates.js';
// The CNI runtime stands alone too.
export { createCniRuntime, readCniError } from './cni/runtime.js';
export type { CniRuntime, CniRuntimeOptions, AddResult } from './cni/runtime.js';
export { createExecInvoker } from './cni/invoker.js';
export type { CniInvoker, ExecInvokerOptions, InProcessPlugin, PluginOutput, PluginRun } from './cni/invoker.js';
export { createDirectoryCache, createMemoryCache } from './cni/cache.js';
export type { CniResultCache, AttachmentKey, CacheEntry } from './cni/cache.js';
export { parseNetworkConfig, networkConfigFromObject, pluginRequest, injectArgs, requiredPlugins, declaredCapabilities, stringifySorted } from './cni/config.js';
export type { InjectArgsMessages } from './cni/config.js';
export { parseResult, formatResult } from './cni/result.js';
/** @ippc/core's readers of CNI results and addresses, under the names this entry always had. */
export { compareVersions, containerAddresses, stripPrefix, ipFamily } from '@ippc/core';
export * from './cni/types.js';
