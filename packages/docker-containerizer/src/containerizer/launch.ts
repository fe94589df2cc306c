import { ContainerizerError, type LaunchSpec, type Termination, messageOf } from '@ippc/core';
import { containerIdToString } from '@ippc/mesos';
import { ContainerInfo_Type, TaskState, TaskStatus_Reason, type ContainerInfo } from '@ippc/proto';
import { DockerContainerizerError } from '../errors.js';
import { addressesFromInspect, inspectData, runningNetworkInfo } from '../inspect.js';
import type { DockerContext, Entry } from './context.js';
import { stopContainer } from './destroy.js';
import { fail, newEntry, send } from './entries.js';
import { launchExecutor } from './executor.js';
import { forwardHostPorts } from './host-ports.js';
import { ensureImage } from './image.js';
import { startLogs } from './logs.js';
import { buildRunOptions, createAndStart, inspectUntilStarted, killedDuringLaunch, type PreparedRun } from './start.js';
import { watch } from './watch.js';

export function supports(containerInfo: ContainerInfo | undefined): boolean {
  return containerInfo?.type === ContainerInfo_Type.DOCKER;
}

/**
 * Launches a task as a container: the image (the containerizer's part: a failure throws), then, as
 * Mesos's docker executor, TASK_STARTING, the run options, create and start, the log copy, the
 * host ports forwarded (with a `hostPorts` forwarder) and TASK_RUNNING with the addresses read
 * from inspect. Resolves once TASK_RUNNING was sent (or never will be).
 */
export async function launch(ctx: DockerContext, spec: LaunchSpec): Promise<void> {
  const { live, ended, log } = ctx;
  if (ctx.closed) throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', 'The docker containerizer is closed');
  const id = containerIdToString(spec.containerId);
  if (spec.containerId.parent) throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', 'Nested containers are not supported');
  if (!id) throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', 'The container id is empty');
  if (live.has(id) || ended.has(id)) throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', `Container ${id} already started`);
  const info = spec.containerInfo;
  if (!supports(info)) throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', 'The docker containerizer launches only containers of type DOCKER');
  if (!info!.docker) throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', "DockerInfo 'docker' is not set for DOCKER typed ContainerInfo");
  const image = info!.docker.image;
  if (!image) throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', "DockerInfo 'image' is not set");

  // A task that brings its own executor: the container is that custom executor's, which reports its
  // tasks itself (Mesos's DockerContainerizer runs it with no docker executor in between).
  const custom = spec.task.executor !== undefined;
  const entry = newEntry(ctx, id, spec.task, info, spec.sandboxDirectory, custom ? undefined : spec.sendStatus);
  entry.executor = custom;
  const taskId = spec.task.taskId?.value ?? '';
  const started = Date.now();

  // The containerizer's part (Mesos pulls before the executor starts): a failure here is a launch failure.
  try {
    await ensureImage(ctx, image, info!.docker.forcePullImage ?? false);
  } catch (err) {
    live.delete(id);
    const message = messageOf(err);
    const termination: Termination = {
      state: TaskState.TASK_FAILED,
      reason: TaskStatus_Reason.REASON_CONTAINER_LAUNCH_FAILED,
      message: `Failed to launch container: ${message}`,
    };
    ended.set(id, termination);
    entry.markRunning();
    entry.settle(termination);
    throw err;
  }

  if (custom) return launchExecutor(ctx, entry, spec);
  // From here on the containerizer is the docker executor.
  if (entry.killed) return killedDuringLaunch(ctx, entry);
  send(ctx, entry, { state: TaskState.TASK_STARTING });

  const prepared = prepareRunOptions(ctx, entry, spec, taskId);
  if (!prepared) return;
  const { runOptions, logBase } = prepared;
  entry.networkMode = runOptions.networkMode;
  if (!(await createAndStart(ctx, entry, runOptions, taskId))) return;
  entry.phase = 'running';
  startLogs(ctx, entry, logBase);
  watch(ctx, entry);
  if (entry.killed) entry.stopping ??= stopContainer(ctx, entry, entry.killGraceMs ?? ctx.defaultGraceMs);

  const inspected = await inspectUntilStarted(ctx, entry);
  const going = () => !entry.killed && !entry.terminated;
  // Reachable before reported running: the host ports first (with a forwarder), then TASK_RUNNING.
  if (inspected && going() && (await forwardHostPorts(ctx, entry, inspected, [...spec.task.resources, ...spec.executor.resources])) && going()) {
    entry.networkInfo = runningNetworkInfo(info, addressesFromInspect(inspected));
    send(ctx, entry, {
      state: TaskState.TASK_RUNNING,
      data: inspectData(inspected),
      ...(entry.networkInfo ? { containerStatus: { networkInfos: [entry.networkInfo] } } : {}),
    });
    log.info(
      { containerId: id, taskId, networkMode: entry.networkMode, ms: Date.now() - started, addresses: entry.networkInfo?.ipAddresses.map((a) => a.ipAddress) },
      'task running',
    );
  }
  entry.markRunning();
}

/**
 * Mesos's run options for the task, and the sandbox's log sizes before it runs (the log copy's
 * base); undefined when they cannot be made, and the task has failed.
 */
function prepareRunOptions(ctx: DockerContext, entry: Entry, spec: LaunchSpec, taskId: string): PreparedRun | undefined {
  try {
    return buildRunOptions(ctx, entry, spec, { command: spec.task.command ?? spec.executor.command, environment: spec.environment });
  } catch (err) {
    // A DockerContainerizerError carries Mesos's message; anything else (the sandbox is not
    // writable, ...) still ends the task the same way rather than leaving it launching forever.
    const message = messageOf(err);
    if (err instanceof DockerContainerizerError) ctx.log.warn({ containerId: entry.id, taskId, err: message }, 'invalid docker run options');
    else ctx.log.error({ containerId: entry.id, taskId, err }, 'cannot prepare the docker run options');
    fail(ctx, entry, `Failed to create docker run options: ${message}`);
    return undefined;
  }
}
