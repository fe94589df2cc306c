import { hostname } from 'node:os';
import Docker from 'dockerode';
import { createLogger, type Containerizer, type Logger } from '@ippc/core';
import { close } from './containerizer/close.js';
import type { DockerContext } from './containerizer/context.js';
import { describe, type DockerContainerDescription } from './containerizer/describe.js';
import { destroy } from './containerizer/destroy.js';
import { launch, supports } from './containerizer/launch.js';
import { recover } from './containerizer/recover.js';
import { status } from './containerizer/status.js';
import { usage } from './containerizer/usage.js';
import { wait } from './containerizer/wait.js';
import { DockerContainerizerError } from './errors.js';
import type { HostPortForwarder } from './host-ports/host-port-forwarder.js';
import type { HostNetwork } from './run-options.js';

export type { DockerContainerDescription };

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
  /**
   * Carries the host ports Docker publishes for a container (BRIDGE, USER: on the daemon's host) to
   * the agent's addresses and its localhost, for an agent that is a container on another host than
   * the daemon's: see `createNftHostPortForwarder`. They are forwarded before TASK_RUNNING,
   * only those inside the task's `ports` resources, and no longer once the container is gone; a
   * launch whose ports cannot be forwarded fails its task. Default: none, the ports are reachable
   * only where the daemon publishes them (right when the agent runs on the daemon's machine).
   */
  hostPorts?: HostPortForwarder;
  /** Default: a structured logger with component `docker-containerizer`. */
  logger?: Logger;
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
  const ctx: DockerContext = {
    docker,
    hostNetwork,
    scope: options.scope ?? hostname(),
    mappedDirectory: options.mappedDirectory ?? '/mnt/mesos/sandbox',
    sandboxHostPath: options.sandboxHostPath ?? ((dir: string) => dir),
    defaultGraceMs: options.defaultGracePeriodMs ?? 5_000,
    killOrphans: options.killOrphans ?? true,
    pullImages: options.pullImages ?? false,
    cgroupsEnableCfs: options.cgroupsEnableCfs,
    labels: options.labels,
    hostPorts: options.hostPorts,
    log: options.logger ?? createLogger({ component: 'docker-containerizer' }),
    live: new Map(),
    ended: new Map(),
    closed: false,
  };
  const closeAll = () => close(ctx);

  return {
    name: 'docker',
    supports,
    recover: (known) => recover(ctx, known),
    launch: (spec) => launch(ctx, spec),
    wait: (containerId) => wait(ctx, containerId),
    destroy: (containerId, destroyOptions) => destroy(ctx, containerId, destroyOptions),
    status: (containerId) => status(ctx, containerId),
    containers: () => [...ctx.live.keys()],
    usage: (containerId) => usage(ctx, containerId),
    describe: (containerId) => describe(ctx, containerId),
    close: closeAll,
    [Symbol.asyncDispose]: closeAll,
  };
}
