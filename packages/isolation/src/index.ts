/**
 * @ippc/isolation: the isolation provider. Reachability policy between `NetworkInfo.groups`,
 * membership of container addresses, routes between agents' container subnets, enforcement on
 * every agent (nftables sets + `ip route`), the chained CNI plugin `ippc-isolation`, the IPAM
 * reuse seam, operator verbs, and the reachability check behind `ippc net check`.
 *
 * @example
 * ```ts
 * import { createIsolationService, createIsolationClient, createIsolationNodeDaemon, installIsolationPlugin } from '@ippc/isolation';
 *
 * // The service (one per cluster):
 * const service = await createIsolationService({ auth: { token } });
 * await service.listen('0.0.0.0:7070');
 *
 * // The node daemon (one per agent, in the agent's network namespace):
 * const client = createIsolationClient({ address: 'isolation:7070', auth: { token } });
 * const daemon = createIsolationNodeDaemon({ agent: { id: 'agent1', nodeAddresses: ['10.240.0.11'], subnets: ['10.240.1.0/24'] }, client });
 * await daemon.start(); // serves the ippc-isolation CNI plugin on /run/ippc/isolation.sock
 * installIsolationPlugin({ dir: '/opt/cni/bin' }); // the plugin executable (static C forwarder)
 *
 * // An operator rule, effective on every agent:
 * const { revision } = await client.addRule({ from: 'web', to: 'db', ports: ['5432/tcp'] });
 * await client.awaitApplied(revision, 5_000);
 * ```
 */
// For users of the isolation provider: the service, the node daemon, the client, the plugin, the
// operator's command and the reachability check.
export { createIsolationService, ISOLATION_SERVICE_NAME, type IsolationService, type IsolationServiceOptions } from './service/service.js';
export { createIsolationNodeDaemon, type IsolationNodeDaemon, type IsolationNodeDaemonOptions, type NodeDaemonStatus } from './node-daemon/node-daemon.js';
export { createIsolationClient, type IsolationClient, type IsolationClientOptions, type WatchHandle, type WatchHandlers } from './client.js';
export { installIsolationPlugin, type InstallIsolationPluginOptions, type IsolationPluginFlavor } from './cni/plugin.js';
export { DEFAULT_NODE_DAEMON_SOCKET, SUPPORTED_CNI_VERSIONS, type IsolationPluginConfig } from './cni/handler.js';
export { createIsolationCommand, type IsolationCliOptions } from './cli/cli.js';
export { createNetCheckCommand, type EndpointSpec, type NetCheckCommandOptions, type NetCheckTarget } from './cli/check.js';
export {
  expectedMatrix,
  runNetCheck,
  type CheckReport,
  type Endpoint,
  type EndpointKind,
  type Mismatch,
  type NetCheckOptions,
  type ProbeResult,
  type Prober,
  type RowStatus,
} from './check/check.js';
export { createNamespaceProber, PROBE_AGENT_SOURCE, type NamespaceProber, type NamespaceProberOptions } from './check/namespace-prober.js';
export { checkReportJson, formatCheckText } from './check/format.js';
export { renderCheckSvg, type Topology } from './check/svg.js';
export { createReuseGuard, type ReuseGuard, type ReuseGuardOptions } from './reuse-guard.js';
export { decide, type Peer, type Traffic, type Verdict } from './policy.js';
export {
  ANY,
  PUBLIC_GROUP,
  type AgentInfo,
  type AgentSpec,
  type Member,
  type MemberKey,
  type PortRange,
  type Rule,
  type RuleAction,
  type RuleInput,
  type RuleProtocol,
} from './model.js';
export { IsolationError, type IsolationErrorCode } from './errors.js';

// For other ippc packages: the agent's in-process answer to the chained plugin, and the member
// normalization the IPAM reuse seam shares.
export { createInProcessCniPlugin, type CniPluginOutput, type CniPluginRun, type InProcessCniTarget } from './cni/in-process.js';
export { normalizeMember } from './model.js';
