import type { Cluster } from '../../../cluster.js';
import { TestbedError } from '../../../errors.js';
import { LABEL, labelsFor } from '../../../labels.js';
import type { ClusterPlan } from '../../../plan/types.js';
import type { CreateContext } from '../../context.js';

/**
 * The `network` phase: the cluster network (a Docker bridge; its label records the compiled config,
 * which `attachCluster` reads back) and the Docker user networks of the cluster file, labelled.
 */
export async function createNetworks(ctx: CreateContext, plan: ClusterPlan): Promise<{ cluster: Cluster['network']; docker: Cluster['dockerNetworks'] }> {
  const { docker, config, session } = ctx;
  const retain = !!ctx.options.detached;
  const create = async (name: string, subnet: string, ipv6Subnet: string | undefined, extra: Record<string, string>, role: string) => {
    try {
      const n = await docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        CheckDuplicate: true,
        EnableIPv6: !!ipv6Subnet,
        IPAM: { Driver: 'default', Config: [{ Subnet: subnet }, ...(ipv6Subnet ? [{ Subnet: ipv6Subnet }] : [])] },
        Labels: { ...labelsFor(config.name, role, session, retain), ...extra },
      });
      return n.id;
    } catch (err) {
      throw new TestbedError(
        'TESTBED_START_FAILED',
        `cannot create Docker network ${name} (${subnet}): ${(err as Error).message}; pick another subnet in the cluster file if another network uses it`,
        { cause: err },
      );
    }
  };
  const [clusterId, ...dockerIds] = await Promise.all([
    create(plan.networkName, plan.subnet, config.network.ipv6Subnet, { [LABEL.config]: JSON.stringify(config) }, 'network'),
    ...config.dockerNetworks.map((n) => create(n.name, n.subnet, n.ipv6Subnet, {}, 'docker-network')),
  ]);
  return {
    cluster: { id: clusterId!, name: plan.networkName, subnet: plan.subnet, gateway: plan.gateway },
    docker: config.dockerNetworks.map((n, i) => ({ name: n.name, id: dockerIds[i]!, subnet: n.subnet, ...(n.ipv6Subnet ? { ipv6Subnet: n.ipv6Subnet } : {}) })),
  };
}
