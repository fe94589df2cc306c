import type { TaskInfo } from '@ippc/proto';
import { daemonMessage, daemonStatus } from '../errors.js';
import type { DockerContext, Entry } from './context.js';

function taskGraceMs(task: TaskInfo): number | undefined {
  const ns = task.killPolicy?.gracePeriod?.nanoseconds;
  return ns === undefined ? undefined : Math.max(0, ns / 1e6);
}

/**
 * Kills a container: `docker stop` with the grace period (the option's, else the task's
 * `kill_policy`, else the default); resolves once it terminated. False for an unknown container.
 */
export async function destroy(ctx: DockerContext, containerId: string, destroyOptions: { gracePeriodMs?: number } = {}): Promise<boolean> {
  const entry = ctx.live.get(containerId);
  if (!entry) return ctx.ended.has(containerId);
  const grace = destroyOptions.gracePeriodMs ?? taskGraceMs(entry.task) ?? ctx.defaultGraceMs;
  entry.killed = true;
  entry.killGraceMs ??= grace;
  if (entry.phase === 'running') entry.stopping ??= stopContainer(ctx, entry, grace);
  await entry.termination;
  return true;
}

/** `docker stop -t <grace in whole seconds>`; watch() reports the end. */
export async function stopContainer(ctx: DockerContext, entry: Entry, graceMs: number): Promise<void> {
  const t = Math.ceil(graceMs / 1000);
  try {
    await ctx.docker.getContainer(entry.dockerId!).stop({ t });
  } catch (err) {
    const status = daemonStatus(err);
    // 304: already stopped; 404: already gone. Either way watch() reports the end.
    if (status !== 304 && status !== 404) ctx.log.error({ containerId: entry.id, err: daemonMessage(err) }, 'docker stop failed');
  }
}
