import type {
  AgentID,
  ContainerID,
  ContainerInfo,
  ContainerStatus,
  ExecutorInfo,
  FrameworkID,
  TaskInfo,
  TaskState,
  TaskStatus_Reason,
  TaskStatus_Source,
} from '@ippc/proto';

// The seam between the agent and the containerizers (Mesos, Docker). The agent owns task state,
// status-update delivery and checkpoints of what it launched; a containerizer owns the container:
// starting it, its network, telling what it is (status), waiting for it, destroying it, and
// finding it again after an agent restart.

/**
 * A status the containerizer sends for its task, playing the role of Mesos's executor (the command
 * executor for the Mesos containerizer, mesos-docker-executor for Docker). The agent stamps ids,
 * time and uuid, merges the containerizer's `status()` into `container_status`, fills in the agent
 * IP when there are no `network_infos` (Mesos's rule), and retries the update until acknowledged.
 */
export interface ExecutorStatus {
  state: TaskState;
  message?: string;
  reason?: TaskStatus_Reason;
  /** Default `SOURCE_EXECUTOR`. */
  source?: TaskStatus_Source;
  /** What the executor itself found, e.g. the Docker executor's `network_infos` from `docker inspect`. */
  containerStatus?: ContainerStatus;
  data?: Uint8Array;
  healthy?: boolean;
}

/** Everything a containerizer needs to launch one task's container. */
export interface LaunchSpec {
  /** Chosen by the agent, unique per launch (Mesos: a UUID). */
  containerId: ContainerID;
  frameworkId: FrameworkID;
  agentId: AgentID;
  task: TaskInfo;
  /**
   * The executor the task runs under. For a command task the agent builds the command executor's
   * ExecutorInfo and copies `TaskInfo.container` into it (Mesos's rule), so the containerizer and
   * its isolators look at `executor.container` for `network_infos`.
   */
  executor: ExecutorInfo;
  /** The container's `ContainerInfo` (task's, else executor's), undefined when it has none. */
  containerInfo?: ContainerInfo;
  /** An existing folder; the task's stdout and stderr go to `stdout` and `stderr` files in it. */
  sandboxDirectory: string;
  /** Environment for the task: PORT0..N, PORTS, MESOS_TASK_ID, MESOS_SANDBOX, ... */
  environment: Record<string, string>;
  /** Send a status as the task's executor would (TASK_STARTING, TASK_RUNNING, terminal ones). */
  sendStatus(status: ExecutorStatus): void;
}

/** How a container ended. The agent turns it into the task's terminal status unless the containerizer already sent one. */
export interface Termination {
  state: TaskState.TASK_FINISHED | TaskState.TASK_FAILED | TaskState.TASK_KILLED | TaskState.TASK_LOST;
  /** e.g. `Command exited with status 1`, `Command terminated with signal Killed`. */
  message?: string;
  reason?: TaskStatus_Reason;
  exitCode?: number;
  signal?: string;
}

/** A container the agent checkpointed before it restarted. */
export interface KnownContainer {
  containerId: ContainerID;
  frameworkId: FrameworkID;
  task: TaskInfo;
  executor: ExecutorInfo;
  containerInfo?: ContainerInfo;
  sandboxDirectory: string;
  /** The containerizer that launched it (`Containerizer.name`). */
  containerizer: string;
}

/** Counters of a container's network interfaces, summed (Mesos: `net_rx_bytes`, ...). */
export interface NetworkUsage {
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
  /**
   * The same counters per interface, when the containerizer knows them (the network/cni isolator
   * gives one entry per CNI network: `eth0` on the first named network, ...). The sums above are
   * over these entries.
   */
  interfaces?: InterfaceUsage[];
}

/** One interface's counters, and the network it is attached to. */
export interface InterfaceUsage extends Omit<NetworkUsage, 'interfaces'> {
  /** Interface inside the container, e.g. `eth0`. */
  ifName: string;
  /** The network's name (a CNI network, or a Docker network mode). */
  network: string;
}

export interface Containerizer {
  /** `mesos` or `docker`: the value of `--containerizers` that selects it. */
  readonly name: string;
  /**
   * Whether this containerizer launches a container with this ContainerInfo. The agent tries its
   * containerizers in order (`--containerizers=docker,mesos`); Mesos's NOT_SUPPORTED.
   */
  supports(containerInfo: ContainerInfo | undefined): boolean;
  /**
   * Called once at agent start, before any launch. Live containers in `known` must keep running and
   * keep their network (no CNI DEL); `wait()` and `status()` work for them afterwards. Known
   * containers that are gone resolve `wait()` with a termination. Containers this containerizer
   * finds that are not in `known` (orphans) are destroyed and cleaned up.
   */
  recover(known: KnownContainer[]): Promise<void>;
  /**
   * Starts the container and returns once the task runs (after TASK_RUNNING was sent through
   * `sendStatus`). Throws {@link ContainerizerError} when the container cannot be launched; the
   * agent then sends TASK_FAILED, REASON_CONTAINER_LAUNCH_FAILED, `Failed to launch container: <message>`,
   * and the containerizer must already have removed everything it created.
   */
  launch(spec: LaunchSpec): Promise<void>;
  /** Resolves when the container terminates (any number of callers). Rejects for an unknown container. */
  wait(containerId: string): Promise<Termination>;
  /**
   * Stops the container (SIGTERM, then SIGKILL after `gracePeriodMs`) and removes everything it
   * holds: processes, namespaces, addresses, rules, checkpoints. Idempotent; resolves `false` for an
   * unknown container. `wait()` then resolves with TASK_KILLED.
   */
  destroy(containerId: string, options?: { gracePeriodMs?: number }): Promise<boolean>;
  /** The container's status: `container_id` and, where it has its own network, `network_infos`. */
  status(containerId: string): Promise<ContainerStatus>;
  /** Ids of the containers it currently holds. */
  containers(): string[];
  /** Network counters of a container with its own network, if known. */
  usage?(containerId: string): Promise<NetworkUsage | undefined>;
}
