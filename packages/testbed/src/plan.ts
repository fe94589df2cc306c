import { agentPorts, agentSubnet, agentSubnet6, hostAddress, type ClusterConfig } from './config.js';
import { LABEL, labelsFor } from './labels.js';
import { resolveBin, type BinRef } from './workspace.js';

// The cluster as data: which containers, at which addresses, running which daemons with which
// flags. Pure (no Docker), so the whole layout is checked by unit tests; `startCluster` executes it.

/** One container each: the master, the services (IPAM, isolation provider, DNS), the agents. */
export type NodeRole = 'master' | 'services' | 'agent';

/** One process each, started and stopped on its own (several may share a node). */
export type DaemonName = 'master' | 'agent' | 'ipam' | 'isolation' | 'dns';

/** Well-known ports inside the nodes (Mesos's for master and agent). */
export const PORTS = {
  master: 5050,
  agent: 5051,
  ipamGrpc: 7460,
  ipamHttp: 7461,
  isolationGrpc: 7070,
  isolationHttp: 7071,
  dns: 53,
  dnsHttp: 8053,
} as const;

/** Host numbers on the cluster subnet: .1 is Docker's gateway; agents from .11 on. */
const HOST = { master: 2, services: 3, firstAgent: 11 } as const;

/** Inside every node: work dirs and pid files. */
export const PATHS = {
  run: '/run/ippc',
  agentWorkDir: '/var/lib/ippc/agent',
  ipamData: '/var/lib/ippc/ipam',
  isolationData: '/var/lib/ippc/isolation/state.json',
  cniConfigDir: '/etc/ippc/cni',
} as const;

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
}

/** Lays out a cluster: nodes, addresses, daemons and their flags, labels, CNI configs. */
export function planCluster(config: ClusterConfig, options: PlanOptions): ClusterPlan {
  const resolve = options.resolve ?? ((pkg: string, bin: string) => resolveBin(options.workspaceDir, pkg, bin));
  const subnet = config.network.subnet;
  const at = (host: number) => hostAddress(subnet, host);
  const master = at(HOST.master);
  const services = at(HOST.services);
  const noAuth = config.auth.disabled;
  const node = (role: NodeRole, address: string, daemons: DaemonSpec[], extra: Partial<NodeSpec> = {}): NodeSpec => ({
    role,
    name: `ippc-${config.name}-${role}${extra.index !== undefined ? `-${extra.index}` : ''}`,
    address,
    labels: {
      ...labelsFor(config.name, role, options.session, options.retain),
      [LABEL.address]: address,
      [LABEL.daemons]: JSON.stringify(daemons),
      ...(extra.index !== undefined ? { [LABEL.index]: String(extra.index) } : {}),
    },
    daemons,
    privileged: false,
    files: [],
    ...extra,
  });

  const nodes: NodeSpec[] = [];
  nodes.push(
    node('master', master, [
      {
        name: 'master',
        argv: [
          ...resolve('master', 'ippc-master').argv,
          '--ip=0.0.0.0',
          `--advertise_ip=${master}`,
          `--port=${PORTS.master}`,
          `--allocation_interval=${config.master.allocationInterval}`,
          ...(noAuth ? ['--no_auth'] : []),
        ],
        probe: { http: { port: PORTS.master, path: '/health' } },
      },
    ]),
  );
  nodes.push(
    node('services', services, [
      {
        name: 'ipam',
        argv: [
          ...resolve('ipam', 'ippc-ipam-server').argv,
          `--listen=0.0.0.0:${PORTS.ipamGrpc}`,
          `--http=0.0.0.0:${PORTS.ipamHttp}`,
          `--data-dir=${PATHS.ipamData}`,
          `--cooldown-seconds=${config.ipam.cooldownSeconds}`,
          ...(noAuth ? ['--no-auth'] : []),
        ],
        probe: { grpc: { port: PORTS.ipamGrpc, service: 'ippc.ipam.v1.Ipam' } },
      },
      {
        name: 'isolation',
        argv: [
          ...resolve('isolation', 'ippc-isolation-server').argv,
          `--listen=0.0.0.0:${PORTS.isolationGrpc}`,
          `--metrics-listen=0.0.0.0:${PORTS.isolationHttp}`,
          `--data-file=${PATHS.isolationData}`,
          ...(noAuth ? ['--no-auth'] : []),
        ],
        probe: { grpc: { port: PORTS.isolationGrpc, service: 'ippc.isolation.v1.Isolation' } },
      },
      {
        name: 'dns',
        argv: [
          ...resolve('dns', 'ippc-dns').argv,
          `--master=http://${master}:${PORTS.master}`,
          `--domain=${config.dns.domain}`,
          `--listen=0.0.0.0:${PORTS.dns}`,
          `--http=0.0.0.0:${PORTS.dnsHttp}`,
          '--refresh=500ms',
          '--json',
        ],
        // 200 once it has read the master's state (503 before).
        probe: { http: { port: PORTS.dnsHttp, path: '/health' } },
      },
    ]),
  );
  for (let i = 0; i < config.agents; i++) {
    const address = at(HOST.firstAgent + i);
    const ports = agentPorts(config, i);
    const subnets = Object.fromEntries(
      config.containerNetworks.map((n) => [n.name, { ipv4: agentSubnet(n.cidr, i), ...(n.ipv6Cidr ? { ipv6: agentSubnet6(n.ipv6Cidr, i) } : {}) }]),
    );
    const daemon: DaemonSpec = {
      name: 'agent',
      probe: { http: { port: PORTS.agent, path: '/health' } },
      argv: [
        ...resolve('agent', 'ippc-agent').argv,
        `--master=${master}:${PORTS.master}`,
        `--ip=${address}`,
        `--port=${PORTS.agent}`,
        `--hostname=${address}`,
        `--work_dir=${PATHS.agentWorkDir}`,
        `--resources=${config.agent.resources};ports:${ports.text}`,
        // Until the agent embeds the CNI isolator and the Docker containerizer, it runs what it has.
        '--containerizers=mesos',
        '--registration_backoff_factor=100ms',
        '--status_update_retry_interval=2secs',
        ...(noAuth ? ['--no_auth'] : []),
      ],
    };
    nodes.push(node('agent', address, [daemon], { index: i, privileged: true, subnets, ports: { first: ports.first, last: ports.last } }));
  }
  return {
    name: config.name,
    networkName: `ippc-${config.name}`,
    subnet,
    gateway: at(1),
    nodes,
    dockerNetworks: config.dockerNetworks,
    masterAddress: master,
    servicesAddress: services,
  };
}

/** Checks that the cluster subnet holds the fixed addresses and every agent. */
export function maxAgentsFor(subnet: string): number {
  const prefix = Number(subnet.split('/')[1]);
  return 2 ** (32 - prefix) - 1 - HOST.firstAgent;
}
