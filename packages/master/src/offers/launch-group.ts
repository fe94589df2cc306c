import { formatResources, subtractResources } from '@ippc/mesos';
import { TaskStatus_Reason, type Offer_Operation, type Resource } from '@ippc/proto';
import type { AgentEntry, FrameworkEntry, MasterContext } from '../model.js';
import { taskError } from '../tasks/task-records.js';
import { taskGroupConsumes, validateTaskGroup } from '../validation/task-group.js';
import { recordExecutor, recordTask, taskContext } from './launch.js';
import { normalizeGroup } from './normalize.js';

// LAUNCH_GROUP (Mesos's `Master::_accept`, case LAUNCH_GROUP): the group is delivered whole or not
// at all. It is validated as one (validation/task-group.ts); the first error fails every task of
// it with TASK_ERROR, REASON_TASK_GROUP_INVALID and takes nothing from the offers. A valid group
// takes its tasks' resources and, when the executor is new on the agent, the executor's; the
// executor is recorded on the agent, every task STAGING, and the agent gets one RunTaskGroup.
//
// Mesos's master keeps a group's tasks pending while their launch is authorized, and a KILL in
// that window used to fail the rest of the group ("A task within the task group was killed before
// delivery to the agent"). ippc authorizes nothing per task and accepts synchronously, so there is
// no such window: a KILL finds either no task (reconciliation) or a launched one, which goes to
// the agent like any other (the default executor there kills the rest of the group).

/** LAUNCH_GROUP: the whole group or nothing; returns what is left of the offered resources. */
export function runLaunchGroup(m: MasterContext, f: FrameworkEntry, agent: AgentEntry, op: Offer_Operation, role: string, offered: Resource[]): Resource[] {
  const reason = TaskStatus_Reason.REASON_TASK_GROUP_INVALID;
  const { executor, tasks } = normalizeGroup(op.launchGroup ?? { taskGroup: { tasks: [] } }, role);
  if (op.id) {
    for (const task of tasks) taskError(m, f, task, 'The `id` field cannot be set on LAUNCH_GROUP operations', reason);
    return offered;
  }
  if (tasks.length === 0) {
    // Mesos's master sends an empty group on and its agent drops it ("it has no tasks"), which
    // would leave the executor's resources counted as used; ippc stops it here.
    m.log.warn({ frameworkId: f.id, executorId: executor.executorId?.value }, 'ignoring a LAUNCH_GROUP without tasks');
    return offered;
  }
  const ctx = taskContext(m, f, agent);
  const err = validateTaskGroup(tasks, executor, ctx, offered);
  if (err) {
    for (const task of tasks) taskError(m, f, task, err, reason);
    return offered;
  }
  const consumed = taskGroupConsumes(tasks, executor, ctx);
  const executorNew = !ctx.executors.has(executor.executorId?.value ?? '');
  if (executorNew) recordExecutor(f, agent, executor);
  for (const task of tasks) recordTask(m, f, agent, task);
  m.log.info(
    {
      frameworkId: f.id,
      agentId: agent.id,
      executorId: executor.executorId?.value,
      taskIds: tasks.map((t) => t.taskId?.value),
      resources: formatResources(consumed),
      executor: executorNew ? 'new' : 'existing',
    },
    'launching task group',
  );
  agent.conn?.send({ message: { $case: 'runTaskGroup', value: { framework: f.info, executor, taskGroup: { tasks } } } });
  return subtractResources(offered, consumed);
}
