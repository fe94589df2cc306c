import type Docker from 'dockerode';
import type { Logger } from '@ippc/core';
import type { ClusterConfig, ClusterConfigInput } from '../config.js';

export type StartPhase = 'prepare' | 'network' | 'containers' | 'services' | 'agents';

export interface StartClusterOptions {
  /** The cluster file's content (defaults filled in), or a compiled config. */
  config?: ClusterConfigInput | ClusterConfig;
  /** Shorthands over `config`. */
  name?: string;
  agents?: number;
  /** The ippc workspace whose bundles the nodes run (mounted read-only). Default: this package's. */
  workspaceDir?: string;
  /** Default: the local daemon (`DOCKER_HOST` or `/var/run/docker.sock`). */
  docker?: Docker;
  /** The node image. Default: `planBootstrap().images.node` from `@ippc/host` (built offline, never pulled). */
  image?: string;
  /**
   * The cluster outlives this process (`ippc cluster up`): no session reaper, label
   * `org.ippc.retain=true`; remove it with `removeCluster(name)`. Default false: a test cluster,
   * removed by `stop()`/dispose, and by the session reaper if this process dies.
   */
  detached?: boolean;
  /** Keep the containers of a failed start for debugging (kind's `--retain`). Default false: roll back. */
  retainOnFailure?: boolean;
  /** Readiness deadline for the whole start. Default 60 s. */
  timeoutMs?: number;
  /** Told when each phase starts and ends (the CLI draws progress from it). */
  onProgress?: (event: { phase: StartPhase; status: 'start' | 'done'; ms?: number }) => void;
  log?: Logger;
}
