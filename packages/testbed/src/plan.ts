import { agentPorts, agentSubnet, agentSubnet6, hostAddress, hostAddress6, type ClusterConfig } from './config.js';
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
  /** Where the agent installs ippc's CNI plugins (first in its plugin search path). */
  cniPluginDir: '/var/lib/ippc/cni/bin',
  /** Debian's CNI plugins in the node image. */
  debianCniPlugins: '/usr/lib/cni',
  ipamSocket: '/run/ippc/ipam.sock',
  isolationSocket: '/run/ippc/isolation.sock',
} as const;

/** The default networks the agent writes itself (`--install_cni_networks`), with their plugin and IPAM. */
const AGENT_NETWORKS: Record<string, { type: 'bridge' | 'ptp'; ipam: 'ippc-ipam' | 'host-local' }> = {
  'ippc-bridge': { type: 'bridge', ipam: 'ippc-ipam' },
  'ippc-ptp': { type: 'ptp', ipam: 'ippc-ipam' },
  'ippc-local': { type: 'bridge', ipam: 'host-local' },
};

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

/** A CNI network the testbed writes itself (a name or settings the agent's default networks do not cover). */
export function containerNetworkConflist(net: ClusterConfig['containerNetworks'][number], index: number, subnets: { ipv4: string; ipv6?: string }): Record<string, unknown> {
  const range = (subnet: string) => ({
    subnet,
    ...(net.hostsPerAgent && !subnet.includes(':') ? { rangeStart: hostAddress(subnet, 2), rangeEnd: hostAddress(subnet, 1 + net.hostsPerAgent) } : {}),
  });
  const ranges = [[range(subnets.ipv4)], ...(subnets.ipv6 ? [[range(subnets.ipv6)]] : [])];
  const routes = [{ dst: '0.0.0.0/0' }, ...(subnets.ipv6 ? [{ dst: '::/0' }] : [])];
  const ipam =
    net.ipam === 'ippc-ipam'
      ? { type: 'ippc-ipam', ranges, routes, daemonSocket: PATHS.ipamSocket }
      : { type: 'host-local', ranges, routes, dataDir: `${PATHS.agentWorkDir}/cni/networks` };
  // ipMasq off: containers keep their own source address across agents (groups are enforced by it).
  const main = net.type === 'bridge' ? { type: 'bridge', bridge: `ippcn${index}`, isGateway: true, ipMasq: false, hairpinMode: true, ipam } : { type: 'ptp', ipMasq: false, mtu: 1500, ipam };
  return {
    cniVersion: '1.0.0',
    name: net.name,
    plugins: [main, { type: 'ippc-isolation', socket: PATHS.isolationSocket }, { type: 'portmap', capabilities: { portMappings: true }, snat: true }],
  };
}

/** Lays out a cluster: nodes, addresses, daemons and their flags, labels, CNI configs. */
export function planCluster(config: ClusterConfig, options: PlanOptions): ClusterPlan {
  const resolve = options.resolve ?? ((pkg: string, bin: string) => resolveBin(options.workspaceDir, pkg, bin));
  const subnet = config.network.subnet;
  const at = (host: number) => hostAddress(subnet, host);
  const subnet6 = config.network.ipv6Subnet;
  const at6 = (host: number) => (subnet6 ? hostAddress6(subnet6, host) : undefined);
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
    ...(at6(hostOf(address)) ? { address6: at6(hostOf(address))! } : {}),
    privileged: false,
    files: [],
    capabilities: [],
    routes: [],
    volumes: [],
    ...extra,
  });

  const hostOf = (address: string) => Number(address.split('.').pop()) - Number(hostAddress(subnet, 0).split('.').pop());
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
  const dns = JSON.stringify({ mesos: [{ network_mode: 'CNI', dns: { nameservers: [services] } }] });
  const dockerRoot = options.dockerRootDir ?? '/var/lib/docker';
  const agentRoutes: { dst: string; via: string }[] = [];
  for (let i = 0; i < config.agents; i++) {
    const address = at(HOST.firstAgent + i);
    const name = `ippc-${config.name}-agent-${i}`;
    const ports = agentPorts(config, i);
    const subnets = Object.fromEntries(
      config.containerNetworks.map((n) => [n.name, { ipv4: agentSubnet(n.cidr, i), ...(n.ipv6Cidr ? { ipv6: agentSubnet6(n.ipv6Cidr, i) } : {}) }]),
    );
    const address6 = at6(HOST.firstAgent + i);
    for (const s of Object.values(subnets)) {
      agentRoutes.push({ dst: s.ipv4, via: address });
      // IPv6 container subnets are routed (and announced to isolation) through the agent's IPv6 address.
      if (s.ipv6 && address6) agentRoutes.push({ dst: s.ipv6, via: address6 });
    }
    // The agent writes its default networks itself; others (another name, a small pool) the testbed writes.
    const byAgent = config.containerNetworks.filter((n) => {
      const d = AGENT_NETWORKS[n.name];
      return d && d.type === n.type && d.ipam === n.ipam && !n.hostsPerAgent;
    });
    const own = config.containerNetworks.filter((n) => !byAgent.includes(n));
    const install = byAgent.map((n) => `${n.name}=${[subnets[n.name]!.ipv4, ...(subnets[n.name]!.ipv6 ? [subnets[n.name]!.ipv6!] : [])].join(',')}`).join(';');
    const routedSubnets = Object.values(subnets).flatMap((s) => [s.ipv4, ...(s.ipv6 && address6 ? [s.ipv6] : [])]);
    const volume = `${name}-work`;
    const dockerLabels = [`${LABEL.owner}=ippc`, `${LABEL.cluster}=${config.name}`, `${LABEL.role}=task`, ...(options.session ? [`${LABEL.session}=${options.session}`] : [])];
    const daemon: DaemonSpec = {
      name: 'agent',
      probe: { http: { port: PORTS.agent, path: '/health' } },
      argv: [
        ...resolve('agent', 'ippc-agent').argv,
        `--master=${master}:${PORTS.master}`,
        `--ip=${address}`,
        ...(address6 ? [`--ip6=${address6}`] : []),
        `--port=${PORTS.agent}`,
        `--hostname=${address}`,
        `--work_dir=${PATHS.agentWorkDir}`,
        `--resources=${config.agent.resources};ports:${ports.text}`,
        `--containerizers=${config.agent.containerizers.join(',')}`,
        // IP-per-container: Mesos's network/cni with ippc's plugins, the IPAM node daemon and the
        // isolation node daemon in the agent's process (routes to the other agents' subnets).
        '--isolation=network/cni',
        `--network_cni_config_dir=${PATHS.cniConfigDir}`,
        `--network_cni_plugins_dir=${PATHS.cniPluginDir}:${PATHS.debianCniPlugins}`,
        `--install_cni_plugins=${PATHS.cniPluginDir}`,
        ...(install ? [`--install_cni_networks=${install}`] : []),
        `--ipam_service=${services}:${PORTS.ipamGrpc}`,
        `--ipam_socket=${PATHS.ipamSocket}`,
        `--isolation_service=${services}:${PORTS.isolationGrpc}`,
        `--isolation_socket=${PATHS.isolationSocket}`,
        `--isolation_subnets=${routedSubnets.join(',')}`,
        // Containers resolve <task>.<framework>.<domain> through the cluster's DNS.
        `--default_container_dns=${dns}`,
        // Docker tasks are siblings on the machine's daemon: HOST means the agent's own network
        // namespace, sandboxes live in the work dir's volume, and they carry the cluster's labels.
        '--docker_socket=/var/run/docker.sock',
        `--docker_host_network=container:${name}`,
        `--docker_work_dir_host_path=${dockerRoot}/volumes/${volume}/_data`,
        `--docker_scope=${name}`,
        `--docker_labels=${dockerLabels.join(';')}`,
        '--executor_shutdown_grace_period=2secs',
        '--registration_backoff_factor=100ms',
        '--status_update_retry_interval=2secs',
        ...(noAuth ? ['--no_auth'] : []),
      ],
    };
    const files = own.map((n) => ({ path: `${PATHS.cniConfigDir}/${n.name}.conflist`, content: JSON.stringify(containerNetworkConflist(n, config.containerNetworks.indexOf(n), subnets[n.name]!), null, 2) }));
    nodes.push(
      node('agent', address, [daemon], {
        index: i,
        privileged: true,
        capabilities: ['NET_ADMIN', 'SYS_ADMIN'],
        subnets,
        ports: { first: ports.first, last: ports.last },
        files,
        volumes: [{ name: volume, target: PATHS.agentWorkDir }],
      }),
    );
  }
  // DNS answers containers at their own addresses: the services node routes each agent's subnets to it.
  const servicesNode = nodes.find((n) => n.role === 'services')!;
  servicesNode.capabilities = ['NET_ADMIN'];
  servicesNode.routes = agentRoutes;
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
