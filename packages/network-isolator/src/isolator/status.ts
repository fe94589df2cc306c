import { containerAddresses, ipFamily, stripPrefix } from '@ippc/core';
import { containerIdToString } from '@ippc/mesos';
import { NetworkInfo_Protocol, type ContainerID, type ContainerStatus, type NetworkInfo } from '@ippc/proto';
import type { IsolatorContext } from './context.js';

/**
 * The isolator's `status()`: a copy of each requested NetworkInfo, in request order, with the
 * addresses CNI returned. A nested container that shares its parent's network answers the parent's.
 */
export async function status(ctx: IsolatorContext, containerId: ContainerID): Promise<ContainerStatus> {
  const { options, infos } = ctx;
  const cid = containerIdToString(containerId);
  const info = infos.get(cid);
  if ((!info || info.joinsParent) && containerId.parent) return status(ctx, containerId.parent);
  if (!info) return { networkInfos: [] };
  const networkInfos: NetworkInfo[] = [];
  for (const n of info.networks) {
    if (!n.result) continue;
    const copy = structuredClone(n.networkInfo);
    // IPv4 first, then IPv6, as Mesos fills them (ip4, then ip6); IPv4 without its prefix.
    const addrs = containerAddresses(n.result, n.ifName);
    copy.ipAddresses = [
      ...addrs.filter((ip) => ipFamily(ip.address) === 4).map((ip) => ({ protocol: NetworkInfo_Protocol.IPv4, ipAddress: stripPrefix(ip.address) })),
      ...addrs
        .filter((ip) => ipFamily(ip.address) === 6)
        .map((ip) => ({ protocol: NetworkInfo_Protocol.IPv6, ipAddress: options.stripIpv6Prefix ? stripPrefix(ip.address) : ip.address })),
    ];
    networkInfos.push(copy);
  }
  return { networkInfos };
}
