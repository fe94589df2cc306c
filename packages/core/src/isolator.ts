import type { ContainerID, ContainerInfo, ContainerStatus, ExecutorInfo } from '@ippc/proto';
import type { NetworkUsage } from './containerizer.js';

// The seam between the Mesos containerizer and its isolators (Mesos's Isolator interface:
// prepare / isolate / status / usage / cleanup / recover). The network isolator module
// (network/cni) is the one that matters here.

/** Namespaces a container may get of its own. */
export type Namespace = 'net' | 'uts' | 'mnt';

/** What an isolator needs from the launch to do its part (Mesos: ContainerLaunchInfo). */
export interface LaunchInfo {
  /** New namespaces to create for the container's process. Empty: stay in the agent's. */
  namespaces: Namespace[];
  /** Added to the task's environment, e.g. `LIBPROCESS_IP=0.0.0.0`. */
  environment: Record<string, string>;
}

/** What an isolator is told about a container. */
export interface ContainerConfig {
  containerId: ContainerID;
  executor: ExecutorInfo;
  /** The ContainerInfo that decides isolation (the executor's, which carries the task's). */
  containerInfo?: ContainerInfo;
  sandboxDirectory: string;
}

/** A container to recover, with the configuration it was launched with. */
export interface ContainerState {
  containerId: ContainerID;
  config: ContainerConfig;
  /** The container's process id if it still runs. */
  pid?: number;
}

export interface Isolator {
  /** e.g. `network/cni`. */
  readonly name: string;
  /**
   * Rebuilds state after an agent restart from its checkpoints. Containers in `states` are alive
   * and keep everything (no DEL). Containers it finds in its checkpoints that are neither in
   * `states` nor in `orphans` are unknown orphans and are cleaned up now; `orphans` are cleaned by
   * the containerizer through `cleanup()`.
   */
  recover(states: ContainerState[], orphans: ContainerID[]): Promise<void>;
  /**
   * Validates the request and decides the launch (namespaces, environment). Throws an error whose
   * message is Mesos's (e.g. `Unknown CNI network 'x'`); nothing may be left behind on throw.
   * Returns undefined when the isolator has nothing to do for this container.
   */
  prepare(config: ContainerConfig): Promise<LaunchInfo | undefined>;
  /**
   * Called with the container's first process, created in the namespaces from `prepare` and held
   * before it executes the task: attach networks, write /etc files, set the hostname.
   */
  isolate(containerId: ContainerID, pid: number): Promise<void>;
  /** The container's `network_infos` (a copy of each requested NetworkInfo with the addresses it got). */
  status(containerId: ContainerID): Promise<ContainerStatus>;
  usage?(containerId: ContainerID): Promise<NetworkUsage | undefined>;
  /** Undoes everything for the container (DEL, unmounts, checkpoints). Idempotent. */
  cleanup(containerId: ContainerID): Promise<void>;
}
