import { ContainerInfo_Type, ExecutorInfo, ExecutorInfo_Type, type Resource, type TaskInfo } from '@ippc/proto';
import { containsResources, formatResources, normalizeResources } from '@ippc/mesos';
import { validateId } from './framework.js';
import {
  overlaps,
  validateAllocatedToSingleRole,
  validateCheckInfo,
  validateCommandInfo,
  validateContainerInfo,
  validateHealthCheck,
  validateResourceList,
} from './common.js';

// Mesos's validation of executors and tasks (src/master/validation.cpp `executor::`, `task::`).

/** `executor::validate` (type, id, shutdown grace period, command, container). */
export function validateExecutorInfo(executor: ExecutorInfo, onWarning?: (message: string) => void): string | undefined {
  switch (executor.type) {
    case ExecutorInfo_Type.DEFAULT:
      if (executor.command) return "'ExecutorInfo.command' must not be set for 'DEFAULT' executor";
      if (executor.container) {
        if (executor.container.type !== ContainerInfo_Type.MESOS) return "'ExecutorInfo.container.type' must be 'MESOS' for 'DEFAULT' executor";
        if (executor.container.mesos?.image) return "'ExecutorInfo.container.mesos.image' must not be set for 'DEFAULT' executor";
      }
      break;
    case ExecutorInfo_Type.CUSTOM:
      if (!executor.command) return "'ExecutorInfo.command' must be set for 'CUSTOM' executor";
      break;
  }
  const idErr = validateId(executor.executorId?.value ?? '');
  if (idErr) return idErr;
  if ((executor.shutdownGracePeriod?.nanoseconds ?? 0) < 0) return "ExecutorInfo's 'shutdown_grace_period' must be non-negative";
  if (executor.command) {
    const err = validateCommandInfo(executor.command);
    if (err) return `Executor's \`CommandInfo\` is invalid: ${err}`;
  }
  if (executor.container) {
    const err = validateContainerInfo(executor.container, onWarning);
    if (err) return `Executor's \`ContainerInfo\` is invalid: ${err}`;
  }
  return undefined;
}

/** Whether two ExecutorInfos are the same message (Mesos's `operator==`: field by field, whatever the key order). */
export function sameExecutorInfo(a: ExecutorInfo, b: ExecutorInfo): boolean {
  return Buffer.compare(Buffer.from(ExecutorInfo.encode(a).finish()), Buffer.from(ExecutorInfo.encode(b).finish())) === 0;
}

/**
 * `executor::internal::validate`: the executor's own fields, then against the framework and the
 * agent (its framework id, its resources, an executor of the same id already there). Shared by
 * LAUNCH (an executor in a task) and LAUNCH_GROUP (the group's executor).
 */
export function validateExecutorForLaunch(executor: ExecutorInfo, ctx: TaskContext): string | undefined {
  const err = validateExecutorInfo(executor, ctx.onWarning);
  if (err) return err;
  if (!executor.frameworkId) return "'ExecutorInfo.framework_id' must be set";
  if (executor.frameworkId.value !== ctx.frameworkId) {
    return `ExecutorInfo has an invalid FrameworkID (Actual: ${executor.frameworkId.value ?? ''} vs Expected: ${ctx.frameworkId})`;
  }
  const resErr = validateResourceList(executor.resources ?? []);
  if (resErr) return `Executor uses invalid resources: ${resErr}`;
  const single = validateAllocatedToSingleRole(executor.resources ?? []);
  if (single) return `Invalid executor resources: ${single}`;
  const existing = ctx.executors.get(executor.executorId?.value ?? '');
  // Mesos appends both ExecutorInfos in protobuf text format after the newline; ippc stops at it.
  if (existing && !sameExecutorInfo(existing, executor)) return 'ExecutorInfo is not compatible with existing ExecutorInfo with same ExecutorID.\n';
  return undefined;
}

/** What task validation needs to know about the framework and the agent. */
export interface TaskContext {
  frameworkId: string;
  /** Ids of the framework's tasks that are not completed (Mesos's `framework->tasks`). */
  taskIds: ReadonlySet<string>;
  unreachableTaskIds: ReadonlySet<string>;
  agentId: string;
  /** Executors the framework already runs on this agent. */
  executors: ReadonlyMap<string, ExecutorInfo>;
  /** Whether the agent handles task resource limits (ippc agents do not). */
  agentSupportsLimits?: boolean;
  onWarning?: (message: string) => void;
}

/** `task::internal::validateTask`: the task's own fields, in Mesos's order. */
export function validateTaskFields(task: TaskInfo, ctx: TaskContext): string | undefined {
  const taskId = task.taskId?.value ?? '';
  const checks: (() => string | undefined)[] = [
    () => validateId(taskId),
    () => {
      if (ctx.taskIds.has(taskId)) return `Task has duplicate ID: ${taskId}`;
      if (ctx.unreachableTaskIds.has(taskId)) return `Task reuses the ID of an unreachable task: ${taskId}`;
      return undefined;
    },
    () =>
      (task.agentId?.value ?? '') !== ctx.agentId ? `Task uses invalid agent ${task.agentId?.value ?? ''} while agent ${ctx.agentId} is expected` : undefined,
    () => ((task.killPolicy?.gracePeriod?.nanoseconds ?? 0) < 0 ? "Task's 'kill_policy.grace_period' must be non-negative" : undefined),
    () => ((task.maxCompletionTime?.nanoseconds ?? 0) < 0 ? "Task's `max_completion_time` must be non-negative" : undefined),
    () => {
      if (!task.check) return undefined;
      const err = validateCheckInfo(task.check);
      return err ? `Task uses invalid check: ${err}` : undefined;
    },
    () => {
      if (!task.healthCheck) return undefined;
      const err = validateHealthCheck(task.healthCheck);
      return err ? `Task uses invalid health check: ${err}` : undefined;
    },
    () => {
      if ((task.resources ?? []).length === 0) return 'Task uses no resources';
      const err = validateResourceList(task.resources);
      if (err) return `Task uses invalid resources: ${err}`;
      const single = validateAllocatedToSingleRole(task.resources);
      if (single) return `Invalid task resources: ${single}`;
      return undefined;
    },
    () => {
      if (!task.command) return undefined;
      const err = validateCommandInfo(task.command);
      return err ? `Task's \`CommandInfo\` is invalid: ${err}` : undefined;
    },
    () => {
      if (!task.container) return undefined;
      const err = validateContainerInfo(task.container, ctx.onWarning);
      return err ? `Task's \`ContainerInfo\` is invalid: ${err}` : undefined;
    },
    () => {
      const limits = Object.keys(task.limits ?? {});
      if (limits.length === 0) return undefined;
      if (!ctx.agentSupportsLimits) return 'Agent is not capable of handling task resource limits';
      return undefined;
    },
  ];
  for (const check of checks) {
    const err = check();
    if (err) return err;
  }
  return undefined;
}

/** `task::internal::validateExecutor`: the executor (if any) and the resources against the offer. */
export function validateTaskExecutor(task: TaskInfo, ctx: TaskContext, offered: readonly Resource[]): string | undefined {
  if (!!task.executor === !!task.command) return 'Task should have at least one (but not both) of CommandInfo or ExecutorInfo present';
  let total: Resource[] = [...(task.resources ?? [])];
  if (task.executor) {
    const executor = task.executor;
    const err = validateExecutorForLaunch(executor, ctx);
    if (err) return err;
    if (executor.type !== undefined && executor.type !== ExecutorInfo_Type.CUSTOM) return "'ExecutorInfo.type' must be 'CUSTOM'";
    if (!executor.command) return "'ExecutorInfo.command' must be set";
    if (!ctx.executors.has(executor.executorId?.value ?? '')) total = [...total, ...(executor.resources ?? [])];
  }
  // validateTaskAndExecutorResources
  const all = [...(task.resources ?? []), ...(task.executor?.resources ?? [])];
  const allErr = validateResourceList(all);
  if (allErr) return `Task and its executor use invalid resources: ${allErr}`;
  if (task.executor && overlaps(task.resources ?? [], task.executor.resources ?? [])) {
    return `There are overlapping resources in the task resources ${formatResources(task.resources ?? [])} and executor resources ${formatResources(task.executor.resources ?? [])}`;
  }
  if (!containsResources(offered, total)) {
    return `Total resources ${formatResources(normalizeResources(total))} required by task and its executor is more than available ${formatResources(normalizeResources(offered))}`;
  }
  return undefined;
}

/** `task::validate`: the whole task against the framework, the agent and what is left of the offers. */
export function validateTask(task: TaskInfo, ctx: TaskContext, offered: readonly Resource[]): string | undefined {
  return validateTaskFields(task, ctx) ?? validateTaskExecutor(task, ctx, offered);
}

/** The resources a validated task takes from the offer (task, plus a new executor's). */
export function taskConsumes(task: TaskInfo, ctx: Pick<TaskContext, 'executors'>): Resource[] {
  const executorNew = task.executor && !ctx.executors.has(task.executor.executorId?.value ?? '');
  return normalizeResources([...(task.resources ?? []), ...(executorNew ? (task.executor?.resources ?? []) : [])]);
}
