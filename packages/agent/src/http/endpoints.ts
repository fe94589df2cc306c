import type { Route } from '@ippc/core';
import type { Agent } from '../agent.js';
import { agentState } from './state.js';
import { statisticsJson, type ContainerUsage } from './statistics.js';

// The agent's HTTP endpoints, as Mesos's agent serves them on 5051: `/state` (and its aliases under
// `/slave(1)`) and `/monitor/statistics`; `/health` and `/metrics` come with core's server.

/** The routes, for an agent that is made after the server starts (its port goes into its pid). */
export function agentRoutes(agent: () => Agent, usages: () => Promise<ContainerUsage[]>): Record<string, Route> {
  const state = async () => {
    const byContainer = new Map((await usages()).map((u) => [u.containerId, statisticsJson(u.usage)]));
    return agentState(agent(), byContainer);
  };
  const statistics = async () =>
    (await usages()).map((u) => ({
      executor_id: u.executorId,
      executor_name: u.executorName,
      framework_id: u.frameworkId,
      source: u.source,
      statistics: statisticsJson(u.usage),
    }));
  return {
    '/state': state,
    '/state.json': state,
    '/slave(1)/state': state,
    '/slave(1)/state.json': state,
    '/monitor/statistics': statistics,
    '/monitor/statistics.json': statistics,
  };
}
