// Where things are: the well-known ports inside the nodes, the host numbers on the cluster subnet,
// the paths inside every node.

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
export const HOST = { gateway: 1, master: 2, services: 3, firstAgent: 11 } as const;

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
