import type { ChildProcess } from 'node:child_process';
import type { FSWatcher } from 'node:fs';
import type { ContainerConfig, Isolator, Logger, Termination } from '@ippc/core';
import { ContainerInfo_Type, type ContainerID, type ContainerInfo } from '@ippc/proto';
import type { ExitStatus } from './termination.js';

/** One container the containerizer knows: launched by it, or found again by `recover`. */
export interface Container {
  id: string;
  containerId: ContainerID;
  runDir: string;
  config: ContainerConfig;
  pid?: number;
  /** Set once the process ended. */
  exit?: ExitStatus;
  /** True while destroy() kills it: the termination is then TASK_KILLED. */
  killed: boolean;
  termination: Promise<Termination>;
  resolve(t: Termination): void;
  child?: ChildProcess;
  watcher?: FSWatcher;
  poll?: NodeJS.Timeout;
  destroying?: Promise<boolean>;
}

/** What launch, reap, destroy and recover share: the containerizer's settings and its containers. */
export interface ContainerizerContext {
  /** `<runtimeDir>/containers`: one run directory (checkpoint) per container. */
  readonly root: string;
  readonly isolators: Isolator[];
  readonly log: Logger;
  readonly reapMs: number;
  readonly launchTimeoutMs: number;
  readonly perl: string;
  readonly containersById: Map<string, Container>;
}

/** Any container without ContainerInfo or with type MESOS. */
export function supports(containerInfo: ContainerInfo | undefined): boolean {
  return !containerInfo || (containerInfo.type ?? ContainerInfo_Type.MESOS) === ContainerInfo_Type.MESOS;
}

/** Starts knowing a container, with its termination still to come. */
export function track(ctx: ContainerizerContext, id: string, containerId: ContainerID, config: ContainerConfig, runDir: string): Container {
  let resolve!: (t: Termination) => void;
  const promise = new Promise<Termination>((r) => (resolve = r));
  const c: Container = { id, containerId, config, runDir, killed: false, termination: promise, resolve };
  ctx.containersById.set(id, c);
  return c;
}
