import type { ExecutorInfo, Offer_Operation_LaunchGroup, Resource, TaskInfo } from '@ippc/proto';

// What Mesos's master changes in an ACCEPT's operations before validating them (`Master::accept`):
// the offer's allocation info on every resource without one, and per operation type the fields
// older APIs left out.

/** `injectAllocationInfo` on one resource list. */
function inject(resources: readonly Resource[] | undefined, role: string): Resource[] {
  return (resources ?? []).map((r) => (r.allocationInfo ? r : { ...r, allocationInfo: { role } }));
}

function injectExecutor(executor: ExecutorInfo, role: string): ExecutorInfo {
  return { ...executor, resources: inject(executor.resources, role) };
}

/** LAUNCH: allocation info, and the framework id on a task's executor (optional in older APIs). */
export function normalizeTask(raw: TaskInfo, frameworkId: string, role: string): TaskInfo {
  return {
    ...raw,
    resources: inject(raw.resources, role),
    ...(raw.executor ? { executor: { ...injectExecutor(raw.executor, role), frameworkId: raw.executor.frameworkId ?? { value: frameworkId } } } : {}),
  };
}

/**
 * LAUNCH_GROUP: allocation info on the executor's and every task's resources, and the group's
 * executor copied into each task without one (so that the state endpoints and the operator API
 * name each task's executor). Unlike LAUNCH, the executor's framework id is not filled in: Mesos
 * requires it of LAUNCH_GROUP, which has no older API to stay compatible with.
 */
export function normalizeGroup(raw: Offer_Operation_LaunchGroup, role: string): { executor: ExecutorInfo; tasks: TaskInfo[] } {
  const executor = injectExecutor(raw.executor ?? { resources: [] }, role);
  const tasks = (raw.taskGroup?.tasks ?? []).map((t) => ({
    ...t,
    resources: inject(t.resources, role),
    executor: t.executor ? injectExecutor(t.executor, role) : executor,
  }));
  return { executor, tasks };
}
