import { isTerminalState } from '@ippc/mesos';
import { executorv1 } from '@ippc/proto';
import type { AgentContext, ExecutorRecord } from '../model.js';
import { killTask } from '../master/master-messages.js';
import { shutdownCustomExecutor } from './custom.js';

// What a scheduler asks of an executor through the master: SHUTDOWN and MESSAGE (Mesos's
// ShutdownExecutorMessage and FrameworkToExecutorMessage). A custom executor gets them as events
// (executors/custom.ts). For a command executor the agent does what Mesos's does
// (src/launcher/executor.cpp): on SHUTDOWN it kills its task within the executor's shutdown grace
// period and reports TASK_KILLED; a MESSAGE reaches it and is ignored.

/** The executor a message names, or why it cannot be reached (Mesos's log lines). */
function findExecutor(a: AgentContext, fid: string, eid: string): { exec: ExecutorRecord } | { why: string } {
  const f = a.frameworks.get(fid);
  if (!f) return { why: `executor '${eid}' of unknown framework ${fid}` };
  const exec = f.executors.get(eid);
  if (!exec) return { why: `unknown executor '${eid}' of framework ${fid}` };
  if (exec.state === 'terminated' || exec.destroying) return { why: `executor '${eid}' of framework ${fid} is terminating` };
  return { exec };
}

/**
 * SHUTDOWN: every task of the executor not yet ended is killed, with the executor's
 * `shutdown_grace_period` (else the agent's default, Mesos's `--executor_shutdown_grace_period`)
 * as the grace of the kill; the tasks end TASK_KILLED and the container is destroyed.
 */
export async function shutdownExecutor(a: AgentContext, fid: string, eid: string): Promise<void> {
  const found = findExecutor(a, fid, eid);
  if ('why' in found) {
    a.log.warn({ frameworkId: fid, executorId: eid }, `cannot shut down ${found.why}`);
    return;
  }
  const { exec } = found;
  if (exec.kind === 'custom') return shutdownCustomExecutor(a, exec);
  // The default executor, like the command executor, kills its tasks; it ends once none is left.
  const grace = exec.info.shutdownGracePeriod;
  a.log.info({ frameworkId: fid, executorId: eid }, 'shutting down executor');
  const live = [...exec.tasks.values()].filter((t) => !t.terminalSent && !isTerminalState(t.task.state));
  await Promise.all(live.map((t) => killTask(a, fid, t.task.taskId?.value ?? '', grace ? { gracePeriod: grace } : undefined)));
}

/** MESSAGE for an executor: delivered to a live one (the command executor ignores it), else dropped; counted either way. */
export function frameworkMessage(a: AgentContext, fid: string, eid: string, data: Uint8Array): void {
  const found = findExecutor(a, fid, eid);
  if ('why' in found) {
    a.counters.invalidFrameworkMessages++;
    a.log.warn({ frameworkId: fid, executorId: eid, bytes: data.length }, `dropping a framework message for ${found.why}`);
    return;
  }
  const { exec } = found;
  if (exec.kind === 'custom') {
    if (!exec.stream) {
      // Mesos drops it for an executor that has not subscribed (or is not connected).
      a.counters.invalidFrameworkMessages++;
      a.log.warn({ frameworkId: fid, executorId: eid }, 'dropping a framework message for an executor that is not subscribed');
      return;
    }
    exec.stream.send({ type: executorv1.Event_Type.MESSAGE, message: { data: Buffer.from(data) } });
  } else {
    a.log.debug({ frameworkId: fid, executorId: eid, bytes: data.length }, 'framework message delivered; the command executor ignores it');
  }
  a.counters.validFrameworkMessages++;
}
