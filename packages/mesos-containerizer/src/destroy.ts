import { rm } from 'node:fs/promises';
import { ContainerizerError, messageOf } from '@ippc/core';
import type { Container, ContainerizerContext } from './container.js';
import { childrenOf } from './nested.js';
import { killGroup } from './processes.js';
import { reap, stopWatching } from './reap.js';

/**
 * `destroy()`: the container's nested containers first (each killed with the same grace, as
 * Mesos's destroy of a parent does), then the container itself. Memoized per container, so a
 * concurrent destroy of a nested container and of its parent kill it once. If a nested container
 * cannot be destroyed, the parent is left running and the destroy can be tried again (Mesos).
 */
export function destroyTree(ctx: ContainerizerContext, c: Container, graceMs: number): Promise<boolean> {
  return (c.destroying ??= (async () => {
    const children = await Promise.allSettled(childrenOf(ctx, c.id).map((child) => destroyTree(ctx, child, graceMs)));
    const failed = children.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => messageOf(r.reason));
    if (failed.length > 0) {
      c.destroying = undefined;
      throw new ContainerizerError('CONTAINER_DESTROY_FAILED', `Failed to destroy nested containers: ${failed.join('; ')}`);
    }
    return doDestroy(ctx, c, graceMs);
  })());
}

/** Kills the task's process group (SIGTERM, SIGKILL after `graceMs`), then {@link cleanup}. */
export async function doDestroy(ctx: ContainerizerContext, c: Container, graceMs: number): Promise<boolean> {
  // A container still launching (a nested one waiting for its pod, say) is killed once its launch
  // settles: before that there is no process to kill, and its launch would go on without it.
  if (c.pid === undefined && c.launching) await c.launching.running.catch(() => undefined);
  if (c.pid !== undefined && !c.exit) {
    c.killed = true;
    killGroup(c.pid, 'SIGTERM');
    const timeout = <T>(p: Promise<T>, ms: number) => Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
    if (!(await timeout(c.termination, graceMs))) {
      killGroup(c.pid, 'SIGKILL');
      if (!(await timeout(c.termination, 10_000))) {
        ctx.log.error({ containerId: c.id, pid: c.pid }, 'container did not end after SIGKILL');
        await reap(c);
      }
    }
  }
  await cleanup(ctx, c);
  ctx.log.info({ containerId: c.id }, 'container destroyed');
  return true;
}

/** Isolators in reverse, then the checkpoint; the container is forgotten. */
export async function cleanup(ctx: ContainerizerContext, c: Container): Promise<void> {
  stopWatching(c);
  try {
    await release(ctx, c);
  } finally {
    ctx.containersById.delete(c.id);
  }
}

/** Isolators' cleanup in reverse, then the run directory; the container stays known (its `wait()` and `status()`). */
export async function release(ctx: ContainerizerContext, c: Container): Promise<void> {
  const errors: string[] = [];
  for (const iso of [...ctx.isolators].reverse()) {
    try {
      await iso.cleanup(c.containerId);
    } catch (err) {
      errors.push(`${iso.name}: ${(err as Error).message}`);
    }
  }
  // A supervisor may still be writing its last word in there: retry a removal that found new files.
  await rm(c.runDir, { recursive: true, force: true, maxRetries: 3 });
  if (errors.length > 0) {
    ctx.log.error({ containerId: c.id, errors }, 'isolator cleanup failed');
    throw new ContainerizerError('CONTAINER_DESTROY_FAILED', `Failed to clean up container ${c.id}: ${errors.join('; ')}`);
  }
}
