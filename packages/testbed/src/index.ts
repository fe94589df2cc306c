/**
 * @ippc/testbed: a local multi-node ippc cluster on testcontainers.
 *
 * @example
 * ```ts
 * import { startCluster } from '@ippc/testbed';
 *
 * await using cluster = await startCluster({ agents: 2 });       // master, agents, IPAM, isolation, DNS
 * console.log(`ready after ${cluster.readyAfterMs} ms`, cluster.master.url);
 * const scheduler = await cluster.connectScheduler({ framework: { name: 'my-tests' } });
 * // ... launch tasks, read (await cluster.masterState()).frameworks[0].tasks ...
 * await scheduler.close();
 * // leaving the block removes every container, network and volume the cluster labelled
 * ```
 */
export * from './config.js';
export { attachCluster } from './attach.js';
export type { AgentNode, Cluster, RemoveReport, Service, StartedCluster } from './cluster.js';
export { startCluster } from './create/create.js';
export type { StartClusterOptions, StartPhase } from './create/options.js';
export { listClusters, type ClusterSummary } from './list.js';
export { removeCluster, removeResources } from './remove.js';
export { TestbedError, type TestbedErrorCode } from './errors.js';
export type { ExecOptions, ExecResult } from './docker-exec.js';
export { LABEL, OWNER, labelsFor } from './labels.js';
export type { ClusterNode, StopSignal } from './node.js';
export { PATHS, PORTS } from './plan/layout.js';
export { planCluster } from './plan/plan.js';
export type { ClusterPlan, DaemonName, DaemonSpec, NodeRole, NodeSpec, PlanOptions, Probe } from './plan/types.js';
export { startReaper, type Reaper, type ReaperOptions } from './reaper.js';
export { defaultWorkspaceDir, resolveBin, MOUNT, type BinRef } from './workspace.js';
