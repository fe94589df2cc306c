import { agentPorts, agentSubnet, agentSubnet6 } from '../config.js';
import { LABEL } from '../labels.js';
import { AGENT_NETWORKS, containerNetworkConflist } from './cni.js';
import { HOST, PATHS, PORTS } from './layout.js';
import type { DaemonSpec, NodeSpec, PlanContext } from './types.js';

/** Agent `i` as planned: its node (all but what every node has) and the routes the services node needs to its containers. */
export interface AgentPlan {
  address: string;
  daemon: DaemonSpec;
  node: Partial<NodeSpec>;
  /** Its container subnets, each via this agent. */
  routes: { dst: string; via: string }[];
}

/** Agent `i`: its address, port slice and container subnets, its flags, the CNI configs the testbed writes, its work-dir volume. */
export function planAgent(pc: PlanContext, i: number): AgentPlan {
  const { config } = pc;
  const address = pc.at(HOST.firstAgent + i);
  const name = `ippc-${config.name}-agent-${i}`;
  const ports = agentPorts(config, i);
  const subnets = Object.fromEntries(
    config.containerNetworks.map((n) => [n.name, { ipv4: agentSubnet(n.cidr, i), ...(n.ipv6Cidr ? { ipv6: agentSubnet6(n.ipv6Cidr, i) } : {}) }]),
  );
  const address6 = pc.at6(HOST.firstAgent + i);
  const routes: { dst: string; via: string }[] = [];
  for (const s of Object.values(subnets)) {
    routes.push({ dst: s.ipv4, via: address });
    // IPv6 container subnets are routed (and announced to isolation) through the agent's IPv6 address.
    if (s.ipv6 && address6) routes.push({ dst: s.ipv6, via: address6 });
  }
  // The agent writes its default networks itself; others (another name, a small pool, a cool-down of their own) the testbed writes.
  const byAgent = config.containerNetworks.filter((n) => {
    const d = AGENT_NETWORKS[n.name];
    return d && d.type === n.type && d.ipam === n.ipam && !n.hostsPerAgent && n.cooldownSeconds === undefined;
  });
  const own = config.containerNetworks.filter((n) => !byAgent.includes(n));
  const install = byAgent.map((n) => `${n.name}=${[subnets[n.name]!.ipv4, ...(subnets[n.name]!.ipv6 ? [subnets[n.name]!.ipv6!] : [])].join(',')}`).join(';');
  const routedSubnets = Object.values(subnets).flatMap((s) => [s.ipv4, ...(s.ipv6 && address6 ? [s.ipv6] : [])]);
  const volume = `${name}-work`;
  const dockerNetworks = config.dockerNetworks.map((n) => n.name);
  const daemon = agentDaemon(pc, { name, address, ...(address6 ? { address6 } : {}), portsText: ports.text, install, routedSubnets, volume });
  const files = own.map((n) => ({
    path: `${PATHS.cniConfigDir}/${n.name}.conflist`,
    content: JSON.stringify(containerNetworkConflist(n, config.containerNetworks.indexOf(n), subnets[n.name]!), null, 2),
  }));
  return {
    address,
    daemon,
    routes,
    node: {
      index: i,
      privileged: true,
      capabilities: ['NET_ADMIN', 'SYS_ADMIN'],
      subnets,
      ports: { first: ports.first, last: ports.last },
      files,
      volumes: [{ name: volume, target: PATHS.agentWorkDir }],
      dockerNetworks,
      // Docker makes the gateway of the network first by name the default route when a container
      // joins more than one: the cluster network's gateway stays the agent's way out.
      routes: dockerNetworks.length > 0 ? [{ dst: 'default', via: pc.at(HOST.gateway) }] : [],
    },
  };
}

/** The agent daemon's flags: IP-per-container built in, Docker tasks as the cluster's siblings. */
function agentDaemon(
  pc: PlanContext,
  agent: { name: string; address: string; address6?: string; portsText: string; install: string; routedSubnets: string[]; volume: string },
): DaemonSpec {
  const { config, options, master, services, noAuth } = pc;
  const { name, address, address6, install, routedSubnets, volume } = agent;
  const dns = JSON.stringify({ mesos: [{ network_mode: 'CNI', dns: { nameservers: [services] } }] });
  const dockerRoot = options.dockerRootDir ?? '/var/lib/docker';
  const dockerLabels = [
    `${LABEL.owner}=ippc`,
    `${LABEL.cluster}=${config.name}`,
    `${LABEL.role}=task`,
    ...(options.session ? [`${LABEL.session}=${options.session}`] : []),
  ];
  return {
    name: 'agent',
    probe: { http: { port: PORTS.agent, path: '/health' } },
    argv: [
      ...pc.resolve('node', 'ippc-agent').argv,
      `--master=${master}:${PORTS.master}`,
      // Listening on every address (the cluster network's, and the Docker user networks' where
      // executors in Docker containers reach the agent), advertising the cluster address.
      '--ip=0.0.0.0',
      `--advertise_ip=${address}`,
      ...(address6 ? [`--ip6=${address6}`] : []),
      `--port=${PORTS.agent}`,
      `--hostname=${address}`,
      `--work_dir=${PATHS.agentWorkDir}`,
      `--resources=${config.agent.resources};ports:${agent.portsText}`,
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
      // namespace, the host ports the daemon publishes on the machine (the cluster network's
      // gateway) are forwarded to the agent's address and localhost, sandboxes live in the work
      // dir's volume, and they carry the cluster's labels.
      '--docker_socket=/var/run/docker.sock',
      `--docker_host_network=container:${name}`,
      `--docker_host_ports_via=${pc.at(HOST.gateway)}`,
      `--docker_work_dir_host_path=${dockerRoot}/volumes/${volume}/_data`,
      `--docker_scope=${name}`,
      `--docker_labels=${dockerLabels.join(';')}`,
      '--executor_shutdown_grace_period=2secs',
      '--registration_backoff_factor=100ms',
      '--status_update_retry_interval=2secs',
      ...(noAuth ? ['--no_auth'] : []),
    ],
  };
}
