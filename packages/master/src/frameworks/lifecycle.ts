import { isTerminalState } from '@ippc/mesos';
import { TaskState, TaskStatus_Reason } from '@ippc/proto';
import { now, type FrameworkEntry, type MasterContext } from '../model.js';
import { removeOffer } from '../offers/offers.js';
import { completeTask, masterStatus, pushCompleted, updateTask } from '../tasks/task-records.js';

// A framework's scheduler goes away (the failover timeout starts) or the framework ends for good
// (TEARDOWN, or the failover timeout expired): its tasks are killed and it moves to the completed.

/** The framework's event stream ended (scheduler gone or cancelled). */
export function frameworkDisconnected(m: MasterContext, frameworkId: string, streamId: string): void {
  const f = m.frameworks.get(frameworkId);
  if (!f || f.streamId !== streamId) return;
  f.conn = undefined;
  f.streamId = undefined;
  f.unregisteredTime = now();
  if (f.heartbeat) clearInterval(f.heartbeat);
  for (const offerId of [...f.offers]) removeOffer(m, offerId, false);
  const timeoutMs = Math.max(0, (f.info.failoverTimeout ?? 0) * 1000);
  m.log.info({ frameworkId, failoverTimeoutMs: timeoutMs }, 'framework disconnected');
  f.failoverTimer = setTimeout(
    () => {
      m.log.info({ frameworkId }, 'framework failover timeout: removing it');
      removeFramework(m, f, `Framework ${f.id} removed`);
    },
    Math.min(timeoutMs, 2 ** 31 - 1),
  );
  f.failoverTimer.unref();
  m.observers.frameworkUpdated(f);
  m.changed();
  m.scheduleAllocation();
}

/** TEARDOWN or failover timeout: kill every task, forget offers, move to completed frameworks. */
export function removeFramework(m: MasterContext, f: FrameworkEntry, message: string): void {
  if (f.heartbeat) clearInterval(f.heartbeat);
  if (f.failoverTimer) clearTimeout(f.failoverTimer);
  for (const offerId of [...f.offers]) removeOffer(m, offerId, false);
  const agentsToShutdown = new Set<string>();
  for (const task of [...f.tasks.values()]) {
    agentsToShutdown.add(task.agentId?.value ?? '');
    if (!isTerminalState(task.state)) {
      updateTask(m, task, masterStatus(task, TaskState.TASK_KILLED, message, TaskStatus_Reason.REASON_FRAMEWORK_REMOVED));
    }
    completeTask(m, f, task);
  }
  for (const task of f.unreachableTasks.values()) pushCompleted(m, f, task);
  f.unreachableTasks.clear();
  for (const agentId of agentsToShutdown) {
    const agent = m.agents.get(agentId);
    agent?.conn?.send({ message: { $case: 'shutdownFramework', value: { frameworkId: { value: f.id } } } });
    agent?.executors.delete(f.id);
  }
  const conn = f.conn;
  f.conn = undefined;
  f.streamId = undefined;
  f.unregisteredTime = now();
  conn?.close();
  m.frameworks.delete(f.id);
  m.completedFrameworks.push(f);
  while (m.completedFrameworks.length > m.settings.maxCompletedFrameworks) m.completedFrameworks.shift();
  m.log.info({ frameworkId: f.id }, 'framework removed');
  m.observers.frameworkRemoved(f);
  m.changed();
  m.scheduleAllocation();
}
