import type { Cluster } from '@ippc/testbed';

// How `cluster up` and `cluster status` show a cluster: its nodes as rows, its summary as JSON.

/** Nodes of a cluster as rows: role, container name, address, what it runs. */
export function nodeRows(cluster: Cluster): string[][] {
  const order = (n: Cluster['nodes'][number]) => ({ master: 0, services: 1, agent: 2 })[n.role] * 100 + (n.index ?? 0);
  const nodes = [...cluster.nodes].sort((a, b) => order(a) - order(b));
  return [['ROLE', 'NODE', 'ADDRESS', 'RUNS'], ...nodes.map((n) => [n.role, n.name, n.address, n.daemons.join(',')])];
}

export function summary(cluster: Cluster): Record<string, unknown> {
  return {
    name: cluster.name,
    network: cluster.network,
    master: { url: cluster.master.url, grpc: cluster.master.grpcAddress },
    ipam: cluster.ipam.grpcAddress,
    isolation: cluster.isolation.grpcAddress,
    dns: `${cluster.dns.address}:53`,
    agents: cluster.agents.map((a) => ({ index: a.index, name: a.name, address: a.address, url: a.url, subnets: a.subnets, ports: a.ports })),
    containerNetworks: cluster.config.containerNetworks.map((n) => ({ name: n.name, type: n.type, ipam: n.ipam, cidr: n.cidr })),
    dockerNetworks: cluster.dockerNetworks,
  };
}
