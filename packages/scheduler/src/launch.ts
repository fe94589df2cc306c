import { randomUUID } from 'node:crypto';
import { pickResources } from '@ippc/mesos';
import {
  ContainerInfo,
  Offer_Operation_Type,
  schedulerv1,
  TaskInfo,
  type AgentID,
  type CommandInfo,
  type ExecutorInfo,
  type Labels,
  type NetworkInfo,
  type Offer,
  type Resource,
} from '@ippc/proto';
import type { SchedulerContext } from './context.js';
import { SchedulerError } from './errors.js';
import { spending } from './offers.js';

const { Call_Type } = schedulerv1;

// Launches and accepts: a task built from an offer, and the ACCEPT and DECLINE calls that spend offers.

/** A command task to launch, in friendly terms; see {@link Scheduler.taskFromOffer}. */
export interface TaskSpec {
  name: string;
  /** Default: `<name>-<random>`. */
  id?: string;
  /** A shell command (`sh -c`), or a full CommandInfo. Not with `executor`. */
  command?: string | CommandInfo;
  /**
   * A custom executor to run the task (Mesos: one of `command` or `executor`). The executor's
   * container joins `executor.container.network_infos` once; every task of the executor on the
   * agent shares its addresses. Its `resources` (allocated to the framework's role) come from the
   * offer too when the executor is not running there yet.
   */
  executor?: ExecutorInfo;
  /** Bytes for a custom executor (TaskInfo.data): what to run, in whatever form it reads. */
  data?: Uint8Array | string;
  cpus?: number;
  mem?: number;
  disk?: number;
  /** How many ports to take from the offer (lowest first), or which ones. The task sees them as PORT0..N and PORTS. */
  ports?: number | number[];
  /** Networks to join (opt in to an IP of the task's own); empty or absent: the agent's network. */
  networks?: NetworkInfo[];
  /** A full ContainerInfo; `networks` are added to it. */
  container?: ContainerInfo;
  labels?: Labels;
  killGracePeriodMs?: number;
}

/**
 * Builds a command TaskInfo on `offer`'s agent, taking cpus/mem/disk/ports from what is left of
 * it. Throws RESOURCES_INVALID when the offer cannot hold the task.
 */
export function taskFromOffer(offer: Offer, spec: TaskSpec, available: readonly Resource[] = offer.resources): TaskInfo {
  const resources = pickResources(available, { cpus: spec.cpus ?? 0.1, mem: spec.mem ?? 32, disk: spec.disk, ports: spec.ports });
  if (!resources) throw new SchedulerError('RESOURCES_INVALID', `offer ${offer.id?.value} on ${offer.hostname} cannot hold task '${spec.name}'`);
  return buildTask(offer.agentId as AgentID, resources, spec);
}

/** ACCEPT with one LAUNCH operation. Outcomes arrive as status updates. */
export async function launch(
  ctx: SchedulerContext,
  offers: Offer | readonly Offer[] | readonly string[],
  tasks: readonly TaskInfo[],
  options: { refuseSeconds?: number } = {},
): Promise<void> {
  const ids = (Array.isArray(offers) ? offers : [offers]).map((o: Offer | string) => (typeof o === 'string' ? o : (o.id?.value ?? '')));
  await spending(ctx, ids, () =>
    ctx.send({
      type: Call_Type.ACCEPT,
      accept: {
        offerIds: ids.map((value) => ({ value })),
        operations: [{ type: Offer_Operation_Type.LAUNCH, launch: { taskInfos: [...tasks] } }],
        ...(options.refuseSeconds !== undefined ? { filters: { refuseSeconds: options.refuseSeconds } } : {}),
      },
    }),
  );
}

/** ACCEPT with arbitrary operations (e.g. to test the master's answers). */
export async function accept(
  ctx: SchedulerContext,
  offerIds: readonly string[],
  operations: schedulerv1.Call_Accept['operations'],
  refuseSeconds?: number,
): Promise<void> {
  await spending(ctx, offerIds, () =>
    ctx.send({
      type: Call_Type.ACCEPT,
      accept: { offerIds: offerIds.map((value) => ({ value })), operations, ...(refuseSeconds !== undefined ? { filters: { refuseSeconds } } : {}) },
    }),
  );
}

export async function decline(ctx: SchedulerContext, offerIds: readonly string[], refuseSeconds?: number): Promise<void> {
  await spending(ctx, offerIds, () =>
    ctx.send({
      type: Call_Type.DECLINE,
      decline: { offerIds: offerIds.map((value) => ({ value })), ...(refuseSeconds !== undefined ? { filters: { refuseSeconds } } : {}) },
    }),
  );
}

/** A command TaskInfo from a friendly spec and chosen resources. */
export function buildTask(agentId: AgentID, resources: Resource[], spec: TaskSpec): TaskInfo {
  if (!spec.executor === !spec.command) throw new SchedulerError('TASK_SPEC_INVALID', `task '${spec.name}' needs a command or an executor (one, not both)`);
  const command: CommandInfo | undefined = typeof spec.command === 'string' ? { shell: true, value: spec.command, uris: [], arguments: [] } : spec.command;
  let container = spec.container ? ContainerInfo.fromPartial(spec.container) : undefined;
  if (spec.networks?.length) {
    container = ContainerInfo.fromPartial({ type: 2, ...(container ?? {}), networkInfos: [...(container?.networkInfos ?? []), ...spec.networks] });
  }
  return TaskInfo.fromPartial({
    name: spec.name,
    taskId: { value: spec.id ?? `${spec.name}-${randomUUID().slice(0, 8)}` },
    agentId,
    resources,
    ...(command ? { command } : {}),
    ...(spec.executor ? { executor: spec.executor } : {}),
    ...(spec.data !== undefined ? { data: Buffer.from(spec.data) } : {}),
    ...(container ? { container } : {}),
    ...(spec.labels ? { labels: spec.labels } : {}),
    ...(spec.killGracePeriodMs !== undefined ? { killPolicy: { gracePeriod: { nanoseconds: spec.killGracePeriodMs * 1e6 } } } : {}),
  });
}
