import type Docker from 'dockerode';
import type { NetworkUsage } from '@ippc/core';
import type { DockerContext } from './context.js';

/** The running container's interface counters, summed over its networks (none for HOST and NONE). */
export async function usage(ctx: DockerContext, containerId: string): Promise<NetworkUsage | undefined> {
  const entry = ctx.live.get(containerId);
  if (!entry?.dockerId || entry.phase !== 'running') return undefined;
  const stats = (await ctx.docker.getContainer(entry.dockerId).stats({ stream: false })) as Docker.ContainerStats;
  const networks = Object.values(stats.networks ?? {});
  if (networks.length === 0) return undefined;
  const sum = (k: keyof (typeof networks)[number]) => networks.reduce((n, s) => n + (Number(s[k]) || 0), 0);
  return {
    rxBytes: sum('rx_bytes'),
    rxPackets: sum('rx_packets'),
    rxErrors: sum('rx_errors'),
    rxDropped: sum('rx_dropped'),
    txBytes: sum('tx_bytes'),
    txPackets: sum('tx_packets'),
    txErrors: sum('tx_errors'),
    txDropped: sum('tx_dropped'),
  };
}
