import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { scalarOf } from '@ippc/mesos';
import { TaskState, taskStateToJSON, type Task } from '@ippc/proto';
import type { Master } from '../master.js';
import { knownFrameworks } from './records.js';

// `GET /metrics/snapshot`: the master's figures under Mesos's metric names (docs "Monitoring"),
// for tools written against Mesos. Only the names whose meaning ippc shares are given; Prometheus
// `/metrics` stays the richer view. Task counters of terminal states count the terminal tasks the
// master still knows (completed tasks beyond `--max_completed_tasks_per_framework` drop out).

const GAUGE_STATES = [TaskState.TASK_STAGING, TaskState.TASK_STARTING, TaskState.TASK_RUNNING, TaskState.TASK_KILLING, TaskState.TASK_UNREACHABLE];
const TERMINAL_STATES = [
  TaskState.TASK_FINISHED,
  TaskState.TASK_FAILED,
  TaskState.TASK_KILLED,
  TaskState.TASK_LOST,
  TaskState.TASK_ERROR,
  TaskState.TASK_DROPPED,
  TaskState.TASK_GONE,
  TaskState.TASK_GONE_BY_OPERATOR,
];

function allTasks(master: Master): Task[] {
  return knownFrameworks(master).flatMap((f) => [...f.tasks.values(), ...f.unreachableTasks.values(), ...f.completedTasks]);
}

function resourceFigures(master: Master, name: 'cpus' | 'mem' | 'disk'): Record<string, number> {
  let total = 0;
  let used = 0;
  for (const a of master.agentEntries()) {
    total += scalarOf(a.total, name);
    used += scalarOf(master.used(a), name);
  }
  return { [`master/${name}_total`]: total, [`master/${name}_used`]: used, [`master/${name}_percent`]: total > 0 ? used / total : 0 };
}

/** The `/metrics/snapshot` document: metric name -> number. */
export function metricsSnapshot(master: Master): Record<string, number> {
  const agents = master.agentEntries();
  const frameworks = master.frameworkEntries();
  const tasks = allTasks(master);
  const count = (s: TaskState) => tasks.filter((t) => t.state === s).length;
  const out: Record<string, number> = {
    'master/uptime_secs': Date.now() / 1000 - master.startTime,
    'master/elected': 1,
    'master/slaves_connected': agents.filter((a) => !!a.conn).length,
    'master/slaves_disconnected': agents.filter((a) => !a.conn).length,
    'master/slaves_active': agents.filter((a) => !!a.conn).length,
    'master/slaves_inactive': agents.filter((a) => !a.conn).length,
    'master/slaves_unreachable': master.unreachableAgents.size,
    'master/slave_registrations': master.counters.agentRegistrations,
    'master/slave_reregistrations': master.counters.agentReregistrations,
    'master/frameworks_connected': frameworks.filter((f) => !!f.conn).length,
    'master/frameworks_disconnected': frameworks.filter((f) => !f.conn).length,
    'master/frameworks_active': frameworks.filter((f) => !!f.conn).length,
    'master/frameworks_inactive': frameworks.filter((f) => !f.conn).length,
    'master/outstanding_offers': master.offers.size,
    'master/valid_status_updates': [...master.counters.statusUpdates.values()].reduce((n, v) => n + v, 0),
    'master/messages_shutdown_executor': master.counters.messagesShutdownExecutor,
    'master/messages_framework_to_executor': master.counters.messagesFrameworkToExecutor,
    'master/valid_framework_to_executor_messages': master.counters.validFrameworkToExecutorMessages,
    'master/invalid_framework_to_executor_messages': master.counters.invalidFrameworkToExecutorMessages,
    'master/messages_resource_request': master.counters.messagesResourceRequest,
    'master/messages_executor_to_framework': master.counters.messagesExecutorToFramework,
    'master/valid_executor_to_framework_messages': master.counters.validExecutorToFrameworkMessages,
    'master/invalid_executor_to_framework_messages': master.counters.invalidExecutorToFrameworkMessages,
    ...resourceFigures(master, 'cpus'),
    ...resourceFigures(master, 'mem'),
    ...resourceFigures(master, 'disk'),
    'system/cpus_total': cpus().length,
    'system/load_1min': loadavg()[0]!,
    'system/load_5min': loadavg()[1]!,
    'system/load_15min': loadavg()[2]!,
    'system/mem_total_bytes': totalmem(),
    'system/mem_free_bytes': freemem(),
  };
  for (const s of [...GAUGE_STATES, ...TERMINAL_STATES]) out[`master/${taskStateToJSON(s).toLowerCase()}`.replace('/task_', '/tasks_')] = count(s);
  return out;
}
