import type Docker from 'dockerode';
import type { AuthConfig } from '@ippc/core';
import type { AgentJson, MasterStateJson } from '@ippc/mesos';
import { connectScheduler, fetchMasterState, type Scheduler, type SchedulerOptions } from '@ippc/scheduler';
import type { AgentNode, Cluster, RemoveReport, Service } from './cluster.js';
import type { ClusterConfig } from './config.js';
import { TestbedError } from './errors.js';
import { until, type ClusterNode, type NodeHandle, type StopSignal } from './node.js';
import { PORTS } from './plan/layout.js';
import type { DaemonName, NodeSpec } from './plan/types.js';
import { removeResources } from './remove.js';

// The cluster over its nodes, for a cluster this process started and for one found again by name:
// its services and agents, `/master/state` and the waits on it, the logs, removal.

export interface ClusterHandleInit {
  docker: Docker;
  config: ClusterConfig;
  nodes: NodeHandle[];
  /** Agents' subnets and ports, by index. */
  agentLayout: Map<number, Pick<NodeSpec, 'subnets' | 'ports'>>;
  network: Cluster['network'];
  dockerNetworks: Cluster['dockerNetworks'];
  auth: AuthConfig;
}

const SERVICE_PORTS: Record<Exclude<DaemonName, 'agent'>, { grpc: number; http: number }> = {
  master: { grpc: PORTS.master, http: PORTS.master },
  ipam: { grpc: PORTS.ipamGrpc, http: PORTS.ipamHttp },
  isolation: { grpc: PORTS.isolationGrpc, http: PORTS.isolationHttp },
  dns: { grpc: PORTS.dns, http: PORTS.dnsHttp },
};

/** A {@link Cluster} over its nodes: what `startCluster` and `attachCluster` return. */
export class ClusterHandle implements Cluster {
  readonly name: string;
  readonly config: ClusterConfig;
  readonly auth: AuthConfig;
  readonly network: Cluster['network'];
  readonly dockerNetworks: Cluster['dockerNetworks'];
  readonly master: Service;
  readonly ipam: Service;
  readonly isolation: Service;
  readonly dns: Service;
  readonly agents: AgentNode[];
  readonly nodes: ClusterNode[];
  private readonly docker: Docker;

  constructor(init: ClusterHandleInit) {
    this.docker = init.docker;
    this.name = init.config.name;
    this.config = init.config;
    this.auth = init.auth;
    this.network = init.network;
    this.dockerNetworks = init.dockerNetworks;
    const service = (daemon: Exclude<DaemonName, 'agent'>): Service => {
      const node = init.nodes.find((n) => n.daemons.includes(daemon));
      if (!node) throw new TestbedError('TESTBED_CLUSTER_NOT_FOUND', `cluster '${this.name}' has no node running ${daemon}`);
      const ports = SERVICE_PORTS[daemon];
      return {
        daemon,
        node,
        address: node.address,
        grpcAddress: `${node.address}:${ports.grpc}`,
        url: `http://${node.address}:${ports.http}`,
        stop: (o) => node.stopDaemon(daemon, o),
        start: (o) => node.startDaemon(daemon, o),
      };
    };
    this.master = service('master');
    this.ipam = service('ipam');
    this.isolation = service('isolation');
    this.dns = service('dns');
    this.agents = init.nodes
      .filter((n) => n.role === 'agent')
      .sort((a, b) => (a.index ?? 0) - (b.index ?? 0))
      .map((node) => {
        node.extraReady = (n, _daemon, deadline) => this.waitForAgent(n.address, deadline);
        const layout = init.agentLayout.get(node.index ?? 0) ?? {};
        const agent = Object.assign(node, {
          index: node.index ?? 0,
          url: `http://${node.address}:${PORTS.agent}`,
          subnets: layout.subnets ?? {},
          ports: layout.ports ?? { first: 0, last: 0 },
          agentId: async () => {
            const a = findAgent(await this.masterState(), node.address);
            if (!a) throw new TestbedError('TESTBED_NOT_READY', `agent ${node.name} (${node.address}) is not registered with the master`);
            return a.id;
          },
          stop: (o: { signal?: StopSignal; timeoutMs?: number } = {}) => node.stopDaemon('agent', o),
          start: (o: { timeoutMs?: number } = {}) => node.startDaemon('agent', o),
          restart: async (o: { signal?: StopSignal; timeoutMs?: number } = {}) => {
            await node.stopDaemon('agent', o);
            await node.startDaemon('agent', o.timeoutMs ? { timeoutMs: o.timeoutMs } : {});
          },
        });
        return agent as unknown as AgentNode;
      });
    this.nodes = init.nodes;
  }

  async masterState(): Promise<MasterStateJson> {
    return (await fetchMasterState(this.master.url)).state;
  }

  connectScheduler(options: Omit<SchedulerOptions, 'master' | 'auth'> & { timeoutMs?: number }): Promise<Scheduler> {
    return connectScheduler({ ...options, master: this.master.grpcAddress, auth: this.auth });
  }

  /** Resolves once the master lists an active agent at `address` (follows the master's long poll). */
  private async waitForAgent(address: string, deadline: number): Promise<void> {
    await this.waitForState((s) => !!findAgent(s, address)?.active, `agent ${address} registered with the master`, deadline);
  }

  async waitForAgents(options: { timeoutMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    await this.waitForState(
      (s) => this.agents.every((a) => findAgent(s, a.address)?.active),
      `all ${this.agents.length} agents registered with the master`,
      deadline,
    );
  }

  /** Waits for a condition on `/master/state`, woken by the master's long poll rather than a timer. */
  private async waitForState(ok: (s: MasterStateJson) => boolean, what: string, deadline: number): Promise<void> {
    let since: number | undefined;
    await until(what, deadline, async () => {
      const left = Math.max(1, Math.min(5, Math.floor((deadline - Date.now()) / 1000)));
      const { state, version } = await fetchMasterState(this.master.url, since === undefined ? {} : { since, timeoutSeconds: left });
      since = version;
      return ok(state);
    });
  }

  async logs(options: { tail?: number } = {}): Promise<Record<string, string>> {
    const entries = await Promise.all(
      this.nodes.map(async (n) => [n.name, await n.logs(options).catch((e: Error) => `(cannot read the log of ${n.name}: ${e.message})`)] as const),
    );
    return Object.fromEntries(entries);
  }

  remove(): Promise<RemoveReport> {
    return removeResources(this.docker, this.name);
  }
}

function findAgent(state: MasterStateJson, address: string): AgentJson | undefined {
  return state.slaves.find((s) => s.pid?.endsWith(`@${address}:${PORTS.agent}`) || s.hostname === address);
}
