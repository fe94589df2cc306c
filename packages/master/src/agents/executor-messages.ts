import { schedulerv1, type agentv1 } from '@ippc/proto';
import { MasterError } from '../errors.js';
import { sendToFramework, type AgentConnection, type MasterContext } from '../model.js';

const { Event_Type } = schedulerv1;

// What agents say about custom executors: an executor's MESSAGE for its framework (Mesos's
// ExecutorToFrameworkMessage, forwarded as a MESSAGE event without retry) and an executor's end
// (Mesos's ExitedExecutorMessage: the executor's resources are free again, and the framework hears
// FAILURE with the executor's id and exit status).

function registered(m: MasterContext, agentId: string, conn: AgentConnection) {
  const agent = m.agents.get(agentId);
  if (!agent || agent.conn !== conn) throw new MasterError('AGENT_INVALID', 'Agent must (re-)register before sending executor messages');
  return agent;
}

/** ExecutorToFramework: a MESSAGE event for a connected framework; dropped (and counted) otherwise. */
export function executorMessage(m: MasterContext, agentId: string, conn: AgentConnection, msg: agentv1.ExecutorToFramework): void {
  registered(m, agentId, conn);
  m.counters.messagesExecutorToFramework++;
  const fid = msg.frameworkId?.value ?? '';
  const f = m.frameworks.get(fid);
  if (!f?.conn) {
    m.counters.invalidExecutorToFrameworkMessages++;
    m.log.warn(
      { agentId, frameworkId: fid, executorId: msg.executorId?.value },
      `not forwarding an executor's message: framework ${fid} is ${f ? 'disconnected' : 'unknown'}`,
    );
    return;
  }
  sendToFramework(f, {
    type: Event_Type.MESSAGE,
    message: { agentId: { value: agentId }, executorId: msg.executorId ?? { value: '' }, data: Buffer.from(msg.data ?? []) },
  });
  m.counters.validExecutorToFrameworkMessages++;
}

/** ExitedExecutor: the executor is forgotten on its agent (its resources offered again) and its framework told. */
export function executorExited(m: MasterContext, agentId: string, conn: AgentConnection, msg: agentv1.ExitedExecutor): void {
  const agent = registered(m, agentId, conn);
  const fid = msg.frameworkId?.value ?? '';
  const eid = msg.executorId?.value ?? '';
  m.log.info({ agentId, frameworkId: fid, executorId: eid, status: msg.status }, 'executor exited');
  const byId = agent.executors.get(fid);
  byId?.delete(eid);
  if (byId?.size === 0) agent.executors.delete(fid);
  const f = m.frameworks.get(fid);
  if (f) {
    sendToFramework(f, {
      type: Event_Type.FAILURE,
      failure: { agentId: { value: agentId }, executorId: { value: eid }, ...(msg.status !== undefined ? { status: msg.status } : {}) },
    });
  }
  m.scheduleAllocation();
  m.changed();
}
