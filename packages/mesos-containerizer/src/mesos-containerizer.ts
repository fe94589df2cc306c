import { join } from 'node:path';
import {
  ContainerizerError,
  silentLogger,
  type Containerizer,
  type Isolator,
  type KnownContainer,
  type LaunchSpec,
  type Logger,
  type NetworkUsage,
  type Termination,
} from '@ippc/core';
import type { ContainerInfo, ContainerStatus } from '@ippc/proto';
import { supports, type ContainerizerContext } from './container.js';
import { destroyTree } from './destroy.js';
import { launch } from './launch.js';
import { stopWatching } from './reap.js';
import { recover } from './recover.js';

// The Mesos containerizer, host-process part: a task (or its executor's command) runs as a
// process on the agent, supervised so that it survives the agent; isolators decide whether it
// gets new namespaces and attach what it needs to the held process before it runs.

export interface MesosContainerizerOptions {
  /**
   * Where per-container checkpoints live (`<runtimeDir>/containers/<id>/`): pid, start time,
   * configuration, exit status. Must survive an agent restart (Mesos: `--runtime_dir`).
   */
  runtimeDir: string;
  /** Isolators, asked in order (prepare, isolate, status) and cleaned up in reverse. Default none. */
  isolators?: Isolator[];
  /** Grace period between SIGTERM and SIGKILL when `destroy` is given none. Default 3000 ms. */
  defaultGracePeriodMs?: number;
  /** How often containers this process did not start (found by `recover`) are checked. Default 500 ms. */
  reapIntervalMs?: number;
  /** How long the task's first process may take to report itself. Default 10000 ms. */
  launchTimeoutMs?: number;
  /** The perl used for supervisors. Default `perl` on PATH. */
  perl?: string;
  log?: Logger;
}

/**
 * The Mesos containerizer. `supports` any container without ContainerInfo or with type MESOS.
 * See the package README for the exact launch, kill and recovery behaviour.
 */
export class MesosContainerizer implements Containerizer {
  readonly name = 'mesos';
  private readonly ctx: ContainerizerContext;
  private readonly grace: number;

  constructor(options: MesosContainerizerOptions) {
    this.ctx = {
      root: join(options.runtimeDir, 'containers'),
      isolators: options.isolators ?? [],
      log: options.log ?? silentLogger(),
      reapMs: options.reapIntervalMs ?? 500,
      launchTimeoutMs: options.launchTimeoutMs ?? 10_000,
      perl: options.perl ?? 'perl',
      containersById: new Map(),
    };
    this.grace = options.defaultGracePeriodMs ?? 3000;
  }

  supports(containerInfo: ContainerInfo | undefined): boolean {
    return supports(containerInfo);
  }

  containers(): string[] {
    return [...this.ctx.containersById.keys()];
  }

  launch(spec: LaunchSpec): Promise<void> {
    return launch(this.ctx, spec);
  }

  wait(containerId: string): Promise<Termination> {
    const c = this.ctx.containersById.get(containerId);
    if (!c) return Promise.reject(new ContainerizerError('CONTAINER_NOT_FOUND', `Unknown container ${containerId}`));
    return c.termination;
  }

  async status(containerId: string): Promise<ContainerStatus> {
    const c = this.ctx.containersById.get(containerId);
    if (!c) throw new ContainerizerError('CONTAINER_NOT_FOUND', `Unknown container ${containerId}`);
    const out: ContainerStatus = { containerId: c.containerId, networkInfos: [] };
    for (const iso of this.ctx.isolators) {
      const s = await iso.status(c.containerId);
      out.networkInfos.push(...(s.networkInfos ?? []));
      if (s.cgroupInfo) out.cgroupInfo = s.cgroupInfo;
    }
    if (c.pid !== undefined) out.executorPid = c.pid;
    return out;
  }

  async usage(containerId: string): Promise<NetworkUsage | undefined> {
    const c = this.ctx.containersById.get(containerId);
    if (!c) return undefined;
    for (const iso of this.ctx.isolators) {
      const u = await iso.usage?.(c.containerId);
      if (u) return u;
    }
    return undefined;
  }

  destroy(containerId: string, options: { gracePeriodMs?: number } = {}): Promise<boolean> {
    const c = this.ctx.containersById.get(containerId);
    if (!c) return Promise.resolve(false);
    return destroyTree(this.ctx, c, options.gracePeriodMs ?? this.grace);
  }

  /**
   * After an agent restart: live known containers are watched again (they keep everything), known
   * ones that ended while the agent was down resolve `wait()` with how they ended, and run
   * directories nobody knows are orphans: killed and cleaned up.
   */
  recover(known: KnownContainer[]): Promise<void> {
    return recover(this.ctx, this.name, known);
  }

  /** Stops watching (for tests and shutdown); containers keep running. */
  close(): void {
    for (const c of this.ctx.containersById.values()) {
      stopWatching(c);
      c.child?.unref();
    }
  }
}

/** A Mesos containerizer. */
export function createMesosContainerizer(options: MesosContainerizerOptions): MesosContainerizer {
  return new MesosContainerizer(options);
}
