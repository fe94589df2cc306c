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
// The isolator, and the seams it runs on.
export { createNetworkIsolator, type DefaultContainerDns, type NetworkIsolator, type NetworkIsolatorOptions } from './isolator/isolator.js';
export { CniPluginError, NetworkIsolatorError, type NetworkIsolatorErrorCode, type PluginFailure } from './errors.js';
export { createNetworkConfigStore, type NetworkConfigStore, type NetworkConfigStoreOptions, type ResolvedNetwork } from './config-store.js';
export { createHostOps, type ContainerSetup, type FileBind, type HostOps, type HostOpsOptions } from './host/host-ops.js';
export { renderNetworkTemplates, type RenderNetworkTemplatesOptions } from './templates.js';

// The CNI runtime stands alone too: libcni's verbs on a conflist, plugins exec'd (or answered in
// process) behind one seam, results cached as libcni caches them.
export { createCniRuntime, type AddResult, type CniRuntime, type CniRuntimeOptions } from './cni/runtime.js';
export { createExecInvoker, type CniInvoker, type ExecInvokerOptions, type InProcessPlugin, type PluginOutput, type PluginRun } from './cni/invoker.js';
export { createDirectoryCache, createMemoryCache, type AttachmentKey, type CacheEntry, type CniResultCache } from './cni/cache.js';
export { networkConfigFromObject, parseNetworkConfig } from './cni/config.js';
export {
  SUPPORTED_CNI_VERSIONS,
  type CniDns,
  type CniErrorObject,
  type CniInterface,
  type CniIpConfig,
  type CniResult,
  type CniRoute,
  type CniVersion,
  type NetworkConfigList,
  type PluginConfig,
  type RuntimeConf,
} from './cni/types.js';
