import { ContainerizerError, within } from '@ippc/core';
import type { ContainerStatus } from '@ippc/proto';
import { INSPECT_TIMEOUT_MS, type DockerContext } from './context.js';

export async function status(ctx: DockerContext, containerId: string): Promise<ContainerStatus> {
  const entry = ctx.live.get(containerId);
  if (!entry && !ctx.ended.has(containerId)) throw new ContainerizerError('CONTAINER_NOT_FOUND', `Unknown container: ${containerId}`);
  if (entry?.executor) {
    // A custom executor's container: its addresses, which every task it runs reports (its first
    // UPDATE may come while the launch still inspects: wait for that, as briefly as launch does).
    await within(entry.running, INSPECT_TIMEOUT_MS);
    return { containerId: { value: containerId }, networkInfos: entry.networkInfo ? [entry.networkInfo] : [] };
  }
  // A task's container: like Mesos's DockerContainerizer::status, the container id only. The
  // addresses travel in the executor's TASK_RUNNING (see launch); repeating them here would
  // duplicate them when the agent merges.
  return { containerId: { value: containerId }, networkInfos: [] };
}
