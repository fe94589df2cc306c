import { ContainerizerError, type Termination } from '@ippc/core';
import type { DockerContext } from './context.js';

/** How the container ended, once it did (also for one that ended before, within the last ones kept). */
export async function wait(ctx: DockerContext, containerId: string): Promise<Termination> {
  const entry = ctx.live.get(containerId);
  if (entry) return entry.termination;
  const t = ctx.ended.get(containerId);
  if (t) return t;
  throw new ContainerizerError('CONTAINER_NOT_FOUND', `Unknown container: ${containerId}`);
}
