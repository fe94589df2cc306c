import { isPartitionAware, isTerminalState } from '@ippc/mesos';
import { schedulerv1, TaskState, TaskStatus_Reason, type agentv1, type TaskStatus } from '@ippc/proto';
import { MasterError } from '../errors.js';
import { sendToFramework, type FrameworkEntry, type MasterContext } from '../model.js';
import { completeTask, masterStatusFor, reconciliationStatus } from './task-records.js';

const { Event_Type } = schedulerv1;

// The scheduler calls about tasks that already run: KILL, ACKNOWLEDGE and RECONCILE.

/** KILL: forwarded to the agent, or kept until the agent re-registers; an unknown task is reconciled. */
export function kill(m: MasterContext, f: FrameworkEntry, call: schedulerv1.Call_Kill): void {
  const taskId = call.taskId?.value ?? '';
  const task = f.tasks.get(taskId);
  if (!task) {
    // Mesos: "Cannot kill task ... because it is unknown; performing reconciliation".
    m.log.warn({ frameworkId: f.id, taskId }, 'cannot kill an unknown task; performing reconciliation');
    reconcile(m, f, [{ taskId, agentId: call.agentId?.value }]);
    return;
  }
  if (isTerminalState(task.state)) return;
  const agent = m.agents.get(task.agentId?.value ?? '');
  const message: agentv1.KillTask = { frameworkId: { value: f.id }, taskId: { value: taskId }, ...(call.killPolicy ? { killPolicy: call.killPolicy } : {}) };
  if (!agent?.conn) {
    m.log.warn({ frameworkId: f.id, taskId }, 'the agent is disconnected; the kill is sent when it re-registers');
    agent?.pendingKills.set(`${f.id}/${taskId}`, message);
    return;
  }
  agent.conn.send({ message: { $case: 'killTask', value: message } });
}

/**
 * ACKNOWLEDGE: forwarded to the agent; a task whose terminal update is acknowledged is completed.
 * An update for a task the master does not know (an executor's UPDATE for a task it does not run,
 * which the agent forwards) is acknowledged to the agent all the same, as Mesos's master does:
 * otherwise the agent's status update manager would resend it forever.
 */
export function acknowledge(m: MasterContext, f: FrameworkEntry, ack: schedulerv1.Call_Acknowledge): void {
  const agentId = ack.agentId?.value ?? '';
  const taskId = ack.taskId?.value ?? '';
  const agent = m.agents.get(agentId);
  if (!agent && !m.unreachableAgents.has(agentId)) throw new MasterError('AGENT_UNKNOWN', `Agent ${agentId} is not registered: nothing to acknowledge there`);
  const task = f.tasks.get(taskId);
  if (agent?.conn) {
    agent.conn.send({
      message: {
        $case: 'statusUpdateAcknowledgement',
        value: { agentId: { value: agentId }, frameworkId: { value: f.id }, taskId: { value: taskId }, uuid: ack.uuid },
      },
    });
  }
  if (!task) m.log.warn({ frameworkId: f.id, agentId, taskId }, 'acknowledgement of an update for a task the master does not know; forwarded to the agent');
  else if (isTerminalState(task.statusUpdateState) && task.statusUpdateUuid && ack.uuid && Buffer.compare(task.statusUpdateUuid, Buffer.from(ack.uuid)) === 0) {
    completeTask(m, f, task);
    m.changed();
  }
}

/** Explicit (with tasks) or implicit (without) reconciliation; answers arrive as UPDATE events. */
export function reconcile(m: MasterContext, f: FrameworkEntry, tasks: { taskId: string; agentId?: string }[]): void {
  const pa = isPartitionAware(f.info);
  if (tasks.length === 0) {
    for (const task of f.tasks.values()) sendToFramework(f, { type: Event_Type.UPDATE, update: { status: reconciliationStatus(task) } });
    for (const task of f.unreachableTasks.values()) {
      sendToFramework(f, {
        type: Event_Type.UPDATE,
        update: { status: { ...reconciliationStatus(task), state: pa ? TaskState.TASK_UNREACHABLE : TaskState.TASK_LOST } },
      });
    }
    return;
  }
  for (const { taskId, agentId } of tasks) {
    const task = f.tasks.get(taskId);
    let status: TaskStatus;
    if (task) status = reconciliationStatus(task);
    else if (f.unreachableTasks.has(taskId) || (agentId && m.unreachableAgents.has(agentId))) {
      status = masterStatusFor(
        taskId,
        agentId,
        pa ? TaskState.TASK_UNREACHABLE : TaskState.TASK_LOST,
        'Reconciliation: Task is unreachable',
        TaskStatus_Reason.REASON_RECONCILIATION,
      );
    } else if (agentId && m.agents.has(agentId)) {
      status = masterStatusFor(
        taskId,
        agentId,
        pa ? TaskState.TASK_UNKNOWN : TaskState.TASK_LOST,
        'Reconciliation: Task is unknown to the agent',
        TaskStatus_Reason.REASON_RECONCILIATION,
      );
    } else {
      status = masterStatusFor(
        taskId,
        agentId,
        pa ? TaskState.TASK_UNKNOWN : TaskState.TASK_LOST,
        'Reconciliation: Task is unknown',
        TaskStatus_Reason.REASON_RECONCILIATION,
      );
    }
    sendToFramework(f, { type: Event_Type.UPDATE, update: { status } });
  }
}
