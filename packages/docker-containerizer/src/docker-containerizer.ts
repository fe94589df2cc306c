import { hostname } from 'node:os';
import Docker from 'dockerode';
import {
  ContainerizerError,
  createLogger,
  type Containerizer,
  type ExecutorStatus,
  type KnownContainer,
  type LaunchSpec,
  type Logger,
  type NetworkUsage,
  type Termination,
} from '@ippc/core';
import {
  ContainerInfo_Type,
  TaskState,
  TaskStatus_Reason,
  TaskStatus_Source,
  type ContainerID,
  type ContainerInfo,
  type ContainerStatus,
  type NetworkInfo,
  type TaskInfo,
} from '@ippc/proto';
import { watchDaemon, type DaemonWatch } from './daemon-watch.js';
import { DockerContainerizerError, daemonMessage, daemonStatus } from './errors.js';
import { addressesFromInspect, inspectData, runningNetworkInfo } from './inspect.js';
import {
  AGENT_ID_LABEL,
  CONTAINER_ID_LABEL,
  FRAMEWORK_ID_LABEL,
  LOG_OFFSETS_LABEL,
  OWNER_LABEL,
  OWNER_VALUE,
  SCOPE_LABEL,
  TASK_ID_LABEL,
  containerName,
} from './labels.js';
import { followLogs, sandboxLogSizes, touchSandboxLogs, type LogPump, type LogSizes } from './log-pump.js';
import { createRunOptions, type HostNetwork } from './run-options.js';

/** Options of {@link createDockerContainerizer}. Every field is optional. */
export interface DockerContainerizerOptions {
  /** Client of the daemon to use. Default: `new Docker()` (DOCKER_HOST, else /var/run/docker.sock). */
  docker?: Docker;
  /**
   * What Mesos's HOST network means: `'host'` (default) is Docker's host network, right when the
   * agent runs on the machine itself; `{ container: '<agent container id or name>' }` joins the
   * network namespace of the container the agent runs in (`container:<id>`), so a HOST task shares
   * the agent's address when the agent is itself a container driving the daemon through its socket.
   */
  hostNetwork?: HostNetwork;
  /**
   * Tells this agent's containers apart from those of other agents on the same daemon: written as
   * the `org.ippc.docker.scope` label, and recover() only looks at (and reaps among) containers
   * carrying it. Default: the machine's host name, so one agent per host (or per agent container,
   * whose host name is its own) needs nothing set.
   */
  scope?: string;
  /** Extra labels on every container (the containerizer's own `org.ippc.*` labels win over them). */
  labels?: Record<string, string>;
  /** Where the sandbox appears inside the container, and `MESOS_SANDBOX` (Mesos's `--sandbox_directory`). Default `/mnt/mesos/sandbox`. */
  mappedDirectory?: string;
  /**
   * The daemon-side path of a sandbox, for the bind mount; `undefined` mounts nothing. Default: the
   * same path (the agent and the daemon see one file system). An agent in a container maps its
   * sandbox root to the host folder it is mounted from.
   */
  sandboxHostPath?: (sandboxDirectory: string) => string | undefined;
  /**
   * Grace period between the stop signal and SIGKILL when neither `destroy()` nor the task's
   * `kill_policy` gives one. Default 5000 ms (Mesos's `DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD`).
   * Docker counts the stop timeout in whole seconds: a grace period is rounded up to one.
   */
  defaultGracePeriodMs?: number;
  /** Remove containers in this scope that the agent does not know, at recover(). Default true (Mesos's `--docker_kill_orphans`). */
  killOrphans?: boolean;
  /**
   * Pull an image that is not on the daemon (and when `force_pull_image` is set). Default false:
   * ippc builds its images offline and never reaches a registry unless asked to (Mesos pulls).
   */
  pullImages?: boolean;
  /** Mesos's `--cgroups_enable_cfs`: cap CPU at the task's `cpus` too. Default false. */
  cgroupsEnableCfs?: boolean;
  /** Default: a structured logger with component `docker-containerizer`. */
  logger?: Logger;
}

/** What the containerizer knows about one of its containers, Docker side. */
export interface DockerContainerDescription {
  containerId: string;
  /** `mesos-<container id>`. */
  name: string;
  phase: 'launching' | 'running' | 'terminated';
  /** The Docker container id once created. */
  dockerId?: string;
  /** `HostConfig.NetworkMode`: host, bridge, none, a user network, or `container:<id>`. */
  networkMode?: string;
  /** The NetworkInfo reported in TASK_RUNNING (absent for HOST and NONE). */
  networkInfo?: NetworkInfo;
  termination?: Termination;
}

export interface DockerContainerizer extends Containerizer, AsyncDisposable {
  readonly name: 'docker';
  /** Docker-side facts about a container this instance holds or held, or undefined. */
  describe(containerId: string): DockerContainerDescription | undefined;
  /**
   * Stops watching containers and copying their logs, leaving them running: what an agent does when
   * it exits. A new instance's recover() takes them over. Launches fail afterwards.
   */
  close(): Promise<void>;
}

// Mesos's docker executor waits this long for inspect before giving up on TASK_RUNNING.
const INSPECT_TIMEOUT_MS = 5_000;
const INSPECT_RETRY_MS = 500;
// How long to keep trying `wait` while the daemon does not answer before reporting
// `Failed to get exit status of container` (Mesos's message for a run without exit status).
const WAIT_RETRIES = 30;
const WAIT_RETRY_MS = 1_000;
// How long a terminated container's log may take to drain into the sandbox.
const LOG_DRAIN_MS = 5_000;
// Terminations remembered for wait() after the container is gone.
const ENDED_KEPT = 1024;

interface Entry {
  id: string;
  name: string;
  task: TaskInfo;
  containerInfo?: ContainerInfo;
  sandbox: string;
  sendStatus?: (status: ExecutorStatus) => void;
  phase: 'launching' | 'running' | 'terminated';
  dockerId?: string;
  networkMode?: string;
  networkInfo?: NetworkInfo;
  killed: boolean;
  killGraceMs?: number;
  stopping?: Promise<void>;
  exiting?: Promise<void>;
  /** Settles once TASK_RUNNING was sent (or will never be). */
  running: Promise<void>;
  markRunning: () => void;
  termination: Promise<Termination>;
  settle: (t: Termination) => void;
  terminated?: Termination;
  logs?: LogPump;
  abort: AbortController;
}

/** The string form of a ContainerID (`parent.child` for nested ones). */
export function containerIdString(id: ContainerID): string {
  return id.parent ? `${containerIdString(id.parent)}.${id.value ?? ''}` : (id.value ?? '');
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}

function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))]).finally(() => clearTimeout(timer));
}

function taskGraceMs(task: TaskInfo): number | undefined {
  const ns = task.killPolicy?.gracePeriod?.nanoseconds;
  return ns === undefined ? undefined : Math.max(0, ns / 1e6);
}

/**
 * Creates the Docker containerizer: tasks with `ContainerInfo{type: DOCKER}` become Docker
 * containers named `mesos-<container id>`, created through the Engine API with Mesos's run
 * options (network modes HOST, BRIDGE, NONE, USER), their logs copied into the sandbox, their
 * addresses read back from inspect and reported in TASK_RUNNING the way Mesos's docker executor
 * does. The containerizer plays that executor's part in the statuses it sends.
 */
export function createDockerContainerizer(options: DockerContainerizerOptions = {}): DockerContainerizer {
  const docker = options.docker ?? new Docker();
  const hostNetwork: HostNetwork = options.hostNetwork ?? 'host';
  if (hostNetwork !== 'host' && !(typeof hostNetwork === 'object' && typeof hostNetwork.container === 'string' && hostNetwork.container !== '')) {
    throw new DockerContainerizerError('DOCKER_OPTIONS_INVALID', "hostNetwork must be 'host' or { container: '<agent container id or name>' }");
  }
  const scope = options.scope ?? hostname();
  const mappedDirectory = options.mappedDirectory ?? '/mnt/mesos/sandbox';
  const sandboxHostPath = options.sandboxHostPath ?? ((dir: string) => dir);
  const defaultGraceMs = options.defaultGracePeriodMs ?? 5_000;
  const killOrphans = options.killOrphans ?? true;
  const pullImages = options.pullImages ?? false;
  const log = options.logger ?? createLogger({ component: 'docker-containerizer' });

  const live = new Map<string, Entry>();
  const ended = new Map<string, Termination>();
  let closed = false;
  // Opened with the first container watched, so a containerizer that never runs one holds no stream.
  let daemonWatch: DaemonWatch | undefined;
  const daemon = (): DaemonWatch => (daemonWatch ??= watchDaemon(docker, log, { filters: { type: ['container'], label: [`${SCOPE_LABEL}=${scope}`] } }));

  function newEntry(id: string, task: TaskInfo, containerInfo: ContainerInfo | undefined, sandbox: string, sendStatus?: (s: ExecutorStatus) => void): Entry {
    let markRunning!: () => void;
    let settle!: (t: Termination) => void;
    const entry: Entry = {
      id,
      name: containerName(id),
      task,
      containerInfo,
      sandbox,
      sendStatus,
      phase: 'launching',
      killed: false,
      running: new Promise<void>((r) => (markRunning = r)),
      markRunning: () => markRunning(),
      termination: new Promise<Termination>((r) => (settle = r)),
      settle: (t) => settle(t),
      abort: new AbortController(),
    };
    live.set(id, entry);
    return entry;
  }

  function send(entry: Entry, status: ExecutorStatus): void {
    if (!entry.sendStatus || closed) return;
    try {
      entry.sendStatus({ source: TaskStatus_Source.SOURCE_EXECUTOR, ...status });
    } catch (err) {
      log.error({ containerId: entry.id, err }, 'sendStatus threw');
    }
  }

  /** Records the end of a container: terminal status (as the executor would send it), wait() resolved. */
  function finish(entry: Entry, termination: Termination): void {
    if (entry.terminated) return;
    entry.terminated = termination;
    entry.phase = 'terminated';
    entry.markRunning();
    live.delete(entry.id);
    ended.set(entry.id, termination);
    if (ended.size > ENDED_KEPT) ended.delete(ended.keys().next().value as string);
    log.info({ containerId: entry.id, state: TaskState[termination.state], message: termination.message }, 'container terminated');
    send(entry, { state: termination.state, message: termination.message, reason: termination.reason });
    entry.settle(termination);
  }

  async function removeContainer(idOrName: string): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await docker.getContainer(idOrName).remove({ force: true, v: true });
        return;
      } catch (err) {
        const status = daemonStatus(err);
        if (status === 404) return;
        // 409: a removal is already in progress; it will finish on its own, but check again.
        if (attempt === 2) log.error({ container: idOrName, err: daemonMessage(err) }, 'failed to remove container');
        else await sleep(200);
      }
    }
  }

  async function ensureImage(image: string, forcePull: boolean): Promise<void> {
    let present = true;
    if (!forcePull || !pullImages) {
      try {
        await docker.getImage(image).inspect();
      } catch (err) {
        if (daemonStatus(err) !== 404) throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', `Failed to inspect image '${image}': ${daemonMessage(err)}`, { cause: err });
        present = false;
      }
    }
    if (present && !forcePull) return;
    if (!pullImages) {
      if (present) return;
      throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', `Image '${image}' is not on the Docker daemon and pulling is disabled: load or build it first`);
    }
    try {
      const stream = await docker.pull(image);
      await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (err: unknown) => (err ? reject(err) : resolve())));
    } catch (err) {
      throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', `Failed to pull image '${image}': ${daemonMessage(err)}`, { cause: err });
    }
  }

  async function inspectUntilStarted(entry: Entry): Promise<Docker.ContainerInspectInfo | undefined> {
    const deadline = Date.now() + INSPECT_TIMEOUT_MS;
    for (;;) {
      try {
        const info = await docker.getContainer(entry.dockerId!).inspect();
        if (info.State?.StartedAt && !info.State.StartedAt.startsWith('0001-')) return info;
      } catch (err) {
        log.warn({ containerId: entry.id, err: daemonMessage(err) }, 'inspect failed');
      }
      if (Date.now() + INSPECT_RETRY_MS > deadline || closed) return undefined;
      await sleep(INSPECT_RETRY_MS);
    }
  }

  /** Copies the container's log into the sandbox; `base`: the files' sizes when it was created. */
  function startLogs(entry: Entry, base: LogSizes): void {
    const container = docker.getContainer(entry.dockerId!);
    let complained = false;
    entry.logs = followLogs(docker, container, entry.sandbox, {
      base,
      running: () =>
        container.inspect().then(
          (i) => i.State?.Running === true,
          (err) => (daemonStatus(err) === 404 ? false : undefined),
        ),
      onError: (err) => {
        // Once per container: while the daemon is away every attempt fails the same way.
        if (complained) return;
        complained = true;
        log.warn({ containerId: entry.id, err: daemonMessage(err) }, 'cannot stream container logs to the sandbox; trying again');
      },
    });
  }

  /** Waits for the container to exit (long poll), then reports and removes it. */
  function watch(entry: Entry): void {
    entry.exiting = (async () => {
      const container = docker.getContainer(entry.dockerId!);
      let exitCode: number | undefined;
      let gone = false;
      for (let failures = 0; ; ) {
        // One abort per attempt: the entry's (close, destroy) or the daemon coming back, whose
        // restart left this long poll hanging (see daemon-watch.ts).
        const attempt = new AbortController();
        const stop = () => attempt.abort();
        entry.abort.signal.addEventListener('abort', stop, { once: true });
        let onAgain!: () => void;
        const again = new Promise<'again'>((resolve) => (onAgain = () => resolve('again')));
        const unsubscribe = daemon().onReconnect(() => {
          attempt.abort();
          onAgain();
        });
        try {
          const waited = container.wait({ abortSignal: attempt.signal } as Docker.ContainerWaitOptions) as Promise<{ StatusCode?: number }>;
          const result = await Promise.race([waited, again]);
          if (result === 'again') {
            waited.catch(() => undefined);
            log.info({ containerId: entry.id }, 'waiting on the container again after the daemon came back');
            continue;
          }
          exitCode = result.StatusCode;
          break;
        } catch (err) {
          if (closed || entry.abort.signal.aborted) return;
          // Aborted by the daemon's return (the race may see the rejection first): wait again.
          if (attempt.signal.aborted) continue;
          if (daemonStatus(err) === 404) {
            gone = true;
            break;
          }
          if (++failures >= WAIT_RETRIES) break;
          log.warn({ containerId: entry.id, err: daemonMessage(err) }, 'wait failed; retrying');
          await sleep(WAIT_RETRY_MS, entry.abort.signal);
        } finally {
          unsubscribe();
          entry.abort.signal.removeEventListener('abort', stop);
        }
      }
      if (closed) return;
      await exited(entry, exitCode, gone);
    })();
  }

  async function exited(entry: Entry, exitCode: number | undefined, gone = false): Promise<void> {
    // Mesos sends the terminal status only after TASK_RUNNING (or after giving up on inspect).
    await within(entry.running, INSPECT_TIMEOUT_MS);
    if (entry.logs) await within(entry.logs.done, LOG_DRAIN_MS);
    // Past the drain time (the daemon is away): stop trying to copy the rest.
    await entry.logs?.close();
    if (entry.dockerId) await removeContainer(entry.dockerId);
    let termination: Termination;
    if (exitCode === undefined) {
      termination = gone
        ? { state: TaskState.TASK_FAILED, reason: TaskStatus_Reason.REASON_EXECUTOR_TERMINATED, message: 'Executor terminated' }
        : { state: TaskState.TASK_FAILED, message: 'Failed to get exit status of container' };
      if (entry.killed) termination = { ...termination, state: TaskState.TASK_KILLED };
    } else {
      const state = entry.killed ? TaskState.TASK_KILLED : exitCode === 0 ? TaskState.TASK_FINISHED : TaskState.TASK_FAILED;
      termination = { state, message: `Container exited with status ${exitCode}`, exitCode };
    }
    finish(entry, termination);
  }

  async function stopContainer(entry: Entry, graceMs: number): Promise<void> {
    const t = Math.ceil(graceMs / 1000);
    try {
      await docker.getContainer(entry.dockerId!).stop({ t });
    } catch (err) {
      const status = daemonStatus(err);
      // 304: already stopped; 404: already gone. Either way watch() reports the end.
      if (status !== 304 && status !== 404) log.error({ containerId: entry.id, err: daemonMessage(err) }, 'docker stop failed');
    }
  }

  function fail(entry: Entry, message: string): void {
    finish(entry, { state: TaskState.TASK_FAILED, message });
  }

  function killedDuringLaunch(entry: Entry): void {
    finish(entry, { state: TaskState.TASK_KILLED, message: 'Container destroyed while launching' });
  }

  async function launch(spec: LaunchSpec): Promise<void> {
    if (closed) throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', 'The docker containerizer is closed');
    const id = containerIdString(spec.containerId);
    if (spec.containerId.parent) throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', 'Nested containers are not supported');
    if (!id) throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', 'The container id is empty');
    if (live.has(id) || ended.has(id)) throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', `Container ${id} already started`);
    const info = spec.containerInfo;
    if (!supports(info)) throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', 'The docker containerizer launches only containers of type DOCKER');
    if (!info!.docker) throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', "DockerInfo 'docker' is not set for DOCKER typed ContainerInfo");
    const image = info!.docker.image;
    if (!image) throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', "DockerInfo 'image' is not set");

    const entry = newEntry(id, spec.task, info, spec.sandboxDirectory, spec.sendStatus);
    const taskId = spec.task.taskId?.value ?? '';
    const started = Date.now();

    // The containerizer's part (Mesos pulls before the executor starts): a failure here is a launch failure.
    try {
      await ensureImage(image, info!.docker.forcePullImage ?? false);
    } catch (err) {
      live.delete(id);
      const message = err instanceof Error ? err.message : String(err);
      const termination: Termination = { state: TaskState.TASK_FAILED, reason: TaskStatus_Reason.REASON_CONTAINER_LAUNCH_FAILED, message: `Failed to launch container: ${message}` };
      ended.set(id, termination);
      entry.markRunning();
      entry.settle(termination);
      throw err;
    }

    // From here on the containerizer is the docker executor.
    if (entry.killed) return killedDuringLaunch(entry);
    send(entry, { state: TaskState.TASK_STARTING });

    let runOptions;
    let logBase: LogSizes;
    try {
      const hostPath = sandboxHostPath(spec.sandboxDirectory);
      touchSandboxLogs(spec.sandboxDirectory);
      logBase = sandboxLogSizes(spec.sandboxDirectory);
      runOptions = createRunOptions({
        containerInfo: info!,
        command: spec.task.command ?? spec.executor.command,
        name: entry.name,
        resources: [...spec.task.resources, ...spec.executor.resources],
        limits: spec.task.limits,
        environment: spec.environment,
        sandbox: hostPath === undefined ? undefined : { hostPath, containerPath: mappedDirectory },
        hostNetwork,
        cgroupsEnableCfs: options.cgroupsEnableCfs,
        labels: {
          ...options.labels,
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
      const message = err instanceof Error ? err.message : String(err);
      if (err instanceof DockerContainerizerError) log.warn({ containerId: id, taskId, err: message }, 'invalid docker run options');
      else log.error({ containerId: id, taskId, err }, 'cannot prepare the docker run options');
      return fail(entry, `Failed to create docker run options: ${message}`);
    }
    entry.networkMode = runOptions.networkMode;

    let container: Docker.Container;
    try {
      container = await docker.createContainer(runOptions.body);
    } catch (err) {
      log.warn({ containerId: id, taskId, err: daemonMessage(err) }, 'docker create failed');
      return fail(entry, `Failed to run docker container: ${daemonMessage(err)}`);
    }
    entry.dockerId = container.id;
    if (entry.killed || closed) {
      await removeContainer(container.id);
      return killedDuringLaunch(entry);
    }
    try {
      await container.start();
    } catch (err) {
      log.warn({ containerId: id, taskId, err: daemonMessage(err) }, 'docker start failed');
      await removeContainer(container.id);
      return fail(entry, `Failed to run docker container: ${daemonMessage(err)}`);
    }
    entry.phase = 'running';
    startLogs(entry, logBase);
    watch(entry);
    if (entry.killed) entry.stopping ??= stopContainer(entry, entry.killGraceMs ?? defaultGraceMs);

    const inspected = await inspectUntilStarted(entry);
    if (inspected && !entry.killed && !entry.terminated) {
      entry.networkInfo = runningNetworkInfo(info, addressesFromInspect(inspected));
      send(entry, {
        state: TaskState.TASK_RUNNING,
        data: inspectData(inspected),
        ...(entry.networkInfo ? { containerStatus: { networkInfos: [entry.networkInfo] } } : {}),
      });
      log.info({ containerId: id, taskId, networkMode: entry.networkMode, ms: Date.now() - started, addresses: entry.networkInfo?.ipAddresses.map((a) => a.ipAddress) }, 'task running');
    }
    entry.markRunning();
  }

  function supports(containerInfo: ContainerInfo | undefined): boolean {
    return containerInfo?.type === ContainerInfo_Type.DOCKER;
  }

  async function recover(known: KnownContainer[]): Promise<void> {
    const found = await docker.listContainers({ all: true, filters: { label: [`${OWNER_LABEL}=${OWNER_VALUE}`, `${SCOPE_LABEL}=${scope}`] } });
    const byId = new Map<string, Docker.ContainerInfo>();
    const unlabelled: Docker.ContainerInfo[] = [];
    for (const c of found) {
      const cid = c.Labels?.[CONTAINER_ID_LABEL];
      if (cid) byId.set(cid, c);
      else unlabelled.push(c);
    }
    let recovered = 0;
    for (const k of known) {
      if (k.containerizer !== 'docker') continue;
      const id = containerIdString(k.containerId);
      if (live.has(id)) continue;
      const summary = byId.get(id);
      byId.delete(id);
      const entry = newEntry(id, k.task, k.containerInfo, k.sandboxDirectory);
      if (!summary) {
        // Gone while the agent was away (someone removed it): as Mesos does when an executor vanished.
        log.warn({ containerId: id }, 'known container not found on the daemon');
        finish(entry, { state: TaskState.TASK_FAILED, reason: TaskStatus_Reason.REASON_EXECUTOR_TERMINATED, message: 'Executor terminated' });
        continue;
      }
      entry.dockerId = summary.Id;
      entry.networkMode = summary.HostConfig?.NetworkMode;
      let inspected: Docker.ContainerInspectInfo | undefined;
      try {
        inspected = await docker.getContainer(summary.Id).inspect();
      } catch (err) {
        log.warn({ containerId: id, err: daemonMessage(err) }, 'inspect failed during recovery');
      }
      if (inspected) {
        entry.networkMode = inspected.HostConfig?.NetworkMode;
        entry.networkInfo = runningNetworkInfo(k.containerInfo, addressesFromInspect(inspected));
      }
      entry.markRunning();
      const offsets = (summary.Labels?.[LOG_OFFSETS_LABEL] ?? '0,0').split(',').map(Number);
      const neverStarted = !inspected?.State?.StartedAt || inspected.State.StartedAt.startsWith('0001-');
      if (inspected && neverStarted) {
        // The agent died between create and start: nothing ran.
        await removeContainer(summary.Id);
        fail(entry, 'Failed to run docker container: the container was created but never started');
        continue;
      }
      startLogs(entry, { stdout: offsets[0] || 0, stderr: offsets[1] || 0 });
      if (inspected?.State?.Running || !inspected) {
        entry.phase = 'running';
        watch(entry);
      } else {
        // Exited while the agent was away: report how, once its log is in the sandbox.
        await exited(entry, inspected.State?.ExitCode);
      }
      recovered++;
    }
    const orphans = [...byId.values(), ...unlabelled];
    if (killOrphans) await Promise.all(orphans.map((o) => removeContainer(o.Id)));
    log.info({ recovered, orphans: orphans.length, reaped: killOrphans ? orphans.length : 0, scope }, 'recovered docker containers');
  }

  async function wait(containerId: string): Promise<Termination> {
    const entry = live.get(containerId);
    if (entry) return entry.termination;
    const t = ended.get(containerId);
    if (t) return t;
    throw new ContainerizerError('CONTAINER_NOT_FOUND', `Unknown container: ${containerId}`);
  }

  async function destroy(containerId: string, destroyOptions: { gracePeriodMs?: number } = {}): Promise<boolean> {
    const entry = live.get(containerId);
    if (!entry) return ended.has(containerId);
    const grace = destroyOptions.gracePeriodMs ?? taskGraceMs(entry.task) ?? defaultGraceMs;
    entry.killed = true;
    entry.killGraceMs ??= grace;
    if (entry.phase === 'running') entry.stopping ??= stopContainer(entry, grace);
    await entry.termination;
    return true;
  }

  async function status(containerId: string): Promise<ContainerStatus> {
    // Like Mesos's DockerContainerizer::status: the container id only. The addresses travel in the
    // executor's TASK_RUNNING (see launch); repeating them here would duplicate them when the agent merges.
    if (!live.has(containerId) && !ended.has(containerId)) throw new ContainerizerError('CONTAINER_NOT_FOUND', `Unknown container: ${containerId}`);
    return { containerId: { value: containerId }, networkInfos: [] };
  }

  async function usage(containerId: string): Promise<NetworkUsage | undefined> {
    const entry = live.get(containerId);
    if (!entry?.dockerId || entry.phase !== 'running') return undefined;
    const stats = (await docker.getContainer(entry.dockerId).stats({ stream: false })) as Docker.ContainerStats;
    const networks = Object.values(stats.networks ?? {});
    if (networks.length === 0) return undefined;
    const sum = (k: keyof (typeof networks)[number]) => networks.reduce((n, s) => n + (Number(s[k]) || 0), 0);
    return {
      rxBytes: sum('rx_bytes'),
      rxPackets: sum('rx_packets'),
      rxErrors: sum('rx_errors'),
      rxDropped: sum('rx_dropped'),
      txBytes: sum('tx_bytes'),
      txPackets: sum('tx_packets'),
      txErrors: sum('tx_errors'),
      txDropped: sum('tx_dropped'),
    };
  }

  function describe(containerId: string): DockerContainerDescription | undefined {
    const entry = live.get(containerId);
    if (entry) {
      return {
        containerId,
        name: entry.name,
        phase: entry.phase,
        dockerId: entry.dockerId,
        networkMode: entry.networkMode,
        networkInfo: entry.networkInfo,
      };
    }
    const t = ended.get(containerId);
    return t ? { containerId, name: containerName(containerId), phase: 'terminated', termination: t } : undefined;
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    daemonWatch?.close();
    const entries = [...live.values()];
    for (const e of entries) e.abort.abort();
    await Promise.all(
      entries.map(async (e) => {
        await e.logs?.close();
        await e.exiting;
      }),
    );
  }

  return {
    name: 'docker',
    supports,
    recover,
    launch,
    wait,
    destroy,
    status,
    containers: () => [...live.keys()],
    usage,
    describe,
    close,
    [Symbol.asyncDispose]: close,
  };
}
