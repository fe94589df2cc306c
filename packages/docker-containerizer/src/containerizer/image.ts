import { ContainerizerError } from '@ippc/core';
import { daemonMessage, daemonStatus } from '../errors.js';
import type { DockerContext } from './context.js';

/**
 * Makes sure `image` is on the daemon: inspected, pulled when missing or when `forcePull` (only
 * with `pullImages`). Throws ContainerizerError `CONTAINER_LAUNCH_FAILED` otherwise.
 */
export async function ensureImage(ctx: DockerContext, image: string, forcePull: boolean): Promise<void> {
  const { docker, pullImages } = ctx;
  let present = true;
  if (!forcePull || !pullImages) {
    try {
      await docker.getImage(image).inspect();
    } catch (err) {
      if (daemonStatus(err) !== 404)
        throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', `Failed to inspect image '${image}': ${daemonMessage(err)}`, { cause: err });
      present = false;
    }
  }
  if (present && !forcePull) return;
  if (!pullImages) {
    if (present) return;
    throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', `Image '${image}' is not on the Docker daemon and pulling is disabled: load or build it first`);
  }
  try {
    const stream = await docker.pull(image);
    await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (err: unknown) => (err ? reject(err) : resolve())));
  } catch (err) {
    throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', `Failed to pull image '${image}': ${daemonMessage(err)}`, { cause: err });
  }
}
