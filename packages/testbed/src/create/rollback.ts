import type { RemoveReport } from '../cluster.js';
import { TestbedError } from '../errors.js';
import { removeResources } from '../remove.js';
import type { SessionReaper } from './actions/reaper/session-reaper.js';
import type { CreateContext } from './context.js';

/**
 * Removes what this start created (by labels: the session's, or the whole cluster's when detached),
 * then the session reaper. A failed start rolls back with it; a started cluster's `stop()` is it.
 */
export async function removeStarted(ctx: CreateContext, guard: SessionReaper): Promise<RemoveReport> {
  const { docker, config, session } = ctx;
  // A reaper still starting when the start failed must be waited for, or it would stay behind.
  await guard.ready.catch(() => undefined);
  const report = await removeResources(docker, config.name, session);
  const reaper = guard.reaper;
  if (reaper) {
    // Our own resources are gone; the reaper goes too (releasing alone would leave it for its grace period).
    reaper.release();
    await docker
      .getContainer(reaper.containerId)
      .remove({ force: true })
      .then(() => report.containers++)
      .catch((e: { statusCode?: number; message: string }) => e.statusCode === 404 || e.statusCode === 409 || report.errors.push(`reaper: ${e.message}`));
  }
  return report;
}

/**
 * Rolls a failed start back (everything it created is removed) and resolves with the error to
 * throw: the start's own `TestbedError` with any cleanup errors in its details, or another failure
 * wrapped as `TESTBED_START_FAILED`.
 */
export async function rollBack(ctx: CreateContext, guard: SessionReaper, err: unknown): Promise<TestbedError> {
  const report = await removeStarted(ctx, guard).catch((e: Error) => ({ errors: [e.message] }) as RemoveReport);
  if (err instanceof TestbedError) {
    if (report.errors.length) err.details.cleanupErrors = report.errors;
    return err;
  }
  return new TestbedError('TESTBED_START_FAILED', `cluster '${ctx.config.name}' did not start: ${(err as Error).message}; everything it created was removed`, {
    cause: err,
    details: { cleanupErrors: report.errors },
  });
}
