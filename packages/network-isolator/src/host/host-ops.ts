import { stat } from 'node:fs/promises';
import type { NetworkUsage } from '@ippc/core';
import { enterContainer, setupContainer, type SetupTools } from './container-setup.js';
import { interfaceCounters } from './counters.js';
import { holdNetns, isNetnsHandle, isRunningIn, releaseNetns } from './namespaces.js';
import { choosePerlHelper } from './perl-helper.js';
import { prepareRoot, releaseRoot } from './root-mount.js';

/** A file of the checkpoint bound over a path inside the container (e.g. `/etc/hosts`). */
export interface FileBind {
  source: string;
  target: string;
}

/** What to do inside a container's namespaces once it is attached. */
export interface ContainerSetup {
  /** Set in the container's UTS namespace. */
  hostname?: string;
  /** Bind mounts in the container's mount namespace; missing targets are created first (Mesos does too). */
  binds: FileBind[];
  /** `ip link set dev lo up` in the container's network namespace. */
  loopbackUp: boolean;
}

/**
 * The seam between the isolator and the kernel: namespace handles, mounts and the container's
 * own namespaces. {@link createHostOps} is the real one (mount, umount, nsenter, /proc); unit tests
 * use a fake.
 */
export interface HostOps {
  /**
   * Makes `rootDir` a mount point in a shared peer group of its own (what Mesos does with its CNI
   * root), so that unmounting a namespace handle under it also unmounts the copies in containers
   * whose mounts are slaves, and no container keeps another's network namespace alive.
   */
  prepareRoot(rootDir: string): Promise<void>;
  /** Undoes {@link prepareRoot} (for tests and tools; an agent never needs it). */
  releaseRoot(rootDir: string): Promise<void>;
  /** Creates `handle` and bind-mounts `/proc/<pid>/ns/net` onto it, keeping the namespace alive. */
  holdNetns(pid: number, handle: string): Promise<void>;
  /** Unmounts the handle if it is one; no-op otherwise. */
  releaseNetns(handle: string): Promise<void>;
  /** Whether `handle` is a network namespace handle (Mesos: its st_dev is that of `/proc/self/ns/net`). */
  isNetnsHandle(handle: string): Promise<boolean>;
  /** Whether `pid` runs and is inside the namespace `handle` holds. */
  isRunningIn(pid: number, handle: string): Promise<boolean>;
  /**
   * Enters the container's mount, UTS and network namespaces and applies `setup`. Refuses (throws
   * `CNI_SETUP_FAILED`) if the process shares the agent's mount, UTS or network namespace, so a
   * wrong launch can never overwrite the host's /etc/hosts or hostname.
   */
  setupContainer(pid: number, setup: ContainerSetup): Promise<void>;
  /**
   * {@link holdNetns} and {@link setupContainer} at once, for the launch path: `held` resolves as
   * soon as the handle is mounted (CNI ADD may start then), `done` when the setup inside the
   * container finished. Same checks and errors as the two calls.
   */
  enterContainer(pid: number, handle: string, setup: ContainerSetup): { held: Promise<void>; done: Promise<void> };
  /** Counters of every interface seen inside the container: from `/proc/<pid>/net/dev`, or through the handle. */
  interfaceCounters(target: { pid?: number; handle: string }): Promise<Map<string, NetworkUsage>>;
}

/** Options of {@link createHostOps}. */
export interface HostOpsOptions {
  /** `nsenter` binary (used by the util-linux path and for counters). Default `nsenter` from PATH. */
  nsenter?: string;
  /**
   * How namespace work is done: `perl` (the resident helper of `perl-helper.ts`, a forked worker per container)
   * or `util-linux` (mount, nsenter, sh, mount, ip: five execs per container). Default `perl` when
   * `perl` is on PATH and the architecture is x64 or arm64, else `util-linux`.
   */
  helper?: 'perl' | 'util-linux';
}

/** The real host operations: mount, umount, nsenter and /proc, with the perl helper for the launch path. */
export function createHostOps(options: HostOpsOptions = {}): HostOps {
  const tools: SetupTools = { nsenter: options.nsenter ?? 'nsenter', perlSyscalls: choosePerlHelper(options) };
  let nsDev: number | undefined;
  const netnsDev = async () => (nsDev ??= (await stat('/proc/self/ns/net')).dev);

  const ops: HostOps = {
    prepareRoot,
    releaseRoot,
    holdNetns,
    releaseNetns: (handle) => releaseNetns(handle, ops.isNetnsHandle),
    isNetnsHandle: (handle) => isNetnsHandle(handle, netnsDev),
    isRunningIn,
    setupContainer: (pid, setup) => setupContainer(tools, pid, setup),
    enterContainer: (pid, handle, setup) => enterContainer(tools, ops, pid, handle, setup),
    interfaceCounters: (target) => interfaceCounters(target, tools.nsenter, ops.isRunningIn),
  };
  return ops;
}
