import { frameworkInfo_Capability_TypeToJSON } from '@ippc/proto';
import {
  attributesJson,
  isTerminalState,
  labelsJson,
  resourcesFullJson,
  resourcesJson,
  taskInfoJson,
  taskJson,
  type AgentStateJson,
  type ExecutorJson,
  type Json,
} from '@ippc/mesos';
import type { Agent, ExecutorRecord, FrameworkRecord } from '../agent.js';
import { AGENT_VERSION } from './snapshot.js';
import type { StatisticsJson } from './statistics.js';

// `GET /state` (also `/slave(1)/state`) of the agent in the Mesos JSON model (src/slave/http.cpp):
// frameworks[].executors[] with `id`, `name`, `source`, `container` (the ContainerID value),
// `directory` (the sandbox), `resources`, `tasks[]`, `queued_tasks[]`, `completed_tasks[]`, and
// frameworks[].completed_executors[]. Tasks use the same writer as the master's state, so IPs are at
// `frameworks[].executors[].tasks[].statuses[].container_status.network_infos[].ip_addresses[]`.

// Terminal tasks whose last update waits for acknowledgement are listed with the completed ones,
// as Mesos's agent lists its executors' terminated tasks.
function executorJson(e: ExecutorRecord, statistics?: StatisticsJson): ExecutorJson {
  const all = [...e.tasks.values()].filter((t) => !t.queued).map((t) => t.task);
  // A custom executor's tasks that wait for it to subscribe are Mesos's queued tasks (TaskInfo).
  const queued = [...e.tasks.values()].flatMap((t) => (t.queued && t.info ? [t.info] : []));
  const tasks = all.filter((t) => !isTerminalState(t.state));
  const terminated = all.filter((t) => isTerminalState(t.state));
  const resources = [...(e.info.resources ?? []), ...tasks.flatMap((t) => t.resources ?? [])];
  return {
    id: e.id,
    name: e.info.name ?? '',
    source: e.info.source ?? '',
    container: e.containerId,
    directory: e.sandbox,
    resources: resourcesJson(resources),
    role: e.info.resources?.[0]?.allocationInfo?.role ?? '*',
    ...(e.info.labels ? { labels: labelsJson(e.info.labels) as unknown as Json } : {}),
    tasks: tasks.map(taskJson),
    queued_tasks: queued.map(taskInfoJson),
    completed_tasks: [...terminated, ...e.completedTasks].map(taskJson),
    // Not in Mesos's agent state (Mesos serves it on /monitor/statistics only): the container's
    // ResourceStatistics net_* counters beside the executor that owns it.
    ...(statistics ? { statistics } : {}),
  };
}

function frameworkJson(f: FrameworkRecord, stats?: ReadonlyMap<string, StatisticsJson>): AgentStateJson['frameworks'][number] {
  return {
    id: f.id,
    name: f.info.name ?? '',
    user: f.info.user ?? '',
    failover_timeout: f.info.failoverTimeout ?? 0,
    checkpoint: f.info.checkpoint ?? false,
    hostname: f.info.hostname ?? '',
    ...(f.info.roles?.length ? { roles: [...f.info.roles] } : { role: f.info.role ?? '*' }),
    capabilities: (f.info.capabilities ?? []).filter((c) => c.type !== undefined).map((c) => frameworkInfo_Capability_TypeToJSON(c.type!)),
    executors: [...f.executors.values()].map((e) => executorJson(e, stats?.get(e.containerId))),
    completed_executors: f.completedExecutors.map((e) => executorJson(e)),
  };
}

/** The agent's `/state`; `statistics` (by container id) adds each running executor's network counters. */
export function agentState(agent: Agent, statistics?: ReadonlyMap<string, StatisticsJson>): AgentStateJson {
  const resources = agent.info.resources ?? [];
  return {
    version: AGENT_VERSION,
    start_time: agent.startTime,
    id: agent.id ?? '',
    pid: agent.pid,
    hostname: agent.info.hostname ?? '',
    capabilities: ['MULTI_ROLE', 'HIERARCHICAL_ROLE', 'RESERVATION_REFINEMENT'],
    resources: resourcesJson(resources),
    reserved_resources: {},
    unreserved_resources: resourcesJson(resources),
    reserved_resources_full: {},
    unreserved_resources_full: resourcesFullJson(resources),
    attributes: attributesJson(agent.info.attributes ?? []),
    master_hostname: agent.options.master.split(':')[0] ?? '',
    flags: agent.options.flags ?? {},
    frameworks: [...agent.frameworks.values()].map((f) => frameworkJson(f, statistics)),
    completed_frameworks: agent.completedFrameworks.map((f) => frameworkJson(f)),
  };
}
