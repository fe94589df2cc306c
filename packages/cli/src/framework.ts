import { open, readFile, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIppcError, processAlive } from '@ippc/core';
import { taskStateToJSON, taskStatus_ReasonToJSON, type ExecutorInfo, type Offer, type TaskInfo, type TaskStatus } from '@ippc/proto';
import type { Scheduler } from '@ippc/scheduler';
import type { Cluster } from '@ippc/testbed';
import { CliError } from './errors.js';

// The CLI's framework. `ippc task run` is a short-lived command, but its tasks must outlive it: it
// subscribes as one framework per cluster (`ippc-cli`) with a long failover timeout, and each later
// command fails over to the same framework id (found by name in /master/state), as a restarted
// Mesos scheduler does. One command at a time per cluster on a machine (a lock file serializes them):
// a second subscription would take the framework over.

/** The framework name every `ippc task` command uses. */
export const CLI_FRAMEWORK = 'ippc-cli';
/** A week: tasks outlive the command; `ippc cluster down` ends everything anyway. */
const FAILOVER_TIMEOUT_SECONDS = 7 * 24 * 3600;

/** Acknowledgements in flight, per connection: a command must not exit before they are sent. */
const pendingAcks = new WeakMap<Scheduler, Set<Promise<void>>>();
/** The lock each connection holds (released by closeCliFramework). */
const locks = new WeakMap<Scheduler, () => Promise<void>>();

/**
 * One `ippc task` command per cluster at a time on this machine: a second subscription would take
 * the framework over and end the first one's. Waits (bounded) for a live holder; takes over the
 * lock of a holder that died.
 */
export async function lockFramework(cluster: string, timeoutMs = 120_000): Promise<() => Promise<void>> {
  const path = join(tmpdir(), `ippc-cli-${cluster}.lock`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return () => unlink(path).catch(() => undefined);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number(await readFile(path, 'utf8').catch(() => ''));
    if (!holder || !processAlive(holder)) {
      await unlink(path).catch(() => undefined);
      continue;
    }
    if (Date.now() > deadline) {
      throw new CliError(
        'CLI_UNAVAILABLE',
        `another ippc task command (pid ${holder}) holds cluster ${cluster}'s framework for more than ${timeoutMs / 1000} s; wait for it or stop it (lock ${path})`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Subscribes as the CLI's framework, failing over to the existing one of that name if any. Every
 * status update is acknowledged, and {@link closeCliFramework} waits for those acknowledgements:
 * an update left unacknowledged by a command that exited holds back the task's later updates (the
 * agent sends them in order) until the agent's retry reaches a later command.
 */
export async function connectCliFramework(cluster: Cluster, name = CLI_FRAMEWORK): Promise<Scheduler> {
  const unlock = await lockFramework(cluster.name);
  let scheduler: Scheduler;
  try {
    const state = await cluster.masterState();
    const existing = state.frameworks.find((f) => f.name === name);
    scheduler = await cluster.connectScheduler({
      framework: { name, user: 'root', checkpoint: true, failoverTimeoutSeconds: FAILOVER_TIMEOUT_SECONDS, ...(existing ? { id: existing.id } : {}) },
      // One command, one subscription: a retry loop would only hide a second command taking over.
      reconnect: false,
      implicitAcknowledgements: false,
      timeoutMs: 15_000,
    });
  } catch (err) {
    await unlock();
    throw err;
  }
  locks.set(scheduler, unlock);
  const pending = new Set<Promise<void>>();
  pendingAcks.set(scheduler, pending);
  scheduler.on((e) => {
    if (e.type !== 'UPDATE' || !e.status.uuid || e.status.uuid.length === 0) return;
    const ack: Promise<void> = scheduler
      .acknowledge(e.status)
      .catch(() => undefined)
      .finally(() => pending.delete(ack));
    pending.add(ack);
  });
  return scheduler;
}

/** Waits (up to `timeoutMs`) for the acknowledgements in flight, then ends the subscription. */
export async function closeCliFramework(scheduler: Scheduler, timeoutMs = 5_000): Promise<void> {
  const pending = pendingAcks.get(scheduler);
  if (pending && pending.size > 0) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...pending]), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }
  try {
    await scheduler.close();
  } finally {
    await locks.get(scheduler)?.();
  }
}

/** Where a task may go: an agent by index (0-based), address or id. */
export type AgentSelector = string | undefined;

function agentMatches(cluster: Cluster, offer: Offer, selector: AgentSelector): boolean {
  if (selector === undefined) return true;
  if (/^\d+$/.test(selector)) return cluster.agents[Number(selector)]?.address === offer.hostname;
  return offer.hostname === selector || offer.agentId?.value === selector;
}

/** What a launch waits for and where it may go. */
export interface LaunchOptions {
  agent?: AgentSelector;
  /** Wait for TASK_RUNNING (default true). */
  wait?: boolean;
  /** How long to wait for an offer, and then for TASK_RUNNING. Default 30 s. */
  timeoutMs?: number;
  /** Among the fitting offers at hand, the first this likes wins. */
  prefer?: (offer: Offer) => boolean;
}

/**
 * The first offer `fits` accepts (on `agent` if given; among those at hand, the first `prefer`
 * likes). Throws CLI_USAGE for an agent index the cluster lacks, CLI_NO_OFFER when no fitting
 * offer comes in `timeoutMs`.
 */
export async function awaitFittingOffer(scheduler: Scheduler, cluster: Cluster, fits: (offer: Offer) => boolean, options: LaunchOptions = {}): Promise<Offer> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (options.agent !== undefined && /^\d+$/.test(options.agent) && !cluster.agents[Number(options.agent)]) {
    throw new CliError('CLI_USAGE', `--agent ${options.agent}: the cluster has agents 0..${cluster.agents.length - 1}`);
  }
  let offers: Offer[];
  try {
    offers = await scheduler.awaitOffers({ timeoutMs, filter: (o) => agentMatches(cluster, o, options.agent) && fits(o) });
  } catch (err) {
    throw new CliError(
      'CLI_NO_OFFER',
      `no agent${options.agent !== undefined ? ` matching --agent ${options.agent}` : ''} offered enough resources within ${timeoutMs} ms (${(err as Error).message}); see 'ippc task list' for what runs, or ask for less (--cpus, --mem, --port)`,
      { cause: err },
    );
  }
  return (options.prefer && offers.find(options.prefer)) || offers[0]!;
}

/** Whether `build` makes something of the offer (it throws when the offer cannot hold it). */
export function builds(build: (offer: Offer) => unknown): (offer: Offer) => boolean {
  return (offer) => {
    try {
      build(offer);
      return true;
    } catch {
      return false;
    }
  };
}

/**
 * Waits for the task's TASK_RUNNING. Throws CLI_TASK_FAILED (with Mesos's state, reason and message
 * in the message and in `details`) when the task ends instead of running.
 */
export async function waitRunning(scheduler: Scheduler, taskId: string, timeoutMs = 30_000): Promise<TaskStatus> {
  try {
    return await scheduler.waitForState(taskId, 'TASK_RUNNING', timeoutMs);
  } catch (err) {
    const last = scheduler.latestStatus(taskId);
    if (last && isIppcError(err)) {
      const state = taskStateToJSON(last.state ?? 0);
      const reason = last.reason !== undefined ? taskStatus_ReasonToJSON(last.reason) : undefined;
      throw new CliError('CLI_TASK_FAILED', `task ${taskId} reached ${state}${reason ? ` (${reason})` : ''}${last.message ? `: ${last.message}` : ''}`, {
        details: { taskId, state, reason, message: last.message },
        cause: err,
      });
    }
    throw err;
  }
}

/**
 * Launches the task `build` makes on the first offer it accepts (see {@link awaitFittingOffer})
 * and, with `wait`, waits for TASK_RUNNING (see {@link waitRunning}).
 */
export async function launchTask(
  scheduler: Scheduler,
  cluster: Cluster,
  build: (offer: Offer) => TaskInfo,
  options: LaunchOptions = {},
): Promise<{ task: TaskInfo; offer: Offer; status?: TaskStatus }> {
  const offer = await awaitFittingOffer(scheduler, cluster, builds(build), options);
  const task = build(offer);
  await scheduler.launch(offer, [task]);
  if (options.wait === false) return { task, offer };
  return { task, offer, status: await waitRunning(scheduler, task.taskId!.value!, options.timeoutMs) };
}

/**
 * Launches the task group `build` makes (an executor and its tasks, e.g. by `groupFromOffer`) on
 * the first offer it accepts, as one LAUNCH_GROUP, and, with `wait`, waits for every task's
 * TASK_RUNNING; throws as {@link launchTask} does (the first task that ends instead).
 */
export async function launchTaskGroup(
  scheduler: Scheduler,
  cluster: Cluster,
  build: (offer: Offer) => { executor: ExecutorInfo; tasks: TaskInfo[] },
  options: LaunchOptions = {},
): Promise<{ executor: ExecutorInfo; tasks: TaskInfo[]; offer: Offer; statuses?: TaskStatus[] }> {
  const offer = await awaitFittingOffer(scheduler, cluster, builds(build), options);
  const { executor, tasks } = build(offer);
  await scheduler.launchGroup(offer, executor, tasks);
  if (options.wait === false) return { executor, tasks, offer };
  const statuses = await Promise.all(tasks.map((t) => waitRunning(scheduler, t.taskId!.value!, options.timeoutMs)));
  return { executor, tasks, offer, statuses };
}
