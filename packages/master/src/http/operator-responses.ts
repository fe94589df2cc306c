import { isIPv4 } from 'node:net';
import { masterv1, type MasterInfo, type TimeInfo } from '@ippc/proto';
import type { AgentEntry, FrameworkEntry, Master } from '../master.js';
import { AGENT_CAPABILITIES, frameworkExecutors, frameworkOffers, frameworkUsed, knownFrameworks } from './records.js';
import { metricsSnapshot } from './snapshot.js';
import { IPPC_VERSION, versionInfo } from './state.js';

// The operator API's answers (Mesos's `Master::Http::getHealth`, `getFlags`, `getVersion`,
// `getMetrics`, `getState`, `getAgents`, `getFrameworks`, `getExecutors`, `getTasks`,
// `getMaster`) and the models its events carry (`protobuf::master::event::*`), built from the
// master's records as messages of master.proto.

type Response = masterv1.Response;
type Agent = masterv1.Response_GetAgents_Agent;
type Framework = masterv1.Response_GetFrameworks_Framework;

const { Response_Type } = masterv1;

/** Seconds since the epoch (millisecond precision) as a TimeInfo, whole milliseconds so the nanoseconds print exactly. */
const timeInfo = (seconds: number): TimeInfo => ({ nanoseconds: Math.round(seconds * 1000) * 1_000_000 });

/** `{name, value}` for each key of `record`, sorted by name (Mesos's flags and metrics are ordered maps). */
function byName<V>(record: Record<string, V>): { name: string; value: V }[] {
  return Object.keys(record)
    .sort()
    .map((name) => ({ name, value: record[name]! }));
}

/**
 * Mesos's `MasterInfo.ip`: the IPv4 address's four bytes, in network order as they sit in memory,
 * read as a little-endian integer (`in_addr.s_addr` on x86; MESOS-1201), so 127.0.0.1 is
 * 16777343. 0 for an IPv6 address (Mesos has no value for one either).
 */
export function mesosIpv4(ip: string): number {
  if (!isIPv4(ip)) return 0;
  const [a = 0, b = 0, c = 0, d = 0] = ip.split('.').map(Number);
  return (a | (b << 8) | (c << 16) | (d << 24)) >>> 0;
}

/** An agent as GET_AGENTS and AGENT_ADDED model it (`createAgentResponse`). */
export function agentModel(master: Master, a: AgentEntry): Agent {
  return {
    agentInfo: a.info,
    active: !!a.conn,
    version: a.version,
    pid: a.pid,
    registeredTime: timeInfo(a.registeredTime),
    ...(a.reregisteredTime !== undefined ? { reregisteredTime: timeInfo(a.reregisteredTime) } : {}),
    totalResources: a.total,
    allocatedResources: master.used(a),
    offeredResources: master.offered(a),
    capabilities: AGENT_CAPABILITIES.map((type) => ({ type })),
  };
}

/** A framework as FRAMEWORK_ADDED and FRAMEWORK_UPDATED model it (`createFrameworkAdded`): no offers or resources. */
export function frameworkEventModel(f: FrameworkEntry): Framework {
  return {
    frameworkInfo: f.info,
    active: !!f.conn,
    connected: !!f.conn,
    recovered: f.recovered,
    registeredTime: timeInfo(f.registeredTime),
    ...(f.reregisteredTime !== undefined ? { reregisteredTime: timeInfo(f.reregisteredTime) } : {}),
    ...(f.unregisteredTime !== undefined ? { unregisteredTime: timeInfo(f.unregisteredTime) } : {}),
    offers: [],
    allocatedResources: [],
    offeredResources: [],
  };
}

/** A framework as GET_FRAMEWORKS models it: with its outstanding offers and what its tasks use. */
export function frameworkModel(master: Master, f: FrameworkEntry): Framework {
  const offers = frameworkOffers(master, f);
  return { ...frameworkEventModel(f), offers, allocatedResources: frameworkUsed(f), offeredResources: offers.flatMap((o) => o.resources ?? []) };
}

export function getAgents(master: Master): masterv1.Response_GetAgents {
  return { agents: master.agentEntries().map((a) => agentModel(master, a)), recoveredAgents: [] };
}

export function getFrameworks(master: Master): masterv1.Response_GetFrameworks {
  return {
    frameworks: master.frameworkEntries().map((f) => frameworkModel(master, f)),
    completedFrameworks: master.completedFrameworks.map((f) => frameworkModel(master, f)),
  };
}

export function getExecutors(master: Master): masterv1.Response_GetExecutors {
  return {
    executors: knownFrameworks(master).flatMap((f) =>
      frameworkExecutors(master, f).map(({ agentId, executor }) => ({ executorInfo: executor, agentId: { value: agentId } })),
    ),
  };
}

/** Every task the master knows, as `/master/tasks` lists them (no pending tasks: a valid task goes to its agent at once). */
export function getTasks(master: Master): masterv1.Response_GetTasks {
  const frameworks = knownFrameworks(master);
  return {
    pendingTasks: [],
    tasks: frameworks.flatMap((f) => [...f.tasks.values()]),
    unreachableTasks: frameworks.flatMap((f) => [...f.unreachableTasks.values()]),
    completedTasks: frameworks.flatMap((f) => f.completedTasks),
  };
}

export function getState(master: Master): masterv1.Response_GetState {
  return { getTasks: getTasks(master), getExecutors: getExecutors(master), getFrameworks: getFrameworks(master), getAgents: getAgents(master) };
}

export function getMaster(master: Master): masterv1.Response_GetMaster {
  const info: MasterInfo = {
    id: master.id,
    ip: mesosIpv4(master.ip),
    port: master.port,
    pid: master.pid,
    hostname: master.hostname,
    version: IPPC_VERSION,
    address: { hostname: master.hostname, ip: master.ip, port: master.port },
  };
  // A lone ippc master is elected when it starts.
  return { masterInfo: info, startTime: master.startTime, electedTime: master.startTime };
}

/** The Response of each read the operator API serves, by call. */
export const OPERATOR_READS: Partial<Record<masterv1.Call_Type, (master: Master) => Response>> = {
  [masterv1.Call_Type.GET_HEALTH]: () => ({ type: Response_Type.GET_HEALTH, getHealth: { healthy: true } }),
  [masterv1.Call_Type.GET_FLAGS]: (master) => ({
    type: Response_Type.GET_FLAGS,
    getFlags: { flags: byName(master.flags) },
  }),
  [masterv1.Call_Type.GET_VERSION]: () => ({ type: Response_Type.GET_VERSION, getVersion: { versionInfo: versionInfo() } }),
  [masterv1.Call_Type.GET_METRICS]: (master) => ({
    type: Response_Type.GET_METRICS,
    getMetrics: { metrics: byName(metricsSnapshot(master)) },
  }),
  [masterv1.Call_Type.GET_STATE]: (master) => ({ type: Response_Type.GET_STATE, getState: getState(master) }),
  [masterv1.Call_Type.GET_AGENTS]: (master) => ({ type: Response_Type.GET_AGENTS, getAgents: getAgents(master) }),
  [masterv1.Call_Type.GET_FRAMEWORKS]: (master) => ({ type: Response_Type.GET_FRAMEWORKS, getFrameworks: getFrameworks(master) }),
  [masterv1.Call_Type.GET_EXECUTORS]: (master) => ({ type: Response_Type.GET_EXECUTORS, getExecutors: getExecutors(master) }),
  [masterv1.Call_Type.GET_TASKS]: (master) => ({ type: Response_Type.GET_TASKS, getTasks: getTasks(master) }),
  [masterv1.Call_Type.GET_MASTER]: (master) => ({ type: Response_Type.GET_MASTER, getMaster: getMaster(master) }),
};
