import type Docker from 'dockerode';
import { ContainerizerError, type LaunchSpec, type Termination, messageOf, sleep } from '@ippc/core';
import { containerIdToString } from '@ippc/mesos';
import { ContainerInfo_Type, TaskState, TaskStatus_Reason, type ContainerInfo } from '@ippc/proto';
import { DockerContainerizerError, daemonMessage } from '../errors.js';
import { addressesFromInspect, inspectData, runningNetworkInfo } from '../inspect.js';
import { AGENT_ID_LABEL, CONTAINER_ID_LABEL, FRAMEWORK_ID_LABEL, LOG_OFFSETS_LABEL, OWNER_LABEL, OWNER_VALUE, SCOPE_LABEL, TASK_ID_LABEL } from '../labels.js';
import { sandboxLogSizes, touchSandboxLogs, type LogSizes } from '../log-pump.js';
import { createRunOptions, type DockerRunOptions } from '../run-options.js';
import { INSPECT_TIMEOUT_MS, type DockerContext, type Entry } from './context.js';
import { stopContainer } from './destroy.js';
import { fail, finish, newEntry, send } from './entries.js';
import { forwardHostPorts } from './host-ports.js';
import { ensureImage } from './image.js';
import { startLogs } from './logs.js';
import { removeContainer } from './remove.js';
import { watch } from './watch.js';

const INSPECT_RETRY_MS = 500;

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

  const entry = newEntry(ctx, id, spec.task, info, spec.sandboxDirectory, spec.sendStatus);
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
function prepareRunOptions(
  ctx: DockerContext,
  entry: Entry,
  spec: LaunchSpec,
  taskId: string,
): { runOptions: DockerRunOptions; logBase: LogSizes } | undefined {
  const { log, scope } = ctx;
  const id = entry.id;
  let runOptions;
  let logBase: LogSizes;
  try {
    const hostPath = ctx.sandboxHostPath(spec.sandboxDirectory);
    touchSandboxLogs(spec.sandboxDirectory);
    logBase = sandboxLogSizes(spec.sandboxDirectory);
    runOptions = createRunOptions({
      containerInfo: spec.containerInfo!,
      command: spec.task.command ?? spec.executor.command,
      name: entry.name,
      resources: [...spec.task.resources, ...spec.executor.resources],
      limits: spec.task.limits,
      environment: spec.environment,
      sandbox: hostPath === undefined ? undefined : { hostPath, containerPath: ctx.mappedDirectory },
      hostNetwork: ctx.hostNetwork,
      cgroupsEnableCfs: ctx.cgroupsEnableCfs,
      labels: {
        ...ctx.labels,
        [OWNER_LABEL]: OWNER_VALUE,
        [SCOPE_LABEL]: scope,
        [AGENT_ID_LABEL]: spec.agentId.value ?? '',
        [FRAMEWORK_ID_LABEL]: spec.frameworkId.value ?? '',
        [TASK_ID_LABEL]: taskId,
        [CONTAINER_ID_LABEL]: id,
        [LOG_OFFSETS_LABEL]: `${logBase.stdout},${logBase.stderr}`,
      },
    });
  } catch (err) {
    // A DockerContainerizerError carries Mesos's message; anything else (the sandbox is not
    // writable, ...) still ends the task the same way rather than leaving it launching forever.
    const message = messageOf(err);
    if (err instanceof DockerContainerizerError) log.warn({ containerId: id, taskId, err: message }, 'invalid docker run options');
    else log.error({ containerId: id, taskId, err }, 'cannot prepare the docker run options');
    fail(ctx, entry, `Failed to create docker run options: ${message}`);
    return undefined;
  }
  return { runOptions, logBase };
}

/** `docker create` and `docker start`; false when the launch ends here (reported, nothing left behind). */
async function createAndStart(ctx: DockerContext, entry: Entry, runOptions: DockerRunOptions, taskId: string): Promise<boolean> {
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

function killedDuringLaunch(ctx: DockerContext, entry: Entry): void {
  finish(ctx, entry, { state: TaskState.TASK_KILLED, message: 'Container destroyed while launching' });
}

async function inspectUntilStarted(ctx: DockerContext, entry: Entry): Promise<Docker.ContainerInspectInfo | undefined> {
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
