import type Docker from 'dockerode';
import { NetworkInfo, NetworkInfo_Protocol, type ContainerInfo } from '@ippc/proto';

// What Mesos's docker executor reads from `docker inspect` (src/docker/docker.cpp,
// `Docker::Container::create`) and how it reports it in TASK_RUNNING (src/docker/executor.cpp).

export interface ContainerAddresses {
  ipv4?: string;
  ipv6?: string;
}

/**
 * The container's addresses: `NetworkSettings.Networks.<HostConfig.NetworkMode>.IPAddress` and
 * `.GlobalIPv6Address`; when the mode has no entry there (HOST, `container:<id>`), the top-level
 * `NetworkSettings.IPAddress` (empty for those modes, so: no address). Empty strings are no address.
 */
export function addressesFromInspect(info: Pick<Docker.ContainerInspectInfo, 'HostConfig' | 'NetworkSettings'>): ContainerAddresses {
  const mode = info.HostConfig?.NetworkMode;
  const network = mode ? info.NetworkSettings?.Networks?.[mode] : undefined;
  const out: ContainerAddresses = {};
  if (network) {
    if (network.IPAddress) out.ipv4 = network.IPAddress;
    if (network.GlobalIPv6Address) out.ipv6 = network.GlobalIPv6Address;
  } else {
    // Older daemons (and the types) lack the top-level field on newer API versions; read it loosely.
    const legacy = (info.NetworkSettings as { IPAddress?: string } | undefined)?.IPAddress;
    if (legacy) out.ipv4 = legacy;
  }
  return out;
}

/**
 * The NetworkInfo Mesos's docker executor puts in TASK_RUNNING: a copy of `network_infos[0]` (if
 * the task has one) with `ip_addresses` replaced by the found addresses, IPv4 with `protocol`
 * unset (the proto default) and IPv6 with `protocol: IPv6`. Undefined when no address was found
 * (HOST, NONE): the status then has no `network_infos` and the agent fills in its own IP.
 */
export function runningNetworkInfo(containerInfo: ContainerInfo | undefined, addresses: ContainerAddresses): NetworkInfo | undefined {
  if (!addresses.ipv4 && !addresses.ipv6) return undefined;
  const first = containerInfo?.networkInfos[0];
  // Encode/decode is protobuf's CopyFrom: unknown fields and all survive.
  const info: NetworkInfo = first ? NetworkInfo.decode(NetworkInfo.encode(first).finish()) : NetworkInfo.fromPartial({});
  info.ipAddresses = [];
  if (addresses.ipv4) info.ipAddresses.push({ ipAddress: addresses.ipv4 });
  if (addresses.ipv6) info.ipAddresses.push({ ipAddress: addresses.ipv6, protocol: NetworkInfo_Protocol.IPv6 });
  return info;
}

/** `TaskStatus.data` of TASK_RUNNING: the inspect output as `docker inspect` prints it (an array of one). */
export function inspectData(info: Docker.ContainerInspectInfo): Buffer {
  return Buffer.from(JSON.stringify([info], null, 4) + '\n', 'utf8');
}
