import { NodeHandle } from '../../../node.js';
import type { ClusterPlan, NodeSpec } from '../../../plan/types.js';
import type { CreateContext } from '../../context.js';
import { settleAll } from '../../settle-all.js';
import { startContainer } from './node-container.js';

/**
 * The `containers` phase: every node's container, and its daemons spawned (not yet ready) as soon
 * as it runs. The phase is reported done when the last container runs; resolves with the nodes.
 */
export async function startNodes(ctx: CreateContext, image: string, plan: ClusterPlan): Promise<NodeHandle[]> {
  const { docker, options, timings, workspaceDir, token, mark } = ctx;
  // Pipelined: each node's daemons start as soon as its container runs (agents retry the
  // master every 100 ms until it answers), so container starts and Node starts overlap.
  let containersDone = 0;
  options.onProgress?.({ phase: 'containers', status: 'start' });
  const tContainers = performance.now();
  const startNode = async (spec: NodeSpec) => {
    const id = await startContainer(docker, spec, { image, workspaceDir, token, networkName: plan.networkName });
    mark(`${spec.name} started at`);
    if (++containersDone === plan.nodes.length) {
      timings.containers = Math.round(performance.now() - tContainers);
      options.onProgress?.({ phase: 'containers', status: 'done', ms: timings.containers });
    }
    const node = new NodeHandle({ docker, containerId: id, ...spec });
    await Promise.all(spec.daemons.map((d) => node.spawnDaemon(d.name)));
    return node;
  };
  // The master's and the services' containers first: their daemons (the slowest to boot: the
  // agents wait for the IPAM and the isolation service) then start while the agents' containers
  // are made (Docker serializes much of container creation anyway), and agents find them sooner.
  const first = plan.nodes.filter((n) => n.role !== 'agent').map((spec) => startNode(spec));
  return settleAll([
    ...first,
    ...plan.nodes
      .filter((n) => n.role === 'agent')
      .map(async (spec) => {
        await first[0]!.catch(() => undefined);
        return startNode(spec);
      }),
  ]);
}
