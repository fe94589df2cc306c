import { rm } from 'node:fs/promises';
import { Backoff, messageOf as message } from '@ippc/core';
import { containerIdToString } from '@ippc/mesos';
import type { ContainerID } from '@ippc/proto';
import { throwAll } from '../errors.js';
import { paths } from '../checkpoint.js';
import type { Info, IsolatorContext } from './context.js';
import { detach } from './detach.js';

/** The isolator's `cleanup()`: {@link teardown} after the container's other operations; a failure is tried again later. */
export function cleanup(ctx: IsolatorContext, containerId: ContainerID): Promise<void> {
  const { infos } = ctx;
  const cid = containerIdToString(containerId);
  return ctx.locks
    .run(cid, async () => {
      const info = infos.get(cid);
      if (!info) return;
      if (info.joinsParent) {
        infos.delete(cid);
        return;
      }
      await teardown(ctx, info);
    })
    .catch((err: unknown) => {
      retryTeardown(ctx, cid);
      throw err;
    });
}

/** DEL every network (in parallel, each list in reverse), then drop the handle and the checkpoint. */
export async function teardown(ctx: IsolatorContext, info: Info): Promise<void> {
  const { rootDir, host, infos } = ctx;
  const results = await Promise.allSettled(info.networks.map((n) => detach(ctx, info, n)));
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
  if (failures.length > 0) throwAll(failures, 'CNI_DETACH_FAILED');
  const dir = paths.container(rootDir, info.cid);
  await host.releaseNetns(paths.netns(rootDir, info.cid));
  await rm(dir, { recursive: true, force: true });
  infos.delete(info.cid);
}

/** Tries the teardown of `cid` again in the background until it succeeds (see `cleanupRetry`). */
export function retryTeardown(ctx: IsolatorContext, cid: string): void {
  const { retrying, retryFirstMs, retryMaxMs } = ctx;
  if (retryFirstMs <= 0 || retrying.has(cid)) return;
  // jitter 0: cleanup.spec's 'backing off' compares consecutive retry gaps, which equal jitter can bring within timer noise of each other.
  const backoff = new Backoff({ initialMs: retryFirstMs, maxMs: retryMaxMs, jitter: 0 });
  scheduleTeardown(ctx, cid, backoff, backoff.next(), 1);
}

function scheduleTeardown(ctx: IsolatorContext, cid: string, backoff: Backoff, delayMs: number, attempt: number): void {
  const { logger, infos, retrying } = ctx;
  const timer = setTimeout(() => {
    void ctx.locks
      .run(cid, async () => {
        const info = infos.get(cid);
        if (!info) return false; // cleaned up meanwhile by a cleanup() call
        await teardown(ctx, info);
        return true;
      })
      .then(
        (done) => {
          retrying.delete(cid);
          if (done) logger.info({ containerId: cid, attempt }, `Cleaned up container ${cid} on retry ${attempt}`);
        },
        (err: unknown) => {
          const next = backoff.next();
          logger.warn({ containerId: cid, attempt, retryInMs: next, err: message(err) }, `Cleanup of container ${cid} failed again; retrying in ${next} ms`);
          scheduleTeardown(ctx, cid, backoff, next, attempt + 1);
        },
      );
  }, delayMs);
  timer.unref();
  retrying.set(cid, timer);
}
