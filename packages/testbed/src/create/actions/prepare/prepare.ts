import type Docker from 'dockerode';
import { planBootstrap } from '@ippc/host';
import { TestbedError } from '../../../errors.js';
import { LABEL, OWNER } from '../../../labels.js';
import { planCluster } from '../../../plan/plan.js';
import type { ClusterPlan } from '../../../plan/types.js';
import type { CreateContext } from '../../context.js';

/**
 * The `prepare` phase, before anything is created: the Docker daemon answers, the node image is on
 * it, no cluster has the name; then the plan. A failure here has nothing to roll back.
 */
export async function prepare(ctx: CreateContext): Promise<{ image: string; plan: ClusterPlan }> {
  const { docker, config, options, session } = ctx;
  const [image, dockerRootDir] = await Promise.all([options.image ?? planBootstrap().then((p) => p.images.node), ping(docker)]);
  const [exists, taken] = await Promise.all([
    docker
      .getImage(image)
      .inspect()
      .then(() => true)
      .catch(() => false),
    docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABEL.owner}=${OWNER}`, `${LABEL.cluster}=${config.name}`] }) }),
  ]);
  if (!exists)
    throw new TestbedError(
      'TESTBED_IMAGE_MISSING',
      `the node image ${image} is not on the Docker daemon; build it with scripts/setup (ippc-host bootstrap): images are built offline, never pulled`,
    );
  if (taken.length > 0) {
    throw new TestbedError(
      'TESTBED_CLUSTER_EXISTS',
      `a cluster named '${config.name}' already exists (${taken.length} containers); remove it ('ippc cluster down --name ${config.name}') or choose another name`,
    );
  }
  return { image, plan: planCluster(config, { workspaceDir: ctx.workspaceDir, dockerRootDir, ...(session ? { session } : {}), retain: !!options.detached }) };
}

/** Checks the daemon answers; resolves with its root folder (where its volumes live). */
async function ping(docker: Docker): Promise<string> {
  try {
    const info = (await docker.info()) as { DockerRootDir?: string };
    return info.DockerRootDir ?? '/var/lib/docker';
  } catch (err) {
    throw new TestbedError(
      'TESTBED_DOCKER_UNAVAILABLE',
      `no Docker daemon answers (${(err as Error).message}); start one (scripts/setup does) or set DOCKER_HOST`,
      { cause: err },
    );
  }
}
