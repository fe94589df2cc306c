import type { Termination } from '@ippc/core';
import type { NetworkInfo } from '@ippc/proto';
import type { HostPort } from '../host-ports/host-port-forwarder.js';
import { containerName } from '../labels.js';
import type { DockerContext } from './context.js';

/** What the containerizer knows about one of its containers, Docker side. */
export interface DockerContainerDescription {
  containerId: string;
  /** `mesos-<container id>`. */
  name: string;
  phase: 'launching' | 'running' | 'terminated';
  /** The Docker container id once created. */
  dockerId?: string;
  /** `HostConfig.NetworkMode`: host, bridge, none, a user network, or `container:<id>`. */
  networkMode?: string;
  /** The NetworkInfo reported in TASK_RUNNING (absent for HOST and NONE). */
  networkInfo?: NetworkInfo;
  /** The host ports forwarded to the agent's addresses (with a `hostPorts` forwarder). */
  hostPorts?: HostPort[];
  termination?: Termination;
}

export function describe(ctx: DockerContext, containerId: string): DockerContainerDescription | undefined {
  const entry = ctx.live.get(containerId);
  if (entry) {
    return {
      containerId,
      name: entry.name,
      phase: entry.phase,
      dockerId: entry.dockerId,
      networkMode: entry.networkMode,
      networkInfo: entry.networkInfo,
      ...(entry.hostPorts ? { hostPorts: entry.hostPorts } : {}),
    };
  }
  const t = ctx.ended.get(containerId);
  return t ? { containerId, name: containerName(containerId), phase: 'terminated', termination: t } : undefined;
}
