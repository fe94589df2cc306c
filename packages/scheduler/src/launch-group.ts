import { randomUUID } from 'node:crypto';
import { pickResources, subtractResources } from '@ippc/mesos';
import {
  ContainerInfo,
  ContainerInfo_Type,
  ExecutorInfo,
  ExecutorInfo_Type,
  Offer_Operation_Type,
  schedulerv1,
  type AgentID,
  type NetworkInfo,
  type Offer,
  type Resource,
  type TaskInfo,
} from '@ippc/proto';
import type { SchedulerContext } from './context.js';
import { SchedulerError } from './errors.js';
import { buildTask, type TaskSpec } from './launch.js';
import { spending } from './offers.js';

const { Call_Type } = schedulerv1;

// Task groups (Mesos's LAUNCH_GROUP, "pods"): tasks delivered together to one executor, the
// built-in DEFAULT one unless told otherwise, each task a nested container in the executor's
// container, sharing its network namespace and addresses.

/** The group's executor, in friendly terms; see {@link groupFromOffer}. */
export interface ExecutorSpec {
  /** Default: `<first task's name>-executor-<random>`. */
  id?: string;
  name?: string;
  /** Mesos requires of a group's executor at least 0.01 cpus, 32 mem and some disk. Defaults: 0.1, 32, 32. */
  cpus?: number;
  mem?: number;
  disk?: number;
  /** Networks the executor's container joins: every task of the group has these addresses. Empty or absent: the agent's network. */
  networks?: NetworkInfo[];
}

/** A DEFAULT ExecutorInfo from a friendly spec and chosen resources (no framework id: {@link launchGroup} fills it in). */
export function buildDefaultExecutor(id: string, resources: Resource[], spec: ExecutorSpec = {}): ExecutorInfo {
  return ExecutorInfo.fromPartial({
    type: ExecutorInfo_Type.DEFAULT,
    executorId: { value: id },
    ...(spec.name !== undefined ? { name: spec.name } : {}),
    resources,
    ...(spec.networks?.length ? { container: ContainerInfo.fromPartial({ type: ContainerInfo_Type.MESOS, networkInfos: spec.networks }) } : {}),
  });
}

/**
 * Builds a task group on `offer`'s agent: a DEFAULT executor (its resources first) and one command
 * task per spec (tasks of a group have `command` and no `executor`; the master gives each the
 * group's), each taking cpus/mem/disk/ports from what is left. Throws RESOURCES_INVALID when the
 * offer cannot hold them all, TASK_SPEC_INVALID for a task spec with an executor.
 */
export function groupFromOffer(
  offer: Offer,
  spec: { executor?: ExecutorSpec; tasks: readonly TaskSpec[] },
  available: readonly Resource[] = offer.resources,
): { executor: ExecutorInfo; tasks: TaskInfo[] } {
  const e = spec.executor ?? {};
  const pick = (what: string, request: Parameters<typeof pickResources>[1]): Resource[] => {
    const picked = pickResources(available, request);
    if (!picked) throw new SchedulerError('RESOURCES_INVALID', `offer ${offer.id?.value} on ${offer.hostname} cannot hold ${what} of the task group`);
    available = subtractResources(available, picked);
    return picked;
  };
  const executorResources = pick('the executor', { cpus: e.cpus ?? 0.1, mem: e.mem ?? 32, disk: e.disk ?? 32 });
  const tasks = spec.tasks.map((t) => {
    if (t.executor) throw new SchedulerError('TASK_SPEC_INVALID', `task '${t.name}' of a group must not name an executor: the group's executor runs it`);
    return buildTask(offer.agentId as AgentID, pick(`task '${t.name}'`, { cpus: t.cpus ?? 0.1, mem: t.mem ?? 32, disk: t.disk, ports: t.ports }), t);
  });
  const id = e.id ?? `${spec.tasks[0]?.name ?? 'group'}-executor-${randomUUID().slice(0, 8)}`;
  return { executor: buildDefaultExecutor(id, executorResources, e), tasks };
}

/**
 * ACCEPT with one LAUNCH_GROUP operation: `tasks` start together under `executor`, or none does
 * (an invalid group fails every task with TASK_ERROR, REASON_TASK_GROUP_INVALID). The executor's
 * `framework_id`, which Mesos requires of LAUNCH_GROUP, is filled in with this framework's id
 * when absent. Offers are spent as by `launch`.
 */
export async function launchGroup(
  ctx: SchedulerContext,
  offers: Offer | readonly Offer[] | readonly string[],
  executor: ExecutorInfo,
  tasks: readonly TaskInfo[],
  options: { refuseSeconds?: number } = {},
): Promise<void> {
  const ids = (Array.isArray(offers) ? offers : [offers]).map((o: Offer | string) => (typeof o === 'string' ? o : (o.id?.value ?? '')));
  const frameworkId = executor.frameworkId ?? (ctx.info.id?.value ? { value: ctx.info.id.value } : undefined);
  await spending(ctx, ids, () =>
    ctx.send({
      type: Call_Type.ACCEPT,
      accept: {
        offerIds: ids.map((value) => ({ value })),
        operations: [
          {
            type: Offer_Operation_Type.LAUNCH_GROUP,
            launchGroup: { executor: { ...executor, ...(frameworkId ? { frameworkId } : {}) }, taskGroup: { tasks: [...tasks] } },
          },
        ],
        ...(options.refuseSeconds !== undefined ? { filters: { refuseSeconds: options.refuseSeconds } } : {}),
      },
    }),
  );
}
