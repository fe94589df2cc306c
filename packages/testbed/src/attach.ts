import Docker from 'dockerode';
import type { Cluster } from './cluster.js';
import { ClusterHandle } from './cluster-handle.js';
import { compileConfig } from './config.js';
import { TestbedError } from './errors.js';
import { LABEL, OWNER } from './labels.js';
import { NodeHandle } from './node.js';
import { planCluster } from './plan/plan.js';
import type { DaemonSpec, NodeRole } from './plan/types.js';
import { MOUNT } from './workspace.js';

/**
 * Finds a running cluster again by name (labels are the truth), e.g. one `ippc cluster up` left
 * running. The result works like a started cluster, without owning it: `remove()` takes it down.
 */
export async function attachCluster(name: string, options: { docker?: Docker } = {}): Promise<Cluster> {
  const docker = options.docker ?? new Docker();
  const filters = JSON.stringify({ label: [`${LABEL.owner}=${OWNER}`, `${LABEL.cluster}=${name}`] });
  const [containers, networks] = await Promise.all([docker.listContainers({ all: true, filters }), docker.listNetworks({ filters })]);
  const clusterNet = networks.find((n) => n.Labels?.[LABEL.role] === 'network');
  if (!clusterNet || containers.filter((c) => c.Labels[LABEL.role] !== 'reaper').length === 0) {
    throw new TestbedError(
      'TESTBED_CLUSTER_NOT_FOUND',
      `no cluster named '${name}' on this Docker daemon; start one with 'ippc cluster up --name ${name}' (or list them with 'ippc cluster status --all')`,
    );
  }
  const config = compileConfig(JSON.parse(clusterNet.Labels![LABEL.config] ?? '{}'));
  const stopped = containers.filter((c) => c.State !== 'running' && c.Labels[LABEL.role] !== 'reaper');
  if (stopped.length > 0) {
    throw new TestbedError(
      'TESTBED_NOT_READY',
      `cluster '${name}' has stopped containers (${stopped.map((c) => c.Names[0]).join(', ')}); remove it with 'ippc cluster down --name ${name}' and start it again`,
    );
  }
  const master = containers.find((c) => c.Labels[LABEL.role] === 'master');
  const inspect = master ? await docker.getContainer(master.Id).inspect() : undefined;
  const token = inspect?.Config.Env.find((e) => e.startsWith('IPPC_TOKEN='))?.slice('IPPC_TOKEN='.length);
  const plan = planCluster(config, { workspaceDir: MOUNT, resolve: () => ({ package: '', bin: '', argv: [], bundled: true }) });
  const nodes = containers
    .filter((c) => ['master', 'services', 'agent'].includes(c.Labels[LABEL.role] ?? ''))
    .map((c) => {
      const index = c.Labels[LABEL.index] !== undefined ? Number(c.Labels[LABEL.index]) : undefined;
      return new NodeHandle({
        docker,
        containerId: c.Id,
        role: c.Labels[LABEL.role] as NodeRole,
        ...(index !== undefined ? { index } : {}),
        name: (c.Names[0] ?? '').replace(/^\//, ''),
        address: c.Labels[LABEL.address] ?? '',
        daemons: JSON.parse(c.Labels[LABEL.daemons] ?? '[]') as DaemonSpec[],
      });
    });
  const dockerNets = networks.filter((n) => n.Labels?.[LABEL.role] === 'docker-network');
  return new ClusterHandle({
    docker,
    config,
    nodes,
    agentLayout: new Map(plan.nodes.filter((n) => n.role === 'agent').map((n) => [n.index ?? 0, n])),
    network: { id: clusterNet.Id, name: clusterNet.Name, subnet: config.network.subnet, gateway: clusterNet.IPAM?.Config?.[0]?.Gateway ?? '' },
    dockerNetworks: dockerNets.map((n) => {
      const c = config.dockerNetworks.find((d) => d.name === n.Name);
      return { name: n.Name, id: n.Id, subnet: c?.subnet ?? n.IPAM?.Config?.[0]?.Subnet ?? '', ...(c?.ipv6Subnet ? { ipv6Subnet: c.ipv6Subnet } : {}) };
    }),
    auth: token ? { token } : { disabled: true },
  });
}
