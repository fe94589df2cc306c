import { isTerminalState, normalizeResources, unallocateResources } from '@ippc/mesos';
import type { agentv1, AgentInfo, ExecutorInfo } from '@ippc/proto';
import { MasterError } from '../errors.js';
import { newFrameworkEntry, now, type AgentConnection, type AgentEntry, type MasterContext } from '../model.js';
import { validateReregistration } from '../validation/agent.js';
import { validateResourceList } from '../validation/common.js';
import { removeAgent } from './lifecycle.js';

// Agents register (a new agent: a new id) or re-register (with the id they checkpointed: after a
// disconnection, after a master restart, or back from unreachable), as Mesos's
// `Master::registerSlave` and `Master::reregisterSlave` do.

/** A new agent. Returns its id; throws AGENT_INVALID with Mesos's message for a bad registration. */
export function registerAgent(m: MasterContext, msg: agentv1.RegisterAgent, conn: AgentConnection): string {
  const info = msg.agent;
  if (!info) throw new MasterError('AGENT_INVALID', 'Not initialized: agent');
  const err = validateResourceList(info.resources ?? []);
  if (err) throw new MasterError('AGENT_INVALID', err);
  if (info.hostname === undefined) throw new MasterError('AGENT_INVALID', 'Not initialized: agent.hostname');
  // An agent that comes back without its checkpoint replaces the one at the same address.
  for (const a of [...m.agents.values()]) if (a.pid === msg.pid) removeAgent(m, a, `Agent ${a.info.hostname} re-registered with a new id`);
  const id = `${m.id}-S${m.sequence.agent++}`;
  const agent = newAgent(id, { ...info, id: { value: id } }, msg.pid ?? '', msg.version ?? '', conn);
  m.agents.set(id, agent);
  m.counters.agentRegistrations++;
  m.log.info({ agentId: id, hostname: info.hostname, pid: msg.pid }, 'agent registered');
  conn.send({ message: { $case: 'agentRegistered', value: { agentId: { value: id } } } });
  m.observers.agentAdded(agent);
  m.changed();
  m.scheduleAllocation();
  return id;
}

function newAgent(id: string, info: AgentInfo, pid: string, version: string, conn: AgentConnection): AgentEntry {
  return {
    id,
    info,
    pid,
    version,
    conn,
    registeredTime: now(),
    total: normalizeResources(unallocateResources(info.resources ?? [])),
    executors: new Map(),
    offers: new Set(),
    pendingKills: new Map(),
  };
}

/**
 * An agent with the id it checkpointed. Known agents keep their tasks and their history; unknown
 * ones (after a master restart, or back from unreachable) are added with what they report.
 */
export function reregisterAgent(m: MasterContext, msg: agentv1.ReregisterAgent, conn: AgentConnection): string {
  const info = msg.agent;
  const id = info?.id?.value;
  if (!info || !id) throw new MasterError('AGENT_INVALID', 'Not initialized: agent.id');
  const err = validateReregistration(msg, id);
  if (err) throw new MasterError('AGENT_INVALID', err);
  const known = m.agents.has(id);
  const agent = reconnectAgent(m, id, info, msg, conn);
  m.counters.agentReregistrations++;
  recoverFrameworks(m, agent, msg);
  adoptTasks(m, id, msg, conn);
  for (const [key, kill] of agent.pendingKills) {
    conn.send({ message: { $case: 'killTask', value: kill } });
    agent.pendingKills.delete(key);
  }
  m.log.info({ agentId: id, hostname: info.hostname, tasks: msg.tasks.length }, 'agent re-registered');
  conn.send({ message: { $case: 'agentReregistered', value: { agentId: { value: id } } } });
  // Mesos's `addSlave`: the agent's tasks are added first, then the agent is announced.
  if (!known) m.observers.agentAdded(agent);
  m.changed();
  m.scheduleAllocation();
  return id;
}

/** The agent's record, updated if the master knows it, else added (back from unreachable). */
function reconnectAgent(m: MasterContext, id: string, info: AgentInfo, msg: agentv1.ReregisterAgent, conn: AgentConnection): AgentEntry {
  let agent = m.agents.get(id);
  if (agent) {
    if (agent.conn && agent.conn !== conn) agent.conn.close('Agent re-registered on a new connection');
    if (agent.removalTimer) clearTimeout(agent.removalTimer);
    agent.removalTimer = undefined;
    agent.conn = conn;
    agent.info = info;
    agent.pid = msg.pid ?? '';
    agent.version = msg.version ?? '';
    agent.total = normalizeResources(unallocateResources(info.resources ?? []));
    agent.reregisteredTime = now();
  } else {
    agent = newAgent(id, info, msg.pid ?? '', msg.version ?? '', conn);
    agent.reregisteredTime = now();
    m.agents.set(id, agent);
    m.unreachableAgents.delete(id);
  }
  return agent;
}

/** Frameworks the agent reports that the master does not know yet, and the agent's executors. */
function recoverFrameworks(m: MasterContext, agent: AgentEntry, msg: agentv1.ReregisterAgent): void {
  for (const fi of msg.frameworks) {
    const fid = fi.id?.value ?? '';
    if (!m.frameworks.has(fid) && !m.completedFrameworks.some((c) => c.id === fid)) {
      // Mesos's recovered framework: known from an agent, waiting for its scheduler to subscribe.
      const f = newFrameworkEntry(fid, fi, true);
      m.frameworks.set(fid, f);
      m.observers.frameworkAdded(f);
    }
  }
  agent.executors.clear();
  for (const e of msg.executorInfos) {
    const fid = e.frameworkId?.value ?? '';
    const byId = agent.executors.get(fid) ?? new Map<string, ExecutorInfo>();
    byId.set(e.executorId?.value ?? '', e);
    agent.executors.set(fid, byId);
  }
}

/** The tasks the agent reports become the master's; those it does not report are asked about. */
function adoptTasks(m: MasterContext, id: string, msg: agentv1.ReregisterAgent, conn: AgentConnection): void {
  const reported = new Set<string>();
  for (const t of msg.tasks) {
    const fid = t.frameworkId?.value ?? '';
    const tid = t.taskId?.value ?? '';
    reported.add(`${fid}/${tid}`);
    const f = m.frameworks.get(fid);
    if (!f) {
      // A framework that was removed: its tasks must go (Mesos shuts the framework down on the agent).
      conn.send({ message: { $case: 'shutdownFramework', value: { frameworkId: { value: fid } } } });
      continue;
    }
    const running = f.tasks.get(tid);
    const known = running ?? f.unreachableTasks.get(tid);
    f.unreachableTasks.delete(tid);
    if (known) {
      known.state = t.state;
      if ((t.statuses ?? []).length > (known.statuses ?? []).length) known.statuses = t.statuses;
      f.tasks.set(tid, known);
      // Back from unreachable: the task is the master's again (Mesos adds it anew).
      if (!running) m.observers.taskAdded(known);
    } else {
      const task = { ...t, agentId: { value: id } };
      f.tasks.set(tid, task);
      m.observers.taskAdded(task);
    }
  }
  // Tasks the master has on this agent that the agent did not report: ask the agent about them.
  for (const f of m.frameworks.values()) {
    const missing = [...f.tasks.values()].filter((t) => t.agentId?.value === id && !reported.has(`${f.id}/${t.taskId?.value}`) && !isTerminalState(t.state));
    if (missing.length > 0) {
      conn.send({
        message: {
          $case: 'reconcileTasks',
          value: { frameworkId: { value: f.id }, statuses: missing.map((t) => ({ taskId: t.taskId, state: t.state, agentId: { value: id } })) },
        },
      });
    }
  }
}
