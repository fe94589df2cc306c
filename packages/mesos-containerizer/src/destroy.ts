import { rm } from 'node:fs/promises';
import { ContainerizerError } from '@ippc/core';
import type { Container, ContainerizerContext } from './container.js';
import { killGroup } from './processes.js';
import { reap, stopWatching } from './reap.js';

/** Kills the task's process group (SIGTERM, SIGKILL after `graceMs`), then {@link cleanup}. */
export async function doDestroy(ctx: ContainerizerContext, c: Container, graceMs: number): Promise<boolean> {
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
  const errors: string[] = [];
  for (const iso of [...ctx.isolators].reverse()) {
    try {
      await iso.cleanup(c.containerId);
    } catch (err) {
      errors.push(`${iso.name}: ${(err as Error).message}`);
    }
  }
  await rm(c.runDir, { recursive: true, force: true });
  ctx.containersById.delete(c.id);
  if (errors.length > 0) {
    ctx.log.error({ containerId: c.id, errors }, 'isolator cleanup failed');
    throw new ContainerizerError('CONTAINER_DESTROY_FAILED', `Failed to clean up container ${c.id}: ${errors.join('; ')}`);
  }
}
