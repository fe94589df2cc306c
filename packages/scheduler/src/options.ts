import type { AuthConfig, Logger } from '@ippc/core';
import { FrameworkInfo, FrameworkInfo_Capability_Type, type Labels } from '@ippc/proto';

/** What a framework tells the master about itself (Mesos's FrameworkInfo, with friendlier defaults). */
export interface FrameworkOptions {
  name: string;
  /** Unix user tasks run as. Default: the current user's name, else `root`. */
  user?: string;
  /** Default `*`. */
  role?: string;
  /** Set to fail over to an existing framework (re-subscribe after a restart). */
  id?: string;
  /**
   * Ask agents to checkpoint this framework's tasks so they survive an agent restart. Default `true`
   * (Mesos's proto default is false; a testbed framework nearly always wants its tasks to survive).
   */
  checkpoint?: boolean;
  /** Seconds the master keeps the framework's tasks after it disconnects. Default 0 (Mesos's default). */
  failoverTimeoutSeconds?: number;
  /** e.g. `PARTITION_AWARE`, `TASK_KILLING_STATE`. */
  capabilities?: (keyof typeof FrameworkInfo_Capability_Type)[];
  hostname?: string;
  principal?: string;
  labels?: Labels;
}

export interface SchedulerOptions {
  /** The master's address, `host:port` (Mesos's default port is 5050). */
  master: string;
  /** The cluster's shared secret, or `{ disabled: true }` for a master started without authentication. */
  auth: AuthConfig;
  framework: FrameworkOptions;
  /**
   * Acknowledge each status update that carries a `uuid` right after it was delivered to listeners,
   * as Mesos's scheduler driver does by default. Default `true`. With `false`, call `acknowledge()`.
   */
  implicitAcknowledgements?: boolean;
  /** Re-subscribe (with backoff, same framework id) when the stream ends or heartbeats stop. Default `true`. */
  reconnect?: boolean;
  log?: Logger;
}

/** The FrameworkInfo the framework subscribes with: the options, defaults filled in. */
export function frameworkInfo(f: FrameworkOptions): FrameworkInfo {
  return FrameworkInfo.fromPartial({
    name: f.name,
    user: f.user ?? process.env.USER ?? 'root',
    ...(f.id ? { id: { value: f.id } } : {}),
    checkpoint: f.checkpoint ?? true,
    ...(f.role ? { role: f.role } : {}),
    ...(f.failoverTimeoutSeconds !== undefined ? { failoverTimeout: f.failoverTimeoutSeconds } : {}),
    capabilities: (f.capabilities ?? []).map((c) => ({ type: FrameworkInfo_Capability_Type[c] })),
    ...(f.hostname ? { hostname: f.hostname } : {}),
    ...(f.principal ? { principal: f.principal } : {}),
    ...(f.labels ? { labels: f.labels } : {}),
  });
}
