import { schedulerv1, type agentv1, type TaskState } from '@ippc/proto';
import { MasterError } from '../errors.js';
import { sendToFramework, type AgentConnection, type MasterContext } from '../model.js';
import { countUpdate, updateTask } from '../tasks/task-records.js';

const { Event_Type } = schedulerv1;

/** A status update from an agent's status update manager, recorded and forwarded to the framework. */
export function statusUpdate(m: MasterContext, agentId: string, conn: AgentConnection, update: agentv1.StatusUpdate): void {
  const agent = m.agents.get(agentId);
  if (!agent || agent.conn !== conn) throw new MasterError('AGENT_INVALID', 'Agent must (re-)register before sending status updates');
  const status = update.status;
  if (!status?.taskId?.value || status.state === undefined)
    throw new MasterError('AGENT_INVALID', 'Not initialized: status_update.status.task_id, status_update.status.state');
  const fid = update.frameworkId?.value ?? '';
  const f = m.frameworks.get(fid);
  countUpdate(m, status.state, status.source, status.reason);
  if (!f) {
    m.log.warn({ agentId, frameworkId: fid, taskId: status.taskId.value }, 'status update for an unknown framework: dropped (the agent retries)');
    return;
  }
  const task = f.tasks.get(status.taskId.value);
  if (task) updateTask(m, task, status, update.latestState as TaskState | undefined);
  else m.log.warn({ agentId, frameworkId: fid, taskId: status.taskId.value }, 'status update for a task the master does not know; forwarding it');
  sendToFramework(f, { type: Event_Type.UPDATE, update: { status } });
}
