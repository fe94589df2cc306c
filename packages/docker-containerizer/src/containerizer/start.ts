import type Docker from 'dockerode';
import { sleep, type LaunchSpec } from '@ippc/core';
import { TaskState, type CommandInfo } from '@ippc/proto';
import { daemonMessage } from '../errors.js';
import { AGENT_ID_LABEL, CONTAINER_ID_LABEL, FRAMEWORK_ID_LABEL, LOG_OFFSETS_LABEL, OWNER_LABEL, OWNER_VALUE, SCOPE_LABEL, TASK_ID_LABEL } from '../labels.js';
import { sandboxLogSizes, touchSandboxLogs, type LogSizes } from '../log-pump.js';
import { createRunOptions, type DockerRunOptions } from '../run-options.js';
import { INSPECT_TIMEOUT_MS, type DockerContext, type Entry } from './context.js';
import { fail, finish } from './entries.js';
import { removeContainer } from './remove.js';

// The steps of a launch both kinds of container share (a task's, under the containerizer playing
// Mesos's docker executor, and a custom executor's): the run options, `docker create` and
// `start`, and inspect until the daemon says the container started.

const INSPECT_RETRY_MS = 500;

/** Run options and the sandbox's log sizes before the container runs (the log copy's base). */
export interface PreparedRun {
  runOptions: DockerRunOptions;
  logBase: LogSizes;
}

/**
 * Mesos's run options for the container (`Docker::RunOptions::create`), labelled as this
 * containerizer's, with the sandbox mounted. Throws {@link DockerContainerizerError} with Mesos's
 * message when the ContainerInfo cannot become a container (or the sandbox cannot be prepared).
 */
export function buildRunOptions(
  ctx: DockerContext,
  entry: Entry,
  spec: LaunchSpec,
  run: { command: CommandInfo | undefined; environment: Record<string, string>; labels?: Record<string, string> },
): PreparedRun {
  const hostPath = ctx.sandboxHostPath(spec.sandboxDirectory);
  touchSandboxLogs(spec.sandboxDirectory);
  const logBase = sandboxLogSizes(spec.sandboxDirectory);
  const runOptions = createRunOptions({
    containerInfo: spec.containerInfo!,
    command: run.command,
    name: entry.name,
    resources: [...spec.task.resources, ...spec.executor.resources],
    limits: spec.task.limits,
    environment: run.environment,
    sandbox: hostPath === undefined ? undefined : { hostPath, containerPath: ctx.mappedDirectory },
    hostNetwork: ctx.hostNetwork,
    cgroupsEnableCfs: ctx.cgroupsEnableCfs,
    labels: {
      ...ctx.labels,
      ...run.labels,
      [OWNER_LABEL]: OWNER_VALUE,
      [SCOPE_LABEL]: ctx.scope,
      [AGENT_ID_LABEL]: spec.agentId.value ?? '',
      [FRAMEWORK_ID_LABEL]: spec.frameworkId.value ?? '',
      [TASK_ID_LABEL]: spec.task.taskId?.value ?? '',
      [CONTAINER_ID_LABEL]: entry.id,
      [LOG_OFFSETS_LABEL]: `${logBase.stdout},${logBase.stderr}`,
    },
  });
  return { runOptions, logBase };
}

/** `docker create` and `docker start`; false when the launch ends here (reported, nothing left behind). */
export async function createAndStart(ctx: DockerContext, entry: Entry, runOptions: DockerRunOptions, taskId: string): Promise<boolean> {
  const { docker, log } = ctx;
  const id = entry.id;
  let container: Docker.Container;
  try {
    container = await docker.createContainer(runOptions.body);
  } catch (err) {
    log.warn({ containerId: id, taskId, err: daemonMessage(err) }, 'docker create failed');
    fail(ctx, entry, `Failed to run docker container: ${daemonMessage(err)}`);
    return false;
  }
  entry.dockerId = container.id;
  if (entry.killed || ctx.closed) {
    await removeContainer(ctx, container.id);
    killedDuringLaunch(ctx, entry);
    return false;
  }
  try {
    await container.start();
  } catch (err) {
    log.warn({ containerId: id, taskId, err: daemonMessage(err) }, 'docker start failed');
    await removeContainer(ctx, container.id);
    fail(ctx, entry, `Failed to run docker container: ${daemonMessage(err)}`);
    return false;
  }
  return true;
}

export function killedDuringLaunch(ctx: DockerContext, entry: Entry): void {
  finish(ctx, entry, { state: TaskState.TASK_KILLED, message: 'Container destroyed while launching' });
}

export async function inspectUntilStarted(ctx: DockerContext, entry: Entry): Promise<Docker.ContainerInspectInfo | undefined> {
  const deadline = Date.now() + INSPECT_TIMEOUT_MS;
  for (;;) {
    try {
      const info = await ctx.docker.getContainer(entry.dockerId!).inspect();
      if (info.State?.StartedAt && !info.State.StartedAt.startsWith('0001-')) return info;
    } catch (err) {
      ctx.log.warn({ containerId: entry.id, err: daemonMessage(err) }, 'inspect failed');
    }
    if (Date.now() + INSPECT_RETRY_MS > deadline || ctx.closed) return undefined;
    await sleep(INSPECT_RETRY_MS);
  }
}
