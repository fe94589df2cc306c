import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { isTerminalState, scalarOf } from '@ippc/mesos';
import { TaskState, taskStateToJSON, type Resource, type VersionInfo } from '@ippc/proto';
import type { Agent } from '../agent.js';

// `GET /metrics/snapshot` and GET_METRICS of the agent: its figures under Mesos's agent metric
// names (docs "Monitoring", `slave/*`), read from the records at the time of asking. Only the names
// whose meaning ippc shares are given; Prometheus `/metrics` stays the richer view. Counters of
// terminal states count the terminal tasks the agent still knows.

/** The agent's version, on `/state` and GET_VERSION. */
export const AGENT_VERSION = '0.1.0';

/** ippc's version as Mesos's VersionInfo; the build details ippc does not record are empty. */
export function agentVersionInfo(): VersionInfo {
  return { version: AGENT_VERSION, buildDate: '', buildTime: 0, buildUser: 'ippc', gitSha: '', gitBranch: '', gitTag: '' };
}

const TASK_STATES = [
  TaskState.TASK_STAGING,
  TaskState.TASK_STARTING,
  TaskState.TASK_RUNNING,
  TaskState.TASK_KILLING,
  TaskState.TASK_FINISHED,
  TaskState.TASK_FAILED,
  TaskState.TASK_KILLED,
  TaskState.TASK_LOST,
  TaskState.TASK_GONE,
];

/** `slave/<name>_total`, `_used` and `_percent` of one scalar resource. */
function resourceFigures(total: Resource[], used: Resource[], name: 'cpus' | 'mem' | 'disk'): Record<string, number> {
  const t = scalarOf(total, name);
  const u = scalarOf(used, name);
  return { [`slave/${name}_total`]: t, [`slave/${name}_used`]: u, [`slave/${name}_percent`]: t > 0 ? u / t : 0 };
}

/** The snapshot: metric name -> number. */
export function agentMetricsSnapshot(agent: Agent): Record<string, number> {
  const frameworks = [...agent.frameworks.values()];
  const live = frameworks.flatMap((f) => [...f.executors.values()]);
  const all = [...frameworks, ...agent.completedFrameworks].flatMap((f) => [...f.executors.values(), ...f.completedExecutors]);
  const tasks = all.flatMap((e) => [...[...e.tasks.values()].map((t) => t.task), ...e.completedTasks]);
  // What the live executors and their tasks not yet terminal hold (Mesos's `allocatedResources`).
  const used = live
    .filter((e) => e.state !== 'terminated')
    .flatMap((e) => [
      ...(e.info.resources ?? []),
      ...[...e.tasks.values()].filter((t) => !isTerminalState(t.task.state)).flatMap((t) => t.task.resources ?? []),
    ]);
  const total = agent.info.resources ?? [];
  const out: Record<string, number> = {
    'slave/uptime_secs': Date.now() / 1000 - agent.startTime,
    'slave/registered': agent.registered ? 1 : 0,
    'slave/frameworks_active': frameworks.length,
    'slave/executors_registering': live.filter((e) => e.state === 'launching').length,
    'slave/executors_running': live.filter((e) => e.state === 'running').length,
    'slave/executors_terminated': all.filter((e) => e.state === 'terminated').length,
    'slave/container_launch_errors': agent.launchFailures,
    ...resourceFigures(total, used, 'cpus'),
    ...resourceFigures(total, used, 'mem'),
    ...resourceFigures(total, used, 'disk'),
    'system/cpus_total': cpus().length,
    'system/load_1min': loadavg()[0]!,
    'system/load_5min': loadavg()[1]!,
    'system/load_15min': loadavg()[2]!,
    'system/mem_total_bytes': totalmem(),
    'system/mem_free_bytes': freemem(),
  };
  for (const s of TASK_STATES) out[`slave/${taskStateToJSON(s).toLowerCase().replace('task_', 'tasks_')}`] = tasks.filter((t) => t.state === s).length;
  return out;
}
