import type { schedulerv1 } from '@ippc/proto';
import type { FrameworkEntry, MasterContext } from '../model.js';

// The scheduler calls about executors rather than tasks: SHUTDOWN (the executor kills its tasks
// and ends) and MESSAGE (opaque bytes for it). Both go to the executor's agent and, as in Mesos,
// neither is retried: an agent the master does not know, or one that is disconnected, means the
// call is dropped and counted, and the framework learns of it only through its tasks' statuses.

/** SHUTDOWN: forwarded to the agent; it kills the executor's tasks (TASK_KILLED) and destroys its container. */
export function shutdownExecutor(m: MasterContext, f: FrameworkEntry, call: schedulerv1.Call_Shutdown): void {
  m.counters.messagesShutdownExecutor++;
  const agentId = call.agentId?.value ?? '';
  const executorId = call.executorId?.value ?? '';
  const agent = m.agents.get(agentId);
  if (!agent?.conn) {
    // Mesos logs and drops it: a shutdown is not kept for an agent that comes back.
    m.log.warn(
      { frameworkId: f.id, executorId, agentId },
      `unable to shut down executor '${executorId}': agent ${agentId} is ${agent ? 'disconnected' : 'unknown'}`,
    );
    return;
  }
  m.log.info({ frameworkId: f.id, executorId, agentId }, 'shutting down executor');
  agent.conn.send({ message: { $case: 'shutdownExecutor', value: { frameworkId: { value: f.id }, executorId: { value: executorId } } } });
}

/** MESSAGE: forwarded to the executor's agent, or dropped (and counted) when it cannot be. */
export function messageExecutor(m: MasterContext, f: FrameworkEntry, call: schedulerv1.Call_Message): void {
  m.counters.messagesFrameworkToExecutor++;
  const agentId = call.agentId?.value ?? '';
  const executorId = call.executorId?.value ?? '';
  const agent = m.agents.get(agentId);
  if (!agent?.conn) {
    m.counters.invalidFrameworkToExecutorMessages++;
    m.log.warn(
      { frameworkId: f.id, executorId, agentId },
      `cannot send a framework message to executor '${executorId}': agent ${agentId} is ${agent ? 'disconnected' : 'not registered'}`,
    );
    return;
  }
  agent.conn.send({
    message: { $case: 'frameworkToExecutor', value: { frameworkId: { value: f.id }, executorId: { value: executorId }, data: call.data ?? Buffer.alloc(0) } },
  });
  m.counters.validFrameworkToExecutorMessages++;
}
