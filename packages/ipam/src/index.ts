/**
 * @ippc/ipam: the IPAM service of ippc — assigns addresses on demand, recycles them after a
 * cool-down, persists them (LMDB by default, etcd when hosts share one IPAM), never duplicates —
 * with its typed gRPC client and the node daemon behind the `ippc-ipam` CNI IPAM plugin.
 *
 * @example
 * ```ts
 * import { createEmbeddedStore, createIpamService, createIpamServer, createIpamClient } from '@ippc/ipam';
 * const service = createIpamService({ store: createEmbeddedStore({ path: '/var/lib/ippc/ipam' }), cooldownMs: 30_000 });
 * const server = createIpamServer({ service, auth: { token: 's3cret' } });
 * const port = await server.listen('127.0.0.1:0');
 * const ipam = createIpamClient({ address: `127.0.0.1:${port}`, auth: { token: 's3cret' } });
 * await ipam.ensurePool({ network: 'blue', ranges: [{ subnet: '10.210.1.0/24' }] });
 * const { lease } = await ipam.allocate({ handle: { network: 'blue', containerId: 'c1', ifName: 'eth0' } });
 * await ipam.release(lease.handle, lease.epoch);
 * ```
 */
export * from './types.js';
export { IPAM_ERROR_CODES, IpamError, isIpamError, toIpamError, type IpamErrorCode } from './errors.js';
export { createIpamService, type IpamService, type IpamServiceOptions, type ReuseCandidate, type ReuseGuard } from './service.js';
export { createIpamServer, IPAM_SERVICE_NAME, type IpamServer, type IpamServerOptions } from './server.js';
export { createIpamClient, type IpamClient, type IpamClientOptions } from './client.js';
export type { IpamStore, StoreCondition, StoreEntry, StoreWrite, CommitResult } from './store/store.js';
export { createEmbeddedStore, type EmbeddedStoreOptions } from './store/embedded-store.js';
export { createEtcdStore, type EtcdStoreOptions } from './store/etcd-store.js';
export { SUPPORTED_CNI_VERSIONS, createCniHandler, type CniHandler, type CniHandlerOptions, type CniResponse } from './cni/cni-handler.js';
export { CNI_ERROR_CODES } from './cni/cni-errors.js';
export { formatResult } from './cni/result.js';
/** One CNI call (the plugin's environment and stdin): @ippc/core's, which every thick plugin's daemon reads. */
export type { CniRequest } from '@ippc/core';
export { DEFAULT_DAEMON_SOCKET, createIpamNodeDaemon, type IpamNodeDaemon, type IpamNodeDaemonOptions } from './cni/node-daemon.js';
export { PLUGIN_SOURCES, installIpamPlugin, type InstallPluginOptions, type PluginFlavor } from './cni/plugin.js';
export { DEFAULT_CONFIG, loadConfigFile, parseConfig, type IpamServerConfig } from './config.js';
