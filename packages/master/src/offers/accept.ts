import { addResources, isPartitionAware, frameworkRole, subtractResources, taskFromTaskInfo } from '@ippc/mesos';
import {
  Offer_Operation_Type,
  schedulerv1,
  TaskState,
  TaskStatus_Reason,
  TaskStatus_Source,
  type ExecutorInfo,
  type Resource,
  type TaskInfo,
} from '@ippc/proto';
import { sendToFramework, type AgentEntry, type FrameworkEntry, type MasterContext } from '../model.js';
import { countUpdate, masterStatusFor } from '../tasks/task-records.js';
import { taskConsumes, validateTask, type TaskContext } from '../validation/task.js';
import { validateOffers } from '../validation/offers.js';
import { refuse, removeOffer } from './offers.js';

const { Event_Type } = schedulerv1;

// ACCEPT (Mesos's `Master::accept` and `_accept`): the offers are validated as a whole, then each
// operation runs in order against what is left of them. Only LAUNCH runs tasks; a task that fails
// validation gets TASK_ERROR and takes nothing from the offers.

/** ACCEPT: offer validation, then each operation in order (only LAUNCH runs tasks). */
export function accept(m: MasterContext, f: FrameworkEntry, call: schedulerv1.Call_Accept): void {
  const offerIds = call.offerIds.map((o) => o.value ?? '');
  const launches = call.operations.filter((op) => op.type === Offer_Operation_Type.LAUNCH).flatMap((op) => op.launch?.taskInfos ?? []);
  if (offerIds.length === 0) {
    // An ACCEPT without offers: every task is lost, as with invalid offers (Mesos's message).
    loseLaunches(f, launches, 'No offers specified');
    return;
  }
  const offerErr = validateOffers(
    offerIds,
    (id) => {
      const o = m.offers.get(id);
      return o ? { frameworkId: o.frameworkId, agentId: o.agentId, role: o.offer.allocationInfo?.role ?? '*' } : undefined;
    },
    f.id,
  );
  if (offerErr) {
    dropInvalidOffers(m, f, offerIds, launches, offerErr);
    return;
  }
  const agentId = m.offers.get(offerIds[0]!)!.agentId;
  let offered: Resource[] = [];
  for (const id of offerIds) offered = addResources(offered, removeOffer(m, id, false)!.offer.resources ?? []);
  runOperations(m, f, m.agents.get(agentId)!, call.operations, offered);
  // Whatever was offered and not used returns to the pool, refused to this framework for a while.
  refuse(f, agentId, call.filters?.refuseSeconds);
  m.changed();
  m.scheduleAllocation();
}

/** The valid offers among them go back to the pool; every task to launch is lost. */
function dropInvalidOffers(m: MasterContext, f: FrameworkEntry, offerIds: string[], launches: TaskInfo[], offerErr: string): void {
  for (const id of offerIds) {
    const o = m.offers.get(id);
    if (o && o.frameworkId === f.id) removeOffer(m, id, false);
  }
  const state = loseLaunches(f, launches, offerErr);
  for (let i = 0; i < launches.length; i++) countUpdate(m, state, TaskStatus_Source.SOURCE_MASTER, TaskStatus_Reason.REASON_INVALID_OFFERS);
  m.log.warn({ frameworkId: f.id, offerIds, error: offerErr }, 'ACCEPT used invalid offers');
  m.scheduleAllocation();
}

/** Every task to launch is lost (dropped, for a partition-aware framework): `Task launched with invalid offers: <why>`. */
function loseLaunches(f: FrameworkEntry, launches: TaskInfo[], why: string): TaskState {
  const state = isPartitionAware(f.info) ? TaskState.TASK_DROPPED : TaskState.TASK_LOST;
  for (const task of launches) {
    const status = masterStatusFor(
      task.taskId?.value ?? '',
      task.agentId?.value,
      state,
      `Task launched with invalid offers: ${why}`,
      TaskStatus_Reason.REASON_INVALID_OFFERS,
    );
    sendToFramework(f, { type: Event_Type.UPDATE, update: { status } });
  }
  return state;
}

/** Each operation in order, against what is left of the offered resources. */
function runOperations(m: MasterContext, f: FrameworkEntry, agent: AgentEntry, operations: schedulerv1.Call_Accept['operations'], offered: Resource[]): void {
  const role = frameworkRole(f.info);
  for (const op of operations) {
    if (op.type === Offer_Operation_Type.LAUNCH) {
      for (const raw of op.launch?.taskInfos ?? []) {
        if (op.id) {
          taskError(m, f, raw, 'The `id` field cannot be set on LAUNCH operations');
          continue;
        }
        const task = normalizeTask(raw, f, role);
        const ctx = taskContext(m, f, agent);
        const err = validateTask(task, ctx, offered);
        if (err) {
          taskError(m, f, task, err);
          continue;
        }
        offered = subtractResources(offered, taskConsumes(task, ctx));
        launch(m, f, agent, task);
      }
    } else if (op.type === Offer_Operation_Type.LAUNCH_GROUP) {
      for (const raw of op.launchGroup?.taskGroup?.tasks ?? []) {
        taskError(m, f, raw, 'LAUNCH_GROUP is not supported by ippc: launch each task with LAUNCH', TaskStatus_Reason.REASON_TASK_GROUP_INVALID);
      }
    } else {
      m.log.warn({ frameworkId: f.id, type: op.type }, 'ignoring an offer operation ippc does not support');
    }
  }
}

/** Mesos's `injectAllocationInfo` and the executor's framework id, before validation. */
function normalizeTask(raw: TaskInfo, f: FrameworkEntry, role: string): TaskInfo {
  const inject = (rs: Resource[]) => rs.map((r) => (r.allocationInfo ? r : { ...r, allocationInfo: { role } }));
  return {
    ...raw,
    resources: inject(raw.resources ?? []),
    ...(raw.executor
      ? {
          executor: {
            ...raw.executor,
            frameworkId: raw.executor.frameworkId ?? { value: f.id },
            resources: inject(raw.executor.resources ?? []),
          },
        }
      : {}),
  };
}

function taskContext(m: MasterContext, f: FrameworkEntry, agent: AgentEntry): TaskContext {
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

/** TASK_ERROR for a task that failed validation (Mesos: REASON_TASK_INVALID unless said otherwise). */
function taskError(m: MasterContext, f: FrameworkEntry, task: TaskInfo, message: string, reason = TaskStatus_Reason.REASON_TASK_INVALID): void {
  m.counters.tasksInvalid++;
  countUpdate(m, TaskState.TASK_ERROR, TaskStatus_Source.SOURCE_MASTER, reason);
  m.log.warn({ frameworkId: f.id, taskId: task.taskId?.value, error: message }, 'task is invalid');
  sendToFramework(f, {
    type: Event_Type.UPDATE,
    update: { status: masterStatusFor(task.taskId?.value ?? '', task.agentId?.value, TaskState.TASK_ERROR, message, reason) },
  });
}

/** Records the task (and a new custom executor) and sends RUN_TASK to the agent. */
function launch(m: MasterContext, f: FrameworkEntry, agent: AgentEntry, task: TaskInfo): void {
  const taskId = task.taskId!.value!;
  const record = taskFromTaskInfo(task, { frameworkId: f.id, agentId: agent.id, ...(f.info.user !== undefined ? { frameworkUser: f.info.user } : {}) });
  f.tasks.set(taskId, record);
  m.observers.taskAdded(record);
  if (task.executor) {
    const byId = agent.executors.get(f.id) ?? new Map<string, ExecutorInfo>();
    byId.set(task.executor.executorId?.value ?? '', task.executor);
    agent.executors.set(f.id, byId);
  }
  m.counters.tasksLaunched++;
  m.log.info({ frameworkId: f.id, taskId, agentId: agent.id }, 'launching task');
  agent.conn?.send({ message: { $case: 'runTask', value: { framework: f.info, task } } });
}
