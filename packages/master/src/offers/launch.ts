import { subtractResources, taskFromTaskInfo } from '@ippc/mesos';
import type { ExecutorInfo, Offer_Operation, Resource, TaskInfo } from '@ippc/proto';
import type { AgentEntry, FrameworkEntry, MasterContext } from '../model.js';
import { taskError } from '../tasks/task-records.js';
import { taskConsumes, validateTask, type TaskContext } from '../validation/task.js';
import { normalizeTask } from './normalize.js';

// LAUNCH (Mesos's `Master::_accept`, case LAUNCH): each task in order, validated against what is
// left of the offers; a valid one is recorded STAGING and sent to the agent as RunTask, an invalid
// one gets TASK_ERROR and takes nothing. What LAUNCH and LAUNCH_GROUP share is here too.

/** What task validation needs to know, read from the records. */
export function taskContext(m: MasterContext, f: FrameworkEntry, agent: AgentEntry): TaskContext {
  return {
    frameworkId: f.id,
    taskIds: new Set(f.tasks.keys()),
    unreachableTaskIds: new Set(f.unreachableTasks.keys()),
    agentId: agent.id,
    executors: agent.executors.get(f.id) ?? new Map(),
    agentSupportsLimits: false,
    onWarning: (message) => m.log.warn({ frameworkId: f.id }, message),
  };
}

/** Records a launched task STAGING (Mesos's `addTask`) and tells the observers. */
export function recordTask(m: MasterContext, f: FrameworkEntry, agent: AgentEntry, task: TaskInfo): void {
  const record = taskFromTaskInfo(task, { frameworkId: f.id, agentId: agent.id, ...(f.info.user !== undefined ? { frameworkUser: f.info.user } : {}) });
  f.tasks.set(task.taskId!.value!, record);
  m.observers.taskAdded(record);
  m.counters.tasksLaunched++;
}

/** Records an executor on its agent (Mesos's `addExecutor`): its resources are in use until it exits. */
export function recordExecutor(f: FrameworkEntry, agent: AgentEntry, executor: ExecutorInfo): void {
  const byId = agent.executors.get(f.id) ?? new Map<string, ExecutorInfo>();
  byId.set(executor.executorId?.value ?? '', executor);
  agent.executors.set(f.id, byId);
}

/** LAUNCH: each task in order; returns what is left of the offered resources. */
export function runLaunch(m: MasterContext, f: FrameworkEntry, agent: AgentEntry, op: Offer_Operation, role: string, offered: Resource[]): Resource[] {
  for (const raw of op.launch?.taskInfos ?? []) {
    if (op.id) {
      taskError(m, f, raw, 'The `id` field cannot be set on LAUNCH operations');
      continue;
    }
    const task = normalizeTask(raw, f.id, role);
    const ctx = taskContext(m, f, agent);
    const err = validateTask(task, ctx, offered);
    if (err) {
      taskError(m, f, task, err);
      continue;
    }
    offered = subtractResources(offered, taskConsumes(task, ctx));
    recordTask(m, f, agent, task);
    if (task.executor) recordExecutor(f, agent, task.executor);
    m.log.info({ frameworkId: f.id, taskId: task.taskId?.value, agentId: agent.id }, 'launching task');
    agent.conn?.send({ message: { $case: 'runTask', value: { framework: f.info, task } } });
  }
  return offered;
}
