import type { NetworkUsage } from '@ippc/core';
import { isTerminalState } from '@ippc/mesos';
import { agentapiv1, type ContainerStatus, type ResourceStatistics, type Task } from '@ippc/proto';
import type { Agent, ExecutorRecord, FrameworkRecord } from '../agent.js';
import { agentMetricsSnapshot, agentVersionInfo } from './snapshot.js';
import type { ContainerUsage } from './statistics.js';

// The agent operator API's answers (Mesos's `Http::getHealth`, `getFlags`, `getVersion`,
// `getMetrics`, `getState`, `getContainers`, `getFrameworks`, `getExecutors`, `getTasks`,
// `getAgent` in src/slave/http.cpp), built from the agent's records as messages of agent.proto.

type Response = agentapiv1.Response;
type Container = agentapiv1.Response_GetContainers_Container;

const { Call_Type, Response_Type } = agentapiv1;

/** What a read is given: the agent, and (for GET_CONTAINERS) the containers' usage. */
export interface ReadContext {
  agent: Agent;
  usages(): Promise<ContainerUsage[]>;
}

/** Frameworks with executors here, then those shut down (Mesos lists both in its tasks and executors). */
const allFrameworks = (agent: Agent): FrameworkRecord[] => [...agent.frameworks.values(), ...agent.completedFrameworks];

/** Each executor (live ones, then completed ones) of each framework. */
const allExecutors = (agent: Agent): ExecutorRecord[] => allFrameworks(agent).flatMap((f) => [...f.executors.values(), ...f.completedExecutors]);

export function getFrameworks(agent: Agent): agentapiv1.Response_GetFrameworks {
  return {
    frameworks: [...agent.frameworks.values()].map((f) => ({ frameworkInfo: f.info })),
    completedFrameworks: agent.completedFrameworks.map((f) => ({ frameworkInfo: f.info })),
  };
}

export function getExecutors(agent: Agent): agentapiv1.Response_GetExecutors {
  const frameworks = allFrameworks(agent);
  return {
    executors: frameworks.flatMap((f) => [...f.executors.values()].map((e) => ({ executorInfo: e.info }))),
    completedExecutors: frameworks.flatMap((f) => f.completedExecutors.map((e) => ({ executorInfo: e.info }))),
  };
}

/**
 * Every task the agent knows (`Http::_getTasks`): not terminal (`launched_tasks`), terminal with
 * the last update unacknowledged (`terminated_tasks`), acknowledged (`completed_tasks`). Nothing is
 * pending or queued: a task's container is launched when the task arrives.
 */
export function getTasks(agent: Agent): agentapiv1.Response_GetTasks {
  const tasks: Task[] = allExecutors(agent).flatMap((e) => [...e.tasks.values()].map((t) => t.task));
  return {
    pendingTasks: [],
    queuedTasks: [],
    launchedTasks: tasks.filter((t) => !isTerminalState(t.state)),
    terminatedTasks: tasks.filter((t) => isTerminalState(t.state)),
    completedTasks: allExecutors(agent).flatMap((e) => e.completedTasks),
  };
}

export function getState(agent: Agent): agentapiv1.Response_GetState {
  return { getTasks: getTasks(agent), getExecutors: getExecutors(agent), getFrameworks: getFrameworks(agent) };
}

/** A NetworkUsage as Mesos's ResourceStatistics (the `net_*` counters; the per-interface split has no field there). */
export function resourceStatistics(usage: NetworkUsage, timestamp = Date.now() / 1000): ResourceStatistics {
  return {
    timestamp,
    netRxPackets: usage.rxPackets,
    netRxBytes: usage.rxBytes,
    netRxErrors: usage.rxErrors,
    netRxDropped: usage.rxDropped,
    netTxPackets: usage.txPackets,
    netTxBytes: usage.txBytes,
    netTxErrors: usage.txErrors,
    netTxDropped: usage.txDropped,
  };
}

/**
 * GET_CONTAINERS (`Http::__containers`): the container of every executor not terminated, with
 * its containerizer's `status()` (`network_infos`: the addresses the container got; empty for a
 * container on the agent's network, as Mesos's isolator reports it) and its usage. A status or
 * usage the containerizer cannot give is left out, as Mesos leaves out a failed future.
 */
export async function getContainers(agent: Agent, usages: () => Promise<ContainerUsage[]>): Promise<agentapiv1.Response_GetContainers> {
  const live = [...agent.frameworks.values()].flatMap((f) => [...f.executors.values()].filter((e) => e.state !== 'terminated'));
  const [statuses, usage] = await Promise.all([
    Promise.all(live.map((e) => e.containerizer.status(e.containerId).catch((): ContainerStatus | undefined => undefined))),
    usages().catch((): ContainerUsage[] => []),
  ]);
  const byContainer = new Map(usage.map((u) => [u.containerId, u.usage]));
  const containers = live.map((e, i): Container => {
    const status = statuses[i];
    const stats = byContainer.get(e.containerId);
    return {
      frameworkId: { value: e.frameworkId },
      executorId: { value: e.id },
      executorName: e.info.name ?? '',
      containerId: { value: e.containerId },
      ...(status ? { containerStatus: { ...status, containerId: status.containerId ?? { value: e.containerId } } } : {}),
      ...(stats ? { resourceStatistics: resourceStatistics(stats) } : {}),
    };
  });
  return { containers };
}

/** `{name, value}` for each key of `record`, sorted by name (Mesos's flags and metrics are ordered maps). */
function byName<V>(record: Record<string, V>): { name: string; value: V }[] {
  return Object.keys(record)
    .sort()
    .map((name) => ({ name, value: record[name]! }));
}

/** The Response of each read the agent's operator API serves, by call. */
export const AGENT_READS: Partial<Record<agentapiv1.Call_Type, (ctx: ReadContext) => Response | Promise<Response>>> = {
  [Call_Type.GET_HEALTH]: () => ({ type: Response_Type.GET_HEALTH, getHealth: { healthy: true } }),
  [Call_Type.GET_FLAGS]: ({ agent }) => ({ type: Response_Type.GET_FLAGS, getFlags: { flags: byName(agent.options.flags ?? {}) } }),
  [Call_Type.GET_VERSION]: () => ({ type: Response_Type.GET_VERSION, getVersion: { versionInfo: agentVersionInfo() } }),
  [Call_Type.GET_METRICS]: ({ agent }) => ({ type: Response_Type.GET_METRICS, getMetrics: { metrics: byName(agentMetricsSnapshot(agent)) } }),
  [Call_Type.GET_STATE]: ({ agent }) => ({ type: Response_Type.GET_STATE, getState: getState(agent) }),
  [Call_Type.GET_CONTAINERS]: async ({ agent, usages }) => ({ type: Response_Type.GET_CONTAINERS, getContainers: await getContainers(agent, usages) }),
  [Call_Type.GET_FRAMEWORKS]: ({ agent }) => ({ type: Response_Type.GET_FRAMEWORKS, getFrameworks: getFrameworks(agent) }),
  [Call_Type.GET_EXECUTORS]: ({ agent }) => ({ type: Response_Type.GET_EXECUTORS, getExecutors: getExecutors(agent) }),
  [Call_Type.GET_TASKS]: ({ agent }) => ({ type: Response_Type.GET_TASKS, getTasks: getTasks(agent) }),
  [Call_Type.GET_AGENT]: ({ agent }) => ({ type: Response_Type.GET_AGENT, getAgent: { agentInfo: agent.info } }),
};
