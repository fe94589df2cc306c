import { isIppcError } from '@ippc/core';
import { taskStateToJSON } from '@ippc/proto';
import type { Scheduler } from '@ippc/scheduler';
import type { Cluster } from '@ippc/testbed';
import type { Progress } from '../../context.js';
import { closeCliFramework, connectCliFramework, launchTask } from '../../framework.js';
import { planTaskRun, type TaskRunPlan } from '../../task-spec.js';
import { SHOWCASE_LABEL, type ShowcaseTask } from './tasks.js';

/** What became of one showcase task. */
export interface Outcome {
  name: string;
  why: string;
  id?: string;
  state: string;
  message?: string;
}

/** Kills the running tasks a previous showcase left (by label), so a second run starts clean. */
async function clearPrevious(scheduler: Scheduler, cluster: Cluster, progress: Progress): Promise<void> {
  const state = await cluster.masterState();
  const previous = state.frameworks.flatMap((f) =>
    f.tasks.filter((t) => (t.labels ?? []).some((l) => l.key === SHOWCASE_LABEL)).map((t) => ({ id: t.id, agentId: t.slave_id })),
  );
  if (previous.length === 0) return;
  progress(`removing ${previous.length} tasks of a previous showcase`);
  await Promise.all(
    previous.map(async (t) => {
      await scheduler.kill(t.id, { agentId: t.agentId });
      await scheduler
        .waitForState(t.id, ['TASK_KILLED', 'TASK_FINISHED', 'TASK_FAILED', 'TASK_LOST', 'TASK_GONE', 'TASK_ERROR', 'TASK_DROPPED'], 30_000)
        .catch(() => undefined);
    }),
  );
}

/**
 * Launches the showcase's tasks as the CLI framework, after removing a previous showcase's, and
 * waits for each to run; resolves with their outcomes in the order of `specs`.
 */
export async function launchShowcase(cluster: Cluster, specs: ShowcaseTask[], progress: Progress): Promise<Outcome[]> {
  const scheduler = await connectCliFramework(cluster);
  const outcomes: Outcome[] = [];
  try {
    await clearPrevious(scheduler, cluster, progress);
    progress(`launching ${specs.length} tasks on ${cluster.agents.length} agents`);
    // Launched one after the other (each takes from a fresh offer), then awaited together.
    const launched: { spec: ShowcaseTask; plan: TaskRunPlan; id?: string; error?: string }[] = [];
    for (const spec of specs) {
      const plan = planTaskRun(spec.name, undefined, { ...spec.flags, label: [`${SHOWCASE_LABEL}=true`] });
      try {
        const { task } = await launchTask(scheduler, cluster, (o) => scheduler.taskFromOffer(o, plan.spec), {
          agent: String(spec.agent % cluster.agents.length),
          wait: false,
          timeoutMs: 20_000,
        });
        launched.push({ spec, plan, id: task.taskId!.value! });
      } catch (err) {
        launched.push({ spec, plan, error: isIppcError(err) ? `${err.code}: ${err.message}` : (err as Error).message });
      }
    }
    await Promise.all(
      launched.map(async (l) => {
        if (!l.id) {
          outcomes.push({ name: l.spec.name, why: l.spec.why, state: 'NOT LAUNCHED', message: l.error! });
          return;
        }
        try {
          await scheduler.waitForState(l.id, 'TASK_RUNNING', 60_000);
          outcomes.push({ name: l.spec.name, why: l.spec.why, id: l.id, state: 'TASK_RUNNING' });
        } catch {
          const last = scheduler.latestStatus(l.id);
          outcomes.push({
            name: l.spec.name,
            why: l.spec.why,
            id: l.id,
            state: last ? taskStateToJSON(last.state ?? 0) : 'NO UPDATE',
            ...(last?.message ? { message: last.message } : {}),
          });
        }
        progress(`  ${l.spec.name}: ${outcomes.at(-1)!.state}`);
      }),
    );
  } finally {
    await closeCliFramework(scheduler);
  }
  outcomes.sort((a, b) => specs.findIndex((s) => s.name === a.name) - specs.findIndex((s) => s.name === b.name));
  return outcomes;
}
