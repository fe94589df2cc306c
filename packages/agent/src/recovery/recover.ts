import { join } from 'node:path';
import { mkdir, rm } from 'node:fs/promises';
import { Mutex, type KnownContainer } from '@ippc/core';
import { isTerminalState, recordStatus } from '@ippc/mesos';
import { ExecutorInfo_Type, TaskState, type Task } from '@ippc/proto';
import { readLatestAgent, readRuns, type AgentPaths, type RecoveredRun } from '../checkpoint.js';
import { AgentError } from '../errors.js';
import { awaitSubscription, DEFAULT_EXECUTOR_REREGISTRATION_TIMEOUT_MS } from '../executors/custom.js';
import { adoptRecovered, nestedContainerId } from '../executors/default-executor.js';
import { destroy, watch } from '../executors/lifecycle.js';
import { frameworkRecord, type AgentContext, type ExecutorRecord, type TaskRecord } from '../model.js';
import { queueExecutorStatus } from '../status/status-updates.js';

// Recovery after an agent restart (Mesos's `Slave::recover`): the checkpoints say what ran, the
// containerizers find what still runs, and the records are rebuilt with every status not yet
// acknowledged queued again. `--recover=cleanup` kills it all and starts as a new agent instead.

/** A recovered task whose container lives and whose last word is not settled yet. */
interface Unsettled {
  exec: ExecutorRecord;
  rec: TaskRecord;
  killGraceMs?: number;
}

/** Reads the checkpoints, recovers the containerizers, rebuilds the records. */
export async function recover(a: AgentContext): Promise<void> {
  const checkpointed = await readLatestAgent(a.paths);
  const runs = checkpointed?.id?.value ? await readRuns(a.paths, checkpointed.id.value) : [];
  const known = knownContainers(a, runs, checkpointed?.id?.value ?? '');
  if ((a.options.recover ?? 'reconnect') === 'cleanup') {
    for (const c of a.options.containerizers) {
      const mine = known.filter((k) => k.containerizer === c.name);
      await c.recover(mine);
      // The top-level containers: destroying one destroys its nested containers first.
      for (const k of mine.filter((x) => !x.containerId.parent)) await c.destroy(k.containerId.value!, { gracePeriodMs: 0 });
    }
    await rm(a.paths.meta, { recursive: true, force: true });
    await mkdir(a.paths.meta, { recursive: true });
    a.log.info({ containers: known.length }, 'recover=cleanup: killed what ran and starting as a new agent');
    return;
  }
  for (const c of a.options.containerizers) await c.recover(known.filter((k) => k.containerizer === c.name));
  if (!checkpointed?.id?.value) return;
  a.info = { ...a.info, id: checkpointed.id };
  const aid = checkpointed.id.value;
  const unsettled = runs.flatMap((run) => rebuildRun(a, aid, run));
  a.log.info({ agentId: aid, runs: runs.length, live: known.length }, 'recovered from checkpoints');
  await settleRecovered(a, unsettled);
}

/** What each containerizer must look for: the runs not completed, as the containerizer launched them. */
function knownContainers(a: AgentContext, runs: RecoveredRun[], aid: string): KnownContainer[] {
  const known: KnownContainer[] = [];
  for (const run of runs) {
    if (run.completed) continue;
    if (!a.options.containerizers.some((c) => c.name === run.containerizer)) {
      throw new AgentError(
        'AGENT_CONFIG_INVALID',
        `Container ${run.containerId} was launched by the '${run.containerizer}' containerizer, which this agent does not run: add it to --containerizers or use --recover=cleanup`,
      );
    }
    if (run.executor.type === ExecutorInfo_Type.DEFAULT) {
      known.push(...podContainers(a, run, aid));
      continue;
    }
    const t = run.tasks[0]?.task;
    known.push({
      containerId: { value: run.containerId },
      frameworkId: run.frameworkInfo.id!,
      task: {
        name: t?.name,
        taskId: t?.taskId,
        agentId: t?.agentId,
        resources: t?.resources ?? [],
        ...(run.executor.command ? { command: run.executor.command } : {}),
        ...(t?.container ? { container: t.container } : {}),
        ...(t?.labels ? { labels: t.labels } : {}),
        ...(t?.killPolicy ? { killPolicy: t.killPolicy } : {}),
        limits: {},
      },
      executor: run.executor,
      ...((t?.container ?? run.executor.container) ? { containerInfo: t?.container ?? run.executor.container } : {}),
      sandboxDirectory: sandboxOf(a.paths, aid, run),
      containerizer: run.containerizer,
    });
  }
  return known;
}

/**
 * A default executor's run: the pod's container (holding its network), then the nested container
 * of each task not ended (its id derived from the task's, so it is found again).
 */
function podContainers(a: AgentContext, run: RecoveredRun, aid: string): KnownContainer[] {
  const fid = run.frameworkInfo.id!.value!;
  const eid = run.executor.executorId!.value!;
  const sandbox = sandboxOf(a.paths, aid, run);
  const pod: KnownContainer = {
    containerId: { value: run.containerId },
    frameworkId: run.frameworkInfo.id!,
    task: { name: `default executor ${eid}`, taskId: { value: eid }, resources: run.executor.resources ?? [], limits: {} },
    executor: run.executor,
    ...(run.executor.container ? { containerInfo: run.executor.container } : {}),
    sandboxDirectory: sandbox,
    containerizer: run.containerizer,
  };
  const live = run.tasks.filter(({ records }) => !records.some((r) => r.type === 'UPDATE' && isTerminalState(r.status.state)));
  return [
    pod,
    ...live.map(({ task }) => ({
      containerId: { value: nestedContainerId(fid, task.taskId!.value!), parent: { value: run.containerId } },
      frameworkId: run.frameworkInfo.id!,
      task: {
        name: task.name,
        taskId: task.taskId,
        agentId: task.agentId,
        resources: task.resources ?? [],
        ...(task.container ? { container: task.container } : {}),
        limits: {},
      },
      executor: run.executor,
      ...(task.container ? { containerInfo: task.container } : {}),
      sandboxDirectory: join(sandbox, 'tasks', task.taskId!.value!),
      containerizer: run.containerizer,
    })),
  ];
}

const sandboxOf = (paths: AgentPaths, aid: string, run: RecoveredRun): string =>
  paths.sandbox(aid, run.frameworkInfo.id!.value!, run.executor.executorId!.value!, run.containerId);

/** The records of one checkpointed run; returns its tasks whose end is still to be settled. */
function rebuildRun(a: AgentContext, aid: string, run: RecoveredRun): Unsettled[] {
  const unsettled: Unsettled[] = [];
  const f = frameworkRecord(a, run.frameworkInfo);
  const fid = f.id;
  const containerizer = a.options.containerizers.find((c) => c.name === run.containerizer) ?? a.options.containerizers[0]!;
  const exec: ExecutorRecord = {
    id: run.executor.executorId!.value!,
    // A task run by a custom executor carries its executor's id (Mesos's Task.executor_id).
    kind: run.executor.type === ExecutorInfo_Type.DEFAULT ? 'default' : run.tasks.some((t) => t.task.executorId) ? 'custom' : 'command',
    ...(run.executor.type !== ExecutorInfo_Type.DEFAULT && run.tasks.some((t) => t.task.executorId) ? { subscribed: true } : {}),
    frameworkId: fid,
    info: run.executor,
    containerId: run.containerId,
    containerizer,
    sandbox: sandboxOf(a.paths, aid, run),
    state: run.completed ? 'terminated' : 'running',
    tasks: new Map(),
    completedTasks: [],
  };
  for (const { task, records, group } of run.tasks) {
    const tid = task.taskId!.value!;
    const { acked, pending } = a.sum.recover(fid, tid, records);
    const rebuilt: Task = { ...task, statuses: [] };
    for (const s of [...acked, ...pending]) recordStatus(rebuilt, s);
    const kill = records.findLast((r) => r.type === 'KILL');
    const rec: TaskRecord = {
      task: rebuilt,
      queue: new Mutex(),
      terminalSent: [...acked, ...pending].some((s) => isTerminalState(s.state)),
      ...(kill ? { killRequested: true } : {}),
      ...(exec.kind === 'default' ? { group: group ?? tid, nested: nestedContainerId(fid, tid) } : {}),
    };
    if (acked.some((s) => isTerminalState(s.state))) exec.completedTasks.push(rebuilt);
    else {
      exec.tasks.set(tid, rec);
      // A custom executor speaks for its tasks itself once it re-subscribes.
      if (!run.completed && !rec.terminalSent && exec.kind === 'command')
        unsettled.push({ exec, rec, killGraceMs: kill?.type === 'KILL' ? kill.graceMs : undefined });
    }
  }
  if (exec.state === 'terminated' && exec.tasks.size === 0) f.completedExecutors.push(exec);
  else f.executors.set(exec.id, exec);
  if (!run.completed) watch(a, exec);
  // The agent plays the default executor: it watches the pod's nested containers again.
  if (!run.completed && exec.kind === 'default') void adoptRecovered(a, exec);
  if (!run.completed && exec.kind === 'custom') {
    // Its connection broke with the agent; it has `--executor_reregistration_timeout` to come back,
    // and keeps its container and addresses if it does (Mesos's recovery of HTTP executors).
    const timeoutMs = a.options.executorReregistrationTimeoutMs ?? DEFAULT_EXECUTOR_REREGISTRATION_TIMEOUT_MS;
    exec.recovered = true;
    awaitSubscription(a, exec, timeoutMs, 'reregister');
  }
  return unsettled;
}

/**
 * What the executor would have said had it outlived the agent (in Mesos it does; here the agent
 * plays it): the agent may die after starting a task but before its TASK_RUNNING was
 * checkpointed, or after asking for a kill but before the TASK_KILLED was. For every recovered
 * container that is still alive: a kill that was asked for is carried out; otherwise a task last
 * seen STAGING or STARTING is reported TASK_RUNNING. Containers that ended while the agent was
 * down have their termination already (the containerizers resolve it during recover), so they
 * are left to onTermination.
 */
async function settleRecovered(a: AgentContext, unsettled: Unsettled[]): Promise<void> {
  // Terminations known at recovery resolve at once; let their handlers mark the executors ended
  // (before the agent re-registers: it does not report those executors to the master).
  await new Promise((resolve) => setImmediate(resolve));
  if (unsettled.length === 0) return;
  const killed = new Set<ExecutorRecord>();
  for (const { exec, rec, killGraceMs } of unsettled) {
    if (exec.ended || rec.terminalSent) continue;
    if (killGraceMs !== undefined) {
      if (killed.has(exec)) continue;
      killed.add(exec);
      a.log.info({ containerId: exec.containerId, taskId: rec.task.taskId?.value }, 'finishing a kill asked for before the agent restarted');
      void destroy(a, exec, killGraceMs);
      continue;
    }
    const last = rec.task.statuses.at(-1)?.state;
    if (last === undefined || last === TaskState.TASK_STAGING || last === TaskState.TASK_STARTING) {
      a.log.info(
        { containerId: exec.containerId, taskId: rec.task.taskId?.value, last: last === undefined ? 'none' : TaskState[last] },
        'the container runs: reporting TASK_RUNNING the agent could not send before it restarted',
      );
      queueExecutorStatus(a, exec, rec, { state: TaskState.TASK_RUNNING });
    }
  }
}
