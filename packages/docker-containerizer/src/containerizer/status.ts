import { ContainerizerError } from '@ippc/core';
import type { ContainerStatus } from '@ippc/proto';
import type { DockerContext } from './context.js';

export async function status(ctx: DockerContext, containerId: string): Promise<ContainerStatus> {
  // Like Mesos's DockerContainerizer::status: the container id only. The addresses travel in the
  // executor's TASK_RUNNING (see launch); repeating them here would duplicate them when the agent merges.
  if (!ctx.live.has(containerId) && !ctx.ended.has(containerId)) throw new ContainerizerError('CONTAINER_NOT_FOUND', `Unknown container: ${containerId}`);
  return { containerId: { value: containerId }, networkInfos: [] };
}
