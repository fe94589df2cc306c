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
  /** Set by launch(): how far it got, so a nested container can be launched into a parent that is still launching. */
  launching?: LaunchProgress;
}

/**
 * A launch in progress, as its nested containers need to know it: `started` settles once the
 * first process runs in its namespaces (its pid known, nothing exec'd yet), `running` once the
 * launch is done (isolated, the task exec'd). Both reject if the launch fails.
 */
export interface LaunchProgress {
  started: Promise<void>;
  running: Promise<void>;
}

/** A LaunchProgress and the hands that settle it. */
export function launchProgress(): LaunchProgress & { start(): void; run(): void; fail(err: unknown): void } {
  let start!: () => void;
  let run!: () => void;
  let failStarted!: (err: unknown) => void;
  let failRunning!: (err: unknown) => void;
  const started = new Promise<void>((resolve, reject) => ((start = resolve), (failStarted = reject)));
  const running = new Promise<void>((resolve, reject) => ((run = resolve), (failRunning = reject)));
  // Nobody may be waiting: a failed launch without nested containers is no unhandled rejection.
  started.catch(() => undefined);
  running.catch(() => undefined);
  return {
    started,
    running,
    start,
    run,
    fail: (err) => {
      failStarted(err);
      failRunning(err);
    },
  };
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
