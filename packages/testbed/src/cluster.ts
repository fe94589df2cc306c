import type { AuthConfig } from '@ippc/core';
import type { MasterStateJson } from '@ippc/mesos';
import type { Scheduler, SchedulerOptions } from '@ippc/scheduler';
import type { ClusterConfig } from './config.js';
import type { ClusterNode, StopSignal } from './node.js';
import type { DaemonName } from './plan/types.js';

// What a cluster is to its users: the handles `startCluster` and `attachCluster` return.

/** An agent node: its `/state`, its slice of ports and subnets, its id at the master. */
export interface AgentNode extends ClusterNode {
  readonly index: number;
  /** `http://<address>:5051` (`/state`, `/health`, `/metrics`). */
  readonly url: string;
  /** Each container network's subnet on this agent. */
  readonly subnets: Record<string, { ipv4: string; ipv6?: string }>;
  /** The host ports it offers. */
  readonly ports: { first: number; last: number };
  /** Its agent id at the master (`<master id>-S<n>`), read from `/master/state`. */
  agentId(): Promise<string>;
  /** Stops the agent process; its tasks keep running (`SIGKILL`: a crash). */
  stop(options?: { signal?: StopSignal; timeoutMs?: number }): Promise<void>;
  /** Starts the agent process again; resolves once it answers and is registered with the master. */
  start(options?: { timeoutMs?: number }): Promise<void>;
  /** `stop` then `start`. */
  restart(options?: { signal?: StopSignal; timeoutMs?: number }): Promise<void>;
}

/** A component daemon reachable on the cluster network: the master, the IPAM, the isolation provider, DNS. */
export interface Service {
  readonly daemon: DaemonName;
  /** The container it runs in (the IPAM, the isolation provider and DNS share the services node). */
  readonly node: ClusterNode;
  /** The node's address on the cluster network. */
  readonly address: string;
  /** `host:port` of its gRPC API (the master serves HTTP on the same port); DNS: its UDP/TCP port. */
  readonly grpcAddress: string;
  /** Base URL of its HTTP endpoints (`/health`, `/metrics`; the master's `/master/state`). */
  readonly url: string;
  /** Stops the daemon (a crash with `SIGKILL`); the container stays. */
  stop(options?: { signal?: StopSignal; timeoutMs?: number }): Promise<void>;
  /** Starts it again and waits until it is ready. */
  start(options?: { timeoutMs?: number }): Promise<void>;
}

/** A running cluster, started by {@link startCluster} or found again by {@link attachCluster}. */
export interface Cluster {
  readonly name: string;
  readonly config: ClusterConfig;
  /** What frameworks and tools present to the components (a shared token, or disabled). */
  readonly auth: AuthConfig;
  readonly network: { id: string; name: string; subnet: string; gateway: string };
  readonly master: Service;
  readonly ipam: Service;
  readonly isolation: Service;
  /** DNS on port 53 (UDP and TCP) at `dns.address`; `/health` at `dns.url`. */
  readonly dns: Service;
  readonly agents: AgentNode[];
  /** Every container: master, services, agents. */
  readonly nodes: ClusterNode[];
  /** Docker user networks created with the cluster (for Docker USER tasks). */
  readonly dockerNetworks: { name: string; id: string; subnet: string; ipv6Subnet?: string }[];
  /** `GET /master/state` (the Mesos JSON model). */
  masterState(): Promise<MasterStateJson>;
  /** A framework connected to this cluster's master with its credentials. */
  connectScheduler(options: Omit<SchedulerOptions, 'master' | 'auth'> & { timeoutMs?: number }): Promise<Scheduler>;
  /** Resolves when every agent is registered and active at the master. */
  waitForAgents(options?: { timeoutMs?: number }): Promise<void>;
  /** Every node's log (never throws: a node that cannot be read says why). */
  logs(options?: { tail?: number }): Promise<Record<string, string>>;
  /** Removes every container, network and volume labelled with this cluster. */
  remove(): Promise<RemoveReport>;
}

/** A cluster this process started; disposing it removes it (`await using cluster = await startCluster()`). */
export interface StartedCluster extends Cluster, AsyncDisposable {
  /** Time from the call to every component ready. */
  readonly readyAfterMs: number;
  /** Per phase, in milliseconds. */
  readonly timings: Record<string, number>;
  /** Same as `remove()`, then releases the session reaper. Never throws over a first error. */
  stop(): Promise<RemoveReport>;
}

export interface RemoveReport {
  containers: number;
  networks: number;
  volumes: number;
  errors: string[];
}
