import { isIppcError } from '@ippc/core';
import { taskStateToJSON } from '@ippc/proto';
import type { Scheduler } from '@ippc/scheduler';
import type { Cluster } from '@ippc/testbed';
import type { Progress } from '../../context.js';
import { closeCliFramework, connectCliFramework, launchTask, launchTaskGroup } from '../../framework.js';
import { planTaskGroup } from '../../group-spec.js';
import { planTaskRun } from '../../task-spec.js';
import { placeTask } from '../task/run.js';
import { SHOWCASE_LABEL, showcaseTaskNames, type ShowcaseItem } from './tasks.js';

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

/** One task of the showcase once launched (`id`), or why it was not. */
interface Launched {
  name: string;
  why: string;
  id?: string;
  error?: string;
}

const errorText = (err: unknown) => (isIppcError(err) ? `${err.code}: ${err.message}` : (err as Error).message);

/** Launches one item without waiting: a task (on its executor's agent if it has one that runs), or a pod as one task group. */
async function launchItem(scheduler: Scheduler, cluster: Cluster, item: ShowcaseItem): Promise<Launched[]> {
  const agent = String(item.agent % cluster.agents.length);
  const label = [`${SHOWCASE_LABEL}=true`];
  const options = { wait: false, timeoutMs: 20_000 };
  if ('pod' in item) {
    const plan = planTaskGroup(item.pod, { ...item.flags, label });
    const why = (name: string) => item.why[name] ?? '';
    try {
      const { tasks } = await launchTaskGroup(scheduler, cluster, (o) => scheduler.groupFromOffer(o, { executor: plan.executor, tasks: plan.tasks }), {
        ...options,
        agent,
      });
      return tasks.map((t) => ({ name: t.name ?? '', why: why(t.name ?? ''), id: t.taskId!.value! }));
    } catch (err) {
      return plan.tasks.map((t) => ({ name: t.name, why: why(t.name), error: errorText(err) }));
    }
  }
  try {
    const plan = planTaskRun(item.name, undefined, { ...item.flags, label });
    const placed = await placeTask(scheduler, cluster, plan, agent);
    const { task } = await launchTask(scheduler, cluster, (o) => scheduler.taskFromOffer(o, placed.spec), {
      ...options,
      ...(placed.agent !== undefined ? { agent: placed.agent } : {}),
    });
    return [{ name: item.name, why: item.why, id: task.taskId!.value! }];
  } catch (err) {
    return [{ name: item.name, why: item.why, error: errorText(err) }];
  }
}

/** Waits for a launched task's TASK_RUNNING; its outcome either way. */
async function outcomeOf(scheduler: Scheduler, l: Launched): Promise<Outcome> {
  if (!l.id) return { name: l.name, why: l.why, state: 'NOT LAUNCHED', message: l.error! };
  try {
    await scheduler.waitForState(l.id, 'TASK_RUNNING', 60_000);
    return { name: l.name, why: l.why, id: l.id, state: 'TASK_RUNNING' };
  } catch {
    const last = scheduler.latestStatus(l.id);
    return {
      name: l.name,
      why: l.why,
      id: l.id,
      state: last ? taskStateToJSON(last.state ?? 0) : 'NO UPDATE',
      ...(last?.message ? { message: last.message } : {}),
    };
  }
}

/**
 * Launches the showcase's tasks and pods as the CLI framework, after removing a previous
 * showcase's tasks, and waits for each to run; resolves with their outcomes, one per task, in the
 * order of `items`.
 */
export async function launchShowcase(cluster: Cluster, items: ShowcaseItem[], progress: Progress): Promise<Outcome[]> {
  const scheduler = await connectCliFramework(cluster);
  const outcomes: Outcome[] = [];
  const names = showcaseTaskNames(items);
  try {
    await clearPrevious(scheduler, cluster, progress);
    progress(`launching ${names.length} tasks on ${cluster.agents.length} agents`);
    // Launched one after the other (each takes from a fresh offer), then awaited together.
    const launched: Launched[] = [];
    for (const item of items) launched.push(...(await launchItem(scheduler, cluster, item)));
    await Promise.all(
      launched.map(async (l) => {
        outcomes.push(await outcomeOf(scheduler, l));
        progress(`  ${l.name}: ${outcomes.at(-1)!.state}`);
      }),
    );
  } finally {
    await closeCliFramework(scheduler);
  }
  outcomes.sort((a, b) => names.indexOf(a.name) - names.indexOf(b.name));
  return outcomes;
}
