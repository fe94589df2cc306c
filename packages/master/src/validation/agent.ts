import type { agentv1 } from '@ippc/proto';
import { validateResourceList } from './common.js';
import { validateFrameworkInfo, validateId } from './framework.js';

// Mesos's validation of an agent's re-registration (src/master/validation.cpp
// `master::message::reregisterSlave`), message for message.

/** `validation::master::message::reregisterSlave`. */
export function validateReregistration(msg: agentv1.ReregisterAgent, agentId: string): string | undefined {
  const idErr = validateId(agentId);
  if (idErr) return idErr;
  const resErr = validateResourceList(msg.agent?.resources ?? []);
  if (resErr) return resErr;
  const frameworkIds = new Set<string>();
  for (const fi of msg.frameworks) {
    const err = validateFrameworkInfo(fi);
    if (err) return err;
    const fid = fi.id?.value ?? '';
    if (frameworkIds.has(fid)) return `Framework has a duplicate FrameworkID: '${fid}'`;
    frameworkIds.add(fid);
  }
  const executorIds = new Set<string>();
  for (const e of msg.executorInfos) {
    const fid = e.frameworkId?.value ?? '';
    if (!frameworkIds.has(fid)) return `Executor has an invalid FrameworkID '${fid}'`;
    const key = `${fid}/${e.executorId?.value ?? ''}`;
    if (executorIds.has(key)) return `Framework '${fid}' has a duplicate ExecutorID '${e.executorId?.value ?? ''}'`;
    executorIds.add(key);
  }
  for (const t of msg.tasks) {
    const err = validateId(t.taskId?.value ?? '');
    if (err) return `Task has an invalid TaskID: ${err}`;
    if ((t.agentId?.value ?? '') !== agentId) return `Task has an invalid SlaveID '${t.agentId?.value ?? ''}'`;
    if (!frameworkIds.has(t.frameworkId?.value ?? '')) return `Task has an invalid FrameworkID '${t.frameworkId?.value ?? ''}'`;
    const resErr2 = validateResourceList(t.resources ?? []);
    if (resErr2) return `Task uses invalid resources: ${resErr2.replace(/^Invalid resources: /, '')}`;
  }
  return undefined;
}
