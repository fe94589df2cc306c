import { startReaper, type Reaper } from '../../../reaper.js';
import type { CreateContext } from '../../context.js';

/** A test session's reaper while it starts: `ready` settles once it holds this process's connection. */
export interface SessionReaper {
  ready: Promise<unknown>;
  /** Set once ready; none for a detached cluster. */
  reaper: Reaper | undefined;
}

/**
 * Starts the session reaper (test clusters only; a detached cluster has none), without waiting: it
 * comes up while the networks and containers are made, and the start waits for it before readiness.
 */
export function startSessionReaper(ctx: CreateContext, image: string): SessionReaper {
  const { docker, session, config } = ctx;
  const guard: SessionReaper = { ready: Promise.resolve(undefined), reaper: undefined };
  if (session) guard.ready = startReaper({ docker, image, session, cluster: config.name }).then((r) => (guard.reaper = r));
  // A reaper that fails while the networks and containers are still being made is only awaited
  // after them (or by the rollback): marked handled now, so that its failure rolls the start back
  // instead of ending the process as an unhandled rejection. Awaiting `ready` still throws it.
  guard.ready.catch(() => undefined);
  return guard;
}
