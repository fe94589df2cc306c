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
export { createIsolationNodeDaemon, type NodeDaemonStatus, type IsolationNodeDaemon, type IsolationNodeDaemonOptions } from './node-daemon/node-daemon.js';
export { expectedMatrix, runNetCheck, type CheckReport, type Endpoint, type EndpointKind, type Mismatch, type NetCheckOptions, type ProbeResult, type Prober, type RowStatus } from './check/check.js';
export { checkReportJson, formatCheckText } from './check/format.js';
export { createNamespaceProber, PROBE_AGENT_SOURCE, type NamespaceProber, type NamespaceProberOptions } from './check/namespace-prober.js';
export { renderCheckSvg, type Topology } from './check/svg.js';
export { createNetCheckCommand, type EndpointSpec, type NetCheckCommandOptions, type NetCheckTarget } from './cli/check.js';
export { createIsolationCommand, type IsolationCliOptions } from './cli/cli.js';
export { createIsolationClient, type IsolationClient, type IsolationClientOptions, type WatchHandle, type WatchHandlers } from './client.js';
export { DEFAULT_NODE_DAEMON_SOCKET, handleCni, SUPPORTED_CNI_VERSIONS, type CniBackend, type CniTrace, type IsolationPluginConfig } from './cni/handler.js';
/** One CNI call and its answer: @ippc/core's, which every thick plugin's daemon reads and writes. */
export type { CniRequest, CniResponse } from '@ippc/core';
export { createInProcessCniPlugin, type CniPluginOutput, type CniPluginRun, type InProcessCniTarget } from './cni/in-process.js';
export { installIsolationPlugin, type InstallIsolationPluginOptions, type IsolationPluginFlavor } from './cni/plugin.js';
export { createEnforcer, type ApplyOptions, type ApplyResult, type Enforcer, type EnforcerOptions, type EnforcerView } from './enforcer/enforcer.js';
export { compileRuleset, renderFull, type CompiledRuleset } from './enforcer/ruleset.js';
export { createCommandRunner, type CommandResult, type CommandRunner, type CommandRunnerOptions } from './enforcer/runner.js';
export { cniCodeOf, IsolationError, type IsolationErrorCode } from './errors.js';
export { canonicalAddress, parseCidr } from './ip.js';
export * from './model.js';
export { decide, routesFor, type Peer, type Traffic, type Verdict } from './policy.js';
export { createReuseGuard, type ReuseGuard, type ReuseGuardOptions } from './reuse-guard.js';
export { createIsolationService, ISOLATION_SERVICE_NAME, type IsolationService, type IsolationServiceOptions } from './service/service.js';
export { createPolicyStore, type AddressState, type AddressStatus, type AwaitResult, type ChangeResult, type GroupView, type PolicyStore, type PolicyStoreOptions } from './service/store/store.js';
export { applyDelta } from './state.js';
