import { isTerminalState } from '@ippc/mesos';
import { TaskState, taskStateFromJSON, taskStateToJSON, type TaskStatus } from '@ippc/proto';
import type { SchedulerContext } from './context.js';
import { SchedulerError } from './errors.js';
import { on } from './events.js';

// Status updates (`SchedulerContext.statuses`, filled by UPDATE events in subscription.ts): waiting
// for a task to reach a state, and the latest one.

export type StateName = keyof typeof TaskState;

/**
 * Resolves with the first status of `taskId` whose state is one of `states` (already received or
 * arriving later). Rejects on timeout, and, unless `states` includes it, when the task reaches
 * another terminal state first.
 */
export function waitForState(
  ctx: SchedulerContext,
  taskId: string,
  states: StateName | TaskState | readonly (StateName | TaskState)[],
  timeoutMs = 30_000,
): Promise<TaskStatus> {
  const wanted = new Set((Array.isArray(states) ? states : [states]).map((s) => (typeof s === 'string' ? taskStateFromJSON(s) : s)));
  const check = (s: TaskStatus): 'match' | 'terminal' | undefined => {
    if (s.state !== undefined && wanted.has(s.state)) return 'match';
    if (isTerminalState(s.state)) return 'terminal';
    return undefined;
  };
  for (const s of ctx.statuses.get(taskId) ?? []) {
    const r = check(s);
    if (r === 'match') return Promise.resolve(s);
    if (r === 'terminal') return Promise.reject(unexpected(taskId, s, wanted));
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      const last = (ctx.statuses.get(taskId) ?? []).at(-1);
      reject(
        new SchedulerError(
          'SCHEDULER_TIMEOUT',
          `task ${taskId} did not reach ${[...wanted].map(taskStateToJSON).join('/')} within ${timeoutMs} ms (last: ${last ? taskStateToJSON(last.state ?? 0) : 'no update'})`,
        ),
      );
    }, timeoutMs);
    const off = on(ctx, (e) => {
      if (e.type !== 'UPDATE' || e.status.taskId?.value !== taskId) return;
      const r = check(e.status);
      if (!r) return;
      clearTimeout(timer);
      off();
      if (r === 'match') resolve(e.status);
      else reject(unexpected(taskId, e.status, wanted));
    });
  });
}

function unexpected(taskId: string, s: TaskStatus, wanted: Set<TaskState>): SchedulerError {
  return new SchedulerError(
    'SCHEDULER_CALL_FAILED',
    `task ${taskId} reached ${taskStateToJSON(s.state ?? 0)} instead of ${[...wanted].map(taskStateToJSON).join('/')}${s.message ? `: ${s.message}` : ''}`,
    { details: { state: taskStateToJSON(s.state ?? 0), message: s.message, reason: s.reason, source: s.source } },
  );
}

/** The latest status received for a task. */
export function latestStatus(ctx: SchedulerContext, taskId: string): TaskStatus | undefined {
  return ctx.statuses.get(taskId)?.at(-1);
}
