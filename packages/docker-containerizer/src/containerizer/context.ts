import type Docker from 'dockerode';
import type { ExecutorStatus, Logger, Termination } from '@ippc/core';
import type { ContainerInfo, NetworkInfo, TaskInfo } from '@ippc/proto';
import { watchDaemon, type DaemonWatch } from '../daemon-watch.js';
import { SCOPE_LABEL } from '../labels.js';
import type { HostPort, HostPortForwarder } from '../host-ports/host-port-forwarder.js';
import type { LogPump } from '../log-pump.js';
import type { HostNetwork } from '../run-options.js';

// What the Docker containerizer's verbs share, one per createDockerContainerizer(): its settings,
// resolved from DockerContainerizerOptions once, and its table of containers. The verbs (launch.ts,
// recover.ts, wait.ts, destroy.ts, ...) are functions of this context.

/** One container the containerizer holds, from launch (or recover) until it terminated. */
export interface Entry {
  id: string;
  name: string;
  task: TaskInfo;
  containerInfo?: ContainerInfo;
  sandbox: string;
  sendStatus?: (status: ExecutorStatus) => void;
  /**
   * A custom executor's container: it reports its tasks itself (the containerizer sends no
   * status), and its addresses are its ContainerStatus, which every task it runs reports.
   */
  executor?: boolean;
  phase: 'launching' | 'running' | 'terminated';
  dockerId?: string;
  networkMode?: string;
  networkInfo?: NetworkInfo;
  /** Host ports handed to the forwarder (set before it is asked, so an exit racing the launch takes them back). */
  hostPorts?: HostPort[];
  /** Why the launch gave up on a started container: its terminal status, whatever it exits with. */
  failure?: Termination;
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

/** The settings and state of one Docker containerizer (see DockerContainerizerOptions for the settings' defaults). */
export interface DockerContext {
  readonly docker: Docker;
  readonly hostNetwork: HostNetwork;
  readonly scope: string;
  readonly mappedDirectory: string;
  readonly sandboxHostPath: (sandboxDirectory: string) => string | undefined;
  readonly defaultGraceMs: number;
  readonly killOrphans: boolean;
  readonly pullImages: boolean;
  readonly cgroupsEnableCfs?: boolean;
  /** Extra labels on every container. */
  readonly labels?: Record<string, string>;
  /** Carries published host ports to the agent's addresses; none: they stay where the daemon publishes them. */
  readonly hostPorts?: HostPortForwarder;
  readonly log: Logger;
  /** Containers launching or running, by container id. */
  readonly live: Map<string, Entry>;
  /** Terminations kept for wait() after the container is gone (see entries.ts). */
  readonly ended: Map<string, Termination>;
  /** Set by close(): launches fail, watches and log copies stop, no status is sent any more. */
  closed: boolean;
  // Opened with the first container watched, so a containerizer that never runs one holds no stream.
  daemonWatch?: DaemonWatch;
}

/** The daemon's event stream for this scope's containers (see daemon-watch.ts), opened on first use. */
export function daemon(ctx: DockerContext): DaemonWatch {
  return (ctx.daemonWatch ??= watchDaemon(ctx.docker, ctx.log, { filters: { type: ['container'], label: [`${SCOPE_LABEL}=${ctx.scope}`] } }));
}

// Mesos's docker executor waits this long for inspect before giving up on TASK_RUNNING.
export const INSPECT_TIMEOUT_MS = 5_000;
