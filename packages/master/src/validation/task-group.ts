import { containsResources, formatResources, normalizeResources, scalarOf } from '@ippc/mesos';
import { ContainerInfo_Type, ExecutorInfo_Type, HealthCheck_Type, type ExecutorInfo, type Resource, type TaskInfo } from '@ippc/proto';
import { overlaps, validateCommandInfo } from './common.js';
import { sameExecutorInfo, validateExecutorForLaunch, validateTaskFields, type TaskContext } from './task.js';

// Mesos's validation of LAUNCH_GROUP (src/master/validation.cpp `task::group::`): every task of the
// group, then the group's executor and the resources of both against the offer. The first error
// wins and fails the whole group. Rules about what ippc does not model (persistence ids,
// revocable and shared resources, `linux_info.share_cgroups`) are left out; where `share_cgroups`
// decides, ippc reads it as unset (Mesos's default, true).

/** Mesos's minimum executor resources (src/master/constants.hpp `MIN_CPUS`, `MIN_MEM`). */
const MIN_CPUS = 0.01;
const MIN_MEM_MB = 32;

/**
 * stout's `Bytes` output: the largest unit that loses nothing (`32MB`, `1GB`, `512KB`, `0B`).
 * Mesos reads `mem` as whole megabytes (`Resources::mem()` truncates the scalar).
 */
function formatMegabytes(mb: number): string {
  const bytes = Math.trunc(mb) * 1024 * 1024;
  const units: [string, number][] = [
    ['TB', 1024 ** 4],
    ['GB', 1024 ** 3],
    ['MB', 1024 ** 2],
    ['KB', 1024],
  ];
  if (bytes === 0) return '0B';
  for (const [unit, size] of units) if (bytes % size === 0) return `${bytes / size}${unit}`;
  return `${bytes}B`;
}

const has = (resources: readonly Resource[], name: string) => resources.some((r) => r.name === name);

/** `task::group::internal::validateTask`: the task's own fields (as for LAUNCH), then what a task of a group may not have. */
export function validateGroupTask(task: TaskInfo, ctx: TaskContext): string | undefined {
  const err = validateTaskFields(task, ctx);
  if (err) return err;
  // The master copies the group's executor into every task without one before validating, so
  // this holds unless a caller skipped that step.
  if (!task.executor) return "'TaskInfo.executor' must be set";
  if (task.container) {
    // A nested container with networks of its own does not join its parent's network namespace:
    // the default executor cannot reach it for HTTP or TCP checks.
    const healthType = task.healthCheck?.type;
    if (task.container.networkInfos.length > 0 && (healthType === HealthCheck_Type.HTTP || healthType === HealthCheck_Type.TCP)) {
      return "HTTP and TCP health checks are not supported for nested containers not joining parent's network";
    }
    if (task.container.type === ContainerInfo_Type.DOCKER) return 'Docker ContainerInfo is not supported on the task';
  }
  if (Object.keys(task.limits ?? {}).length > 0) {
    return "Resource limits may only be set for tasks within a task group when the 'share_cgroups' field is set to 'false'.";
  }
  return undefined;
}

/** `task::group::internal::validateTaskGroupAndExecutorResources`: no range or set resource taken twice across the group and its executor. */
function validateGroupResources(tasks: readonly TaskInfo[], executor: ExecutorInfo): string | undefined {
  const lists = [...tasks.map((t) => t.resources ?? []), executor.resources ?? []];
  for (let i = 0; i < lists.length; i++) {
    for (let j = i + 1; j < lists.length; j++) {
      if (overlaps(lists[i]!, lists[j]!)) {
        const taskResources = tasks.map((t) => formatResources(normalizeResources(t.resources ?? []))).join(', ');
        return `There are overlapping resources in the task group's task resources [ ${taskResources} ] and/or executor resources ${formatResources(normalizeResources(executor.resources ?? []))}`;
      }
    }
  }
  return undefined;
}

/** The group executor's minimum resources: cpus and mem at least Mesos's minimum, and some disk. */
function validateExecutorMinimum(executor: ExecutorInfo): string | undefined {
  const id = executor.executorId?.value ?? '';
  const resources = executor.resources ?? [];
  const cpus = has(resources, 'cpus') ? scalarOf(resources, 'cpus') : undefined;
  if (cpus === undefined || cpus < MIN_CPUS) {
    return `Executor '${id}' uses less CPUs (${cpus === undefined ? 'None' : String(cpus)}) than the minimum required (${MIN_CPUS})`;
  }
  const mem = has(resources, 'mem') ? Math.trunc(scalarOf(resources, 'mem')) : undefined;
  if (mem === undefined || mem < MIN_MEM_MB) {
    return `Executor '${id}' uses less memory (${mem === undefined ? 'None' : formatMegabytes(mem)}) than the minimum required (${formatMegabytes(MIN_MEM_MB)})`;
  }
  if (!has(resources, 'disk')) return `Executor '${id}' uses no disk`;
  return undefined;
}

/** `task::group::internal::validateExecutor`: the executor as for LAUNCH, then the group's rules and the offer. */
export function validateGroupExecutor(tasks: readonly TaskInfo[], executor: ExecutorInfo, ctx: TaskContext, offered: readonly Resource[]): string | undefined {
  const err = validateExecutorForLaunch(executor, ctx);
  if (err) return err;
  const id = executor.executorId?.value ?? '';
  if (executor.type === undefined) return "'ExecutorInfo.type' must be set";
  if (executor.type === ExecutorInfo_Type.UNKNOWN || executor.type === ExecutorInfo_Type.UNRECOGNIZED) return 'Unknown executor type';
  if (executor.container?.type === ContainerInfo_Type.DOCKER) return 'Docker ContainerInfo is not supported on the executor';
  for (const task of tasks) {
    if (task.executor && !sameExecutorInfo(task.executor, executor)) {
      return `The \`ExecutorInfo\` of task '${task.taskId?.value ?? ''}' is different from executor '${id}'`;
    }
  }
  const minimum = validateExecutorMinimum(executor);
  if (minimum) return minimum;
  const overlap = validateGroupResources(tasks, executor);
  if (overlap) return overlap;
  const total = [...tasks.flatMap((t) => t.resources ?? []), ...(ctx.executors.has(id) ? [] : (executor.resources ?? []))];
  if (!containsResources(offered, total)) {
    return `Total resources ${formatResources(normalizeResources(total))} required by task group and its executor are more than available ${formatResources(normalizeResources(offered))}`;
  }
  if (executor.command) {
    // Already caught by the executor's own validation; kept as Mesos has it (the missing space included).
    const cmdErr = validateCommandInfo(executor.command);
    if (cmdErr) return `Executor '${id}'contains an invalid command: ${cmdErr}`;
  }
  return undefined;
}

/**
 * `task::group::validate`: each task in order (`Task '<id>' is invalid: <why>`), then the executor
 * and the resources against what is left of the offers. Tasks earlier in the group count as taken
 * ids for the later ones (Mesos checks ids only against the framework's tasks, and a group that
 * repeats an id would reach its `addTask` twice).
 */
export function validateTaskGroup(tasks: readonly TaskInfo[], executor: ExecutorInfo, ctx: TaskContext, offered: readonly Resource[]): string | undefined {
  const taskIds = new Set(ctx.taskIds);
  for (const task of tasks) {
    const err = validateGroupTask(task, { ...ctx, taskIds });
    if (err) return `Task '${task.taskId?.value ?? ''}' is invalid: ${err}`;
    taskIds.add(task.taskId?.value ?? '');
  }
  return validateGroupExecutor(tasks, executor, ctx, offered);
}

/** The resources a validated group takes from the offer: its tasks', plus the executor's when it is new on the agent. */
export function taskGroupConsumes(tasks: readonly TaskInfo[], executor: ExecutorInfo, ctx: Pick<TaskContext, 'executors'>): Resource[] {
  const executorNew = !ctx.executors.has(executor.executorId?.value ?? '');
  return normalizeResources([...tasks.flatMap((t) => t.resources ?? []), ...(executorNew ? (executor.resources ?? []) : [])]);
}
