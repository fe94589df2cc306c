import { addResources, isPartitionAware, frameworkRole } from '@ippc/mesos';
import { Offer_Operation_Type, schedulerv1, TaskState, TaskStatus_Reason, TaskStatus_Source, type Resource, type TaskInfo } from '@ippc/proto';
import { sendToFramework, type AgentEntry, type FrameworkEntry, type MasterContext } from '../model.js';
import { countUpdate, masterStatusFor } from '../tasks/task-records.js';
import { validateOffers } from '../validation/offers.js';
import { runLaunch } from './launch.js';
import { runLaunchGroup } from './launch-group.js';
import { refuse, removeOffer } from './offers.js';

const { Event_Type } = schedulerv1;

// ACCEPT (Mesos's `Master::accept` and `_accept`): the offers are validated as a whole, then each
// operation runs in order against what is left of them: LAUNCH (launch.ts) and LAUNCH_GROUP
// (launch-group.ts) run tasks; a task that fails validation gets TASK_ERROR and takes nothing from
// the offers. Other operations (reservations, volumes) are not modelled and are ignored.

/** The tasks an ACCEPT would launch, with LAUNCH and LAUNCH_GROUP alike. */
function tasksToLaunch(operations: schedulerv1.Call_Accept['operations']): TaskInfo[] {
  return operations.flatMap((op) => {
    if (op.type === Offer_Operation_Type.LAUNCH) return op.launch?.taskInfos ?? [];
    if (op.type === Offer_Operation_Type.LAUNCH_GROUP) return op.launchGroup?.taskGroup?.tasks ?? [];
    return [];
  });
}

/** ACCEPT: offer validation, then each operation in order. */
export function accept(m: MasterContext, f: FrameworkEntry, call: schedulerv1.Call_Accept): void {
  const offerIds = call.offerIds.map((o) => o.value ?? '');
  const launches = tasksToLaunch(call.operations);
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
    if (op.type === Offer_Operation_Type.LAUNCH) offered = runLaunch(m, f, agent, op, role, offered);
    else if (op.type === Offer_Operation_Type.LAUNCH_GROUP) offered = runLaunchGroup(m, f, agent, op, role, offered);
    else m.log.warn({ frameworkId: f.id, type: op.type }, 'ignoring an offer operation ippc does not support');
  }
}
