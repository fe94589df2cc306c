import type { ContainerConfig, LaunchInfo } from '@ippc/core';
import { containerIdToString } from '@ippc/mesos';
import { ContainerInfo_Type } from '@ippc/proto';
import { NetworkIsolatorError } from '../errors.js';
import { CNI_NAME } from '../cni/config.js';
import { init, type ContainerNetwork, type Info, type IsolatorContext } from './context.js';
import { validateRequest } from './request.js';

/**
 * The isolator's `prepare()`: validates the request and decides the launch (one interface per
 * named network, `eth0`, `eth1`, ... in request order); writes nothing.
 */
export async function prepare(ctx: IsolatorContext, config: ContainerConfig): Promise<LaunchInfo | undefined> {
  const { infos, store } = ctx;
  await init(ctx);
  const cid = containerIdToString(config.containerId);
  if (infos.has(cid)) throw new NetworkIsolatorError('CNI_ALREADY_PREPARED', 'Container has already been prepared');
  // The executor's ContainerInfo carries the task's (the agent copies it for command tasks).
  const ci = config.containerInfo ?? config.executor?.container;
  const nested = config.containerId.parent !== undefined;
  const joinsParent = !ci || ci.networkInfos.length === 0;
  if (nested && joinsParent) {
    // Shares the parent's namespaces: the containerizer enters them; status() answers the parent's.
    infos.set(cid, { id: config.containerId, cid, networks: [], joinsParent: true });
    return undefined;
  }
  if (!ci) return undefined;
  if (ci.type !== undefined && ci.type !== ContainerInfo_Type.MESOS) {
    throw new NetworkIsolatorError('CNI_NOT_MESOS_CONTAINER', 'Can only prepare CNI networks for a MESOS container');
  }
  const networks: ContainerNetwork[] = [];
  for (const ni of ci.networkInfos) {
    if (!ni.name) continue;
    validateRequest(ni);
    await store.get(ni.name); // Unknown CNI network '<n>' comes before the duplicate check, as in Mesos.
    if (networks.some((n) => n.name === ni.name)) {
      throw new NetworkIsolatorError('CNI_DUPLICATE_NETWORK', `Attempted to join CNI network '${ni.name}' multiple times`, {
        details: { network: ni.name, hint: 'name each network once per container' },
      });
    }
    networks.push({ name: ni.name, ifName: `eth${networks.length}`, networkInfo: structuredClone(ni) });
  }
  if (networks.length === 0) return undefined; // host network: nothing of ours
  if (!CNI_NAME.test(cid)) {
    // CNI_CONTAINERID must match this; refuse now rather than after the namespaces exist.
    throw new NetworkIsolatorError(
      'CNI_INVALID_REQUEST',
      `Invalid container id '${cid}': CNI accepts letters, digits, '_', '.' and '-', starting with a letter or digit`,
    );
  }
  const hostname = ci.hostname || config.containerId.value || cid;
  if (Buffer.byteLength(hostname) > 64) {
    // The kernel refuses longer names (HOST_NAME_MAX); say so now, not half-way through isolate.
    throw new NetworkIsolatorError('CNI_INVALID_REQUEST', `Invalid hostname '${hostname}': at most 64 bytes (set ContainerInfo.hostname to a shorter name)`);
  }
  const info: Info = { id: config.containerId, cid, networks };
  if (ci.hostname) info.hostname = ci.hostname;
  infos.set(cid, info);
  return { namespaces: ['net', 'uts', 'mnt'], environment: { LIBPROCESS_IP: '0.0.0.0' } };
}
