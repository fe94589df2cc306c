import type { Route } from '@ippc/core';
import { guarded, type HttpAccess, toV1Json } from '@ippc/mesos';
import { ContainerStatus } from '@ippc/proto';
import type { Agent } from '../agent.js';
import { getContainers } from './operator-responses.js';
import { agentMetricsSnapshot } from './snapshot.js';
import { agentState } from './state.js';
import { statisticsJson, type ContainerUsage } from './statistics.js';

// The agent's read-only HTTP endpoints, as Mesos's agent serves them on 5051: `/state` (and its
// aliases under `/slave(1)`), `/monitor/statistics`, `/containers` and `/metrics/snapshot`;
// `/health` and `/metrics` come with the server (server.ts), and so does `POST /api/v1`.

/**
 * The routes, for an agent that is made after the server starts (its port goes into its pid).
 * With `readonly` (Mesos's `--authenticate_http_readonly`) each needs credentials.
 */
export function agentRoutes(agent: () => Agent, usages: () => Promise<ContainerUsage[]>, readonly?: HttpAccess): Record<string, Route> {
  const guard = (route: Route) => (readonly ? guarded(readonly, route) : route);
  const state = guard(async () => {
    const byContainer = new Map((await usages()).map((u) => [u.containerId, statisticsJson(u.usage)]));
    return agentState(agent(), byContainer);
  });
  const statistics = guard(async () => {
    const all = await usages();
    return all.map((u) => ({
      executor_id: u.executorId,
      executor_name: u.executorName,
      framework_id: u.frameworkId,
      source: u.source,
      statistics: statisticsJson(u.usage),
    }));
  });
  // Mesos's `/containers`: GET_CONTAINERS in the endpoint's JSON (`status`, `statistics`).
  const containers = guard(async () => {
    const byContainer = new Map((await usages()).map((u) => [u.containerId, u]));
    const { containers: list } = await getContainers(agent(), async () => [...byContainer.values()]);
    return list.map((c) => {
      const u = byContainer.get(c.containerId?.value ?? '');
      return {
        framework_id: c.frameworkId?.value ?? '',
        executor_id: c.executorId?.value ?? '',
        executor_name: c.executorName ?? '',
        source:
          agent()
            .frameworks.get(c.frameworkId?.value ?? '')
            ?.executors.get(c.executorId?.value ?? '')?.info.source ?? '',
        container_id: c.containerId?.value ?? '',
        ...(c.containerStatus ? { status: toV1Json(ContainerStatus, c.containerStatus) } : {}),
        ...(u ? { statistics: statisticsJson(u.usage) } : {}),
      };
    });
  });
  const snapshot = guard(() => agentMetricsSnapshot(agent()));
  return {
    '/state': state,
    '/state.json': state,
    '/slave(1)/state': state,
    '/slave(1)/state.json': state,
    '/monitor/statistics': statistics,
    '/monitor/statistics.json': statistics,
    '/slave(1)/monitor/statistics': statistics,
    '/containers': containers,
    '/slave(1)/containers': containers,
    '/metrics/snapshot': snapshot,
  };
}
