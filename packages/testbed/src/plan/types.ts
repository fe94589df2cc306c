import type { ClusterConfig } from '../config.js';
import type { BinRef } from '../workspace.js';

// The plan's types: which containers, at which addresses, running which daemons with which flags.

/** One container each: the master, the services (IPAM, isolation provider, DNS), the agents. */
export type NodeRole = 'master' | 'services' | 'agent';

/** One process each, started and stopped on its own (several may share a node). */
export type DaemonName = 'master' | 'agent' | 'ipam' | 'isolation' | 'dns';

/** How a daemon says it is ready: HTTP 200 on a path, or gRPC health SERVING for a service. */
export type Probe = { http: { port: number; path: string } } | { grpc: { port: number; service: string } };

export interface DaemonSpec {
  /** Names the pid file (`/run/ippc/<name>.pid`). */
  name: DaemonName;
  argv: string[];
  probe: Probe;
}

export interface NodeSpec {
  role: NodeRole;
  /** Agents: 0-based. */
  index?: number;
  /** Container name: `ippc-<cluster>-<role>[-<index>]`. */
  name: string;
  /** On the cluster network. */
  address: string;
  /** On the cluster network's IPv6 subnet, when it has one. */
  address6?: string;
  labels: Record<string, string>;
  daemons: DaemonSpec[];
  /** Agents: NET_ADMIN + SYS_ADMIN, forwarding and bridge netfilter on, the Docker socket. */
  privileged: boolean;
  /** Files written into the container before it starts (CNI configs). */
  files: { path: string; content: string }[];
  /** Agents: each container network's subnet on this agent. */
  subnets?: Record<string, { ipv4: string; ipv6?: string }>;
  /** Agents: the `ports` range it offers. */
  ports?: { first: number; last: number };
  /** Added capabilities (agents: NET_ADMIN + SYS_ADMIN; the services node: NET_ADMIN for its routes). */
  capabilities: string[];
  /** Routes set in the node before its daemons start (the services node reaches containers' addresses: DNS answers them). */
  routes: { dst: string; via: string }[];
  /**
   * Agents: the cluster's Docker user networks the node joins besides the cluster network, so a
   * custom executor in a Docker container on one reaches the agent there (Docker drops traffic
   * between its networks). Its default route stays on the cluster network (see `routes`).
   */
  dockerNetworks?: string[];
  /** Named Docker volumes (labelled with the cluster) mounted into the node: an agent's work dir. */
  volumes: { name: string; target: string }[];
}

export interface ClusterPlan {
  name: string;
  networkName: string;
  subnet: string;
  gateway: string;
  nodes: NodeSpec[];
  /** Docker user networks for Docker USER-mode tasks, under the names tasks use in `network_infos[0].name`. */
  dockerNetworks: ClusterConfig['dockerNetworks'];
  masterAddress: string;
  servicesAddress: string;
}

export interface PlanOptions {
  workspaceDir: string;
  /** Test sessions: the reaper removes what carries it. */
  session?: string;
  /** Clusters that outlive their starter (`ippc cluster up`). */
  retain?: boolean;
  /** Overrides where a bin comes from (tests). */
  resolve?: (pkg: string, bin: string) => BinRef;
  /** The Docker daemon's root folder (`docker info`): where it keeps volumes, for Docker tasks' sandboxes. Default `/var/lib/docker`. */
  dockerRootDir?: string;
}

/** What the planning pieces share: the config and options, where bins come from, the fixed addresses. */
export interface PlanContext {
  config: ClusterConfig;
  options: PlanOptions;
  resolve: (pkg: string, bin: string) => BinRef;
  /** The address of a host number on the cluster subnet. */
  at(host: number): string;
  /** The same on the cluster's IPv6 subnet; undefined without one. */
  at6(host: number): string | undefined;
  master: string;
  services: string;
  noAuth: boolean;
}
