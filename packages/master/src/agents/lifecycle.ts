import { isPartitionAware, isTerminalState } from '@ippc/mesos';
import { schedulerv1, TaskState, TaskStatus_Reason, TaskStatus_Source } from '@ippc/proto';
import { now, sendToFramework, type AgentConnection, type AgentEntry, type MasterContext } from '../model.js';
import { rescindOffer } from '../offers/offers.js';
import { completeTask, countUpdate, masterStatus, updateTask } from '../tasks/task-records.js';

const { Event_Type } = schedulerv1;

// An agent's session ends (its offers are rescinded and it has `--agent_reregister_timeout` to come
// back), it stays away too long (unreachable: its tasks too), or it is replaced for good.

/** The agent's session ended: rescind its offers and wait for it to come back. */
export function agentDisconnected(m: MasterContext, agentId: string, conn: AgentConnection): void {
  const agent = m.agents.get(agentId);
  if (!agent || agent.conn !== conn) return;
  agent.conn = undefined;
  for (const offerId of [...agent.offers]) rescindOffer(m, offerId);
  m.log.warn({ agentId, timeoutMs: m.settings.reregisterTimeoutMs }, 'agent disconnected');
  agent.removalTimer = setTimeout(() => markUnreachable(m, agent), m.settings.reregisterTimeoutMs);
  agent.removalTimer.unref();
  m.changed();
}

/** The agent stayed away too long: its tasks become unreachable (TASK_LOST for frameworks that are not partition-aware). */
function markUnreachable(m: MasterContext, agent: AgentEntry): void {
  if (agent.conn || m.agents.get(agent.id) !== agent) return;
  const time = now();
  const message = `Agent ${agent.info.hostname ?? agent.id} is unreachable: health check timed out`;
  for (const f of m.frameworks.values()) {
    for (const task of [...f.tasks.values()]) {
      if (task.agentId?.value !== agent.id) continue;
      if (isTerminalState(task.state)) {
        completeTask(m, f, task);
        continue;
      }
      const state = isPartitionAware(f.info) ? TaskState.TASK_UNREACHABLE : TaskState.TASK_LOST;
      const status = masterStatus(task, state, message, TaskStatus_Reason.REASON_AGENT_REMOVED, { nanoseconds: Math.round(time * 1e9) });
      updateTask(m, task, { ...status, state: TaskState.TASK_UNREACHABLE });
      f.tasks.delete(task.taskId?.value ?? '');
      f.unreachableTasks.set(task.taskId?.value ?? '', task);
      countUpdate(m, state, TaskStatus_Source.SOURCE_MASTER, TaskStatus_Reason.REASON_AGENT_REMOVED);
      sendToFramework(f, { type: Event_Type.UPDATE, update: { status } });
    }
    sendToFramework(f, { type: Event_Type.FAILURE, failure: { agentId: { value: agent.id } } });
  }
  m.agents.delete(agent.id);
  m.unreachableAgents.set(agent.id, { info: agent.info, time });
  m.counters.agentsUnreachable++;
  m.log.warn({ agentId: agent.id }, 'agent marked unreachable');
  m.observers.agentRemoved(agent.id);
  m.changed();
}

/** Removes an agent for good (replaced by a new registration at the same address). */
export function removeAgent(m: MasterContext, agent: AgentEntry, message: string): void {
  if (agent.removalTimer) clearTimeout(agent.removalTimer);
  for (const offerId of [...agent.offers]) rescindOffer(m, offerId);
  for (const f of m.frameworks.values()) {
    for (const task of [...f.tasks.values()]) {
      if (task.agentId?.value !== agent.id) continue;
      if (!isTerminalState(task.state)) {
        const status = masterStatus(task, TaskState.TASK_LOST, message, TaskStatus_Reason.REASON_AGENT_REMOVED);
        updateTask(m, task, status);
        sendToFramework(f, { type: Event_Type.UPDATE, update: { status } });
      }
      completeTask(m, f, task);
    }
  }
  agent.conn?.close(message);
  m.agents.delete(agent.id);
  m.observers.agentRemoved(agent.id);
  m.changed();
}
