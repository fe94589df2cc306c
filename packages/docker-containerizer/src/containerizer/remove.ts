import { sleep } from '@ippc/core';
import { daemonMessage, daemonStatus } from '../errors.js';
import type { DockerContext } from './context.js';

/** Removes a container (force, with its anonymous volumes); one already gone is fine. Never throws. */
export async function removeContainer(ctx: DockerContext, idOrName: string): Promise<void> {
  const { docker, log } = ctx;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await docker.getContainer(idOrName).remove({ force: true, v: true });
      return;
    } catch (err) {
      const status = daemonStatus(err);
      if (status === 404) return;
      // 409: a removal is already in progress; it will finish on its own, but check again.
      if (attempt === 2) log.error({ container: idOrName, err: daemonMessage(err) }, 'failed to remove container');
      else await sleep(200);
    }
  }
}
