import type { NetworkUsage } from '@ippc/core';
import { containerIdToString } from '@ippc/mesos';
import type { ContainerID } from '@ippc/proto';
import { paths } from '../checkpoint.js';
import type { IsolatorContext } from './context.js';

/** The isolator's `usage()`: the counters of the container's CNI interfaces, summed and per network. */
export async function usage(ctx: IsolatorContext, containerId: ContainerID): Promise<NetworkUsage | undefined> {
  const { rootDir, host, infos } = ctx;
  const cid = containerIdToString(containerId);
  const info = infos.get(cid);
  if (!info || info.joinsParent || info.networks.length === 0) return undefined;
  const handle = paths.netns(rootDir, cid);
  if (!(await host.isNetnsHandle(handle))) return undefined;
  const counters = await host.interfaceCounters({ ...(info.pid !== undefined ? { pid: info.pid } : {}), handle });
  const sum = { rxBytes: 0, rxPackets: 0, rxErrors: 0, rxDropped: 0, txBytes: 0, txPackets: 0, txErrors: 0, txDropped: 0 };
  const interfaces: NonNullable<NetworkUsage['interfaces']> = [];
  for (const n of info.networks) {
    const c = counters.get(n.ifName);
    if (!c) continue;
    for (const k of Object.keys(sum) as Array<keyof typeof sum>) sum[k] += c[k];
    interfaces.push({
      ifName: n.ifName,
      network: n.name,
      rxBytes: c.rxBytes,
      rxPackets: c.rxPackets,
      rxErrors: c.rxErrors,
      rxDropped: c.rxDropped,
      txBytes: c.txBytes,
      txPackets: c.txPackets,
      txErrors: c.txErrors,
      txDropped: c.txDropped,
    });
  }
  return { ...sum, interfaces };
}
