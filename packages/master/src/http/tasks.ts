import { taskJson, type TaskJson } from '@ippc/mesos';
import type { Task } from '@ippc/proto';
import type { Master } from '../master.js';
import { knownFrameworks } from './records.js';

// `GET /master/tasks` (Mesos's `ReadOnlyHandler::tasks`): the tasks of active and completed
// frameworks, running and completed, sorted by their first status's timestamp (descending unless
// `order=asc`; tasks without statuses last in that order, first in ascending), then `offset` and
// `limit` (default 100). `framework_id` and `task_id` narrow it. Like Mesos, a `limit` or `offset`
// that is not a whole number is ignored rather than refused.

const TASK_LIMIT = 100;

function wholeNumber(text: string | null): number | undefined {
  if (text === null || !/^\d+$/.test(text.trim())) return undefined;
  return Number(text);
}

function firstTimestamp(t: Task): number | undefined {
  return t.statuses[0]?.timestamp;
}

/** Ascending by first status timestamp, tasks without one first (Mesos's TaskComparator). */
function ascending(a: Task, b: Task): number {
  const x = firstTimestamp(a);
  const y = firstTimestamp(b);
  if (x === undefined || y === undefined) return x === y ? 0 : x === undefined ? -1 : 1;
  return x - y;
}

/** The task list of `/master/tasks` for the query `params`. */
export function masterTasks(master: Master, params: URLSearchParams): { tasks: TaskJson[] } {
  const limit = wholeNumber(params.get('limit')) ?? TASK_LIMIT;
  const offset = wholeNumber(params.get('offset')) ?? 0;
  const frameworkId = params.get('framework_id');
  const taskId = params.get('task_id');
  const frameworks = knownFrameworks(master).filter((f) => frameworkId === null || f.id === frameworkId);
  const tasks = frameworks
    .flatMap((f) => [...f.tasks.values(), ...f.unreachableTasks.values(), ...f.completedTasks])
    .filter((t) => taskId === null || t.taskId?.value === taskId);
  tasks.sort(params.get('order') === 'asc' ? ascending : (a, b) => ascending(b, a));
  return { tasks: tasks.slice(offset, offset + limit).map(taskJson) };
}
