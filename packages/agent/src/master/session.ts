import type { agentv1, ExecutorInfo, FrameworkInfo, Task } from '@ippc/proto';
import { checkpointAgent } from '../checkpoint.js';
import { runTask } from '../launch/run-task.js';
import type { AgentContext } from '../model.js';
import { frameworkMessage, shutdownExecutor } from '../executors/executor-messages.js';
import { runTaskGroup } from '../launch/run-task-group.js';
import { acknowledge, killTask, reconcileTasks, shutdownFramework } from './master-messages.js';

// The agent's side of its session with the master: what it says when it (re-)connects, and what it
// does with each message the master sends (MasterLink carries them, with backoff and retries).

/** REGISTER (a new agent) or REREGISTER with what runs here (Mesos's `Slave::doReliableRegistration`). */
export function hello(a: AgentContext, pid: string): agentv1.AgentMessage {
  const base = { version: '0.1.0', pid };
  if (!a.id) return { message: { $case: 'registerAgent', value: { agent: a.info, ...base } } };
  const tasks: Task[] = [];
  const frameworks: FrameworkInfo[] = [];
  const executorInfos: ExecutorInfo[] = [];
  for (const f of a.frameworks.values()) {
    let any = false;
    for (const e of f.executors.values()) {
      if (e.tasks.size === 0) continue;
      for (const t of e.tasks.values()) tasks.push(t.task);
      any = true;
      // Command executors are the agent's own (their id is the task id); Mesos does not report them,
      // nor executors that ended (they hold no resources): the master forgets those. One found
      // ended on recovery could not tell the master it exited (there was no master yet).
      if (!e.tasks.has(e.id) && e.state !== 'terminated' && !e.ended) executorInfos.push(e.info);
    }
    if (any) frameworks.push(f.info);
  }
  return { message: { $case: 'reregisterAgent', value: { agent: a.info, ...base, tasks, frameworks, executorInfos } } };
}

/** One message from the master, handed to the part of the agent that owns it. */
export function onMasterMessage(a: AgentContext, m: agentv1.MasterMessage): void {
  const msg = m.message;
  if (!msg) return;
  const run = (p: Promise<unknown>, what: string) => p.catch((err: Error) => a.log.error({ err: err.message, stack: err.stack }, `${what} failed`));
  switch (msg.$case) {
    case 'agentRegistered':
      void run(onRegistered(a, msg.value.agentId?.value ?? ''), 'registration');
      break;
    case 'agentReregistered':
      a.log.info({ agentId: a.id }, 're-registered with the master');
      a.sum.flush();
      break;
    case 'runTask':
      void run(runTask(a, msg.value.framework!, msg.value.task!), 'run task');
      break;
    case 'runTaskGroup':
      void run(runTaskGroup(a, msg.value.framework!, msg.value.executor!, msg.value.taskGroup ?? { tasks: [] }), 'run task group');
      break;
    case 'killTask':
      void run(killTask(a, msg.value.frameworkId?.value ?? '', msg.value.taskId?.value ?? '', msg.value.killPolicy), 'kill task');
      break;
    case 'statusUpdateAcknowledgement':
      void run(acknowledge(a, msg.value.frameworkId?.value ?? '', msg.value.taskId?.value ?? '', msg.value.uuid ?? new Uint8Array()), 'acknowledgement');
      break;
    case 'reconcileTasks':
      void run(reconcileTasks(a, msg.value.frameworkId?.value ?? '', msg.value.statuses), 'reconciliation');
      break;
    case 'shutdownFramework':
      void run(shutdownFramework(a, msg.value.frameworkId?.value ?? ''), 'framework shutdown');
      break;
    case 'shutdownExecutor':
      void run(shutdownExecutor(a, msg.value.frameworkId?.value ?? '', msg.value.executorId?.value ?? ''), 'executor shutdown');
      break;
    case 'frameworkToExecutor':
      frameworkMessage(a, msg.value.frameworkId?.value ?? '', msg.value.executorId?.value ?? '', msg.value.data ?? new Uint8Array());
      break;
  }
}

async function onRegistered(a: AgentContext, agentId: string): Promise<void> {
  a.info = { ...a.info, id: { value: agentId } };
  await checkpointAgent(a.paths, a.info);
  a.log.info({ agentId }, 'registered with the master');
  a.sum.flush();
}
