import { parseCidr, parseIp } from '@ippc/core';
import { hostAddress, hostAddress6, type ClusterConfig } from '../config.js';
import { LABEL, labelsFor } from '../labels.js';
import { resolveBin } from '../workspace.js';
import { planAgent } from './agent.js';
import { masterDaemons, servicesDaemons } from './daemons.js';
import { HOST } from './layout.js';
import type { ClusterPlan, DaemonSpec, NodeRole, NodeSpec, PlanContext, PlanOptions } from './types.js';

// The cluster as data: which containers, at which addresses, running which daemons with which
// flags. Pure (no Docker), so the whole layout is checked by unit tests; `startCluster` executes it.

/** Lays out a cluster: nodes, addresses, daemons and their flags, labels, CNI configs. */
export function planCluster(config: ClusterConfig, options: PlanOptions): ClusterPlan {
  const resolve = options.resolve ?? ((pkg: string, bin: string) => resolveBin(options.workspaceDir, pkg, bin));
  const subnet = config.network.subnet;
  const at = (host: number) => hostAddress(subnet, host);
  const subnet6 = config.network.ipv6Subnet;
  const at6 = (host: number) => (subnet6 ? hostAddress6(subnet6, host) : undefined);
  const pc: PlanContext = { config, options, resolve, at, at6, master: at(HOST.master), services: at(HOST.services), noAuth: config.auth.disabled };
  const nodes: NodeSpec[] = [];
  nodes.push(nodeSpec(pc, 'master', pc.master, masterDaemons(pc)));
  nodes.push(nodeSpec(pc, 'services', pc.services, servicesDaemons(pc)));
  const agentRoutes: { dst: string; via: string }[] = [];
  for (let i = 0; i < config.agents; i++) {
    const agent = planAgent(pc, i);
    agentRoutes.push(...agent.routes);
    nodes.push(nodeSpec(pc, 'agent', agent.address, [agent.daemon], agent.node));
  }
  // DNS answers containers at their own addresses: the services node routes each agent's subnets to it.
  const servicesNode = nodes.find((n) => n.role === 'services')!;
  servicesNode.capabilities = ['NET_ADMIN'];
  servicesNode.routes = agentRoutes;
  return {
    name: config.name,
    networkName: `ippc-${config.name}`,
    subnet,
    gateway: at(HOST.gateway),
    nodes,
    dockerNetworks: config.dockerNetworks,
    masterAddress: pc.master,
    servicesAddress: pc.services,
  };
}

/** A node with what every node has (its name, labels, IPv6 address) and `extra` over the defaults. */
function nodeSpec(pc: PlanContext, role: NodeRole, address: string, daemons: DaemonSpec[], extra: Partial<NodeSpec> = {}): NodeSpec {
  const { config, options, at6 } = pc;
  const hostOf = (address: string) => Number(parseIp(address)!.value - parseCidr(config.network.subnet)!.network);
  return {
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
  };
}
