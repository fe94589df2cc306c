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
  if (config.containerId.parent) return prepareNested(ctx, config, cid);
  // The executor's ContainerInfo carries the task's (the agent copies it for command tasks).
  const ci = config.containerInfo ?? config.executor?.container;
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

/**
 * A nested container (a task of a task group) shares its root container's network and UTS
 * namespaces, which the containerizer enters; it is attached to nothing and `status()` answers the
 * root's. Only its own ContainerInfo counts: the executor's is the root's. When the root has
 * networks of its own, the nested container gets a mount namespace of its own with the root's
 * hosts, hostname and resolv.conf bound in it by `isolate` (Mesos's network/cni isolator).
 */
function prepareNested(ctx: IsolatorContext, config: ContainerConfig, cid: string): LaunchInfo | undefined {
  if ((config.containerInfo?.networkInfos.length ?? 0) > 0) {
    // Mesos's message (network/cni isolator, prepare of a nested container).
    throw new NetworkIsolatorError('CNI_INVALID_REQUEST', "Currently, we don't support different network namespaces for parent and nested containers.", {
      details: { hint: "leave the task's ContainerInfo.network_infos empty: the task group's networks are named in its executor's ContainerInfo" },
    });
  }
  let root = config.containerId;
  while (root.parent) root = root.parent;
  const rootCid = containerIdToString(root);
  const rootInfo = ctx.infos.get(rootCid);
  const onNetwork = rootInfo !== undefined && rootInfo.networks.length > 0;
  ctx.infos.set(cid, { id: config.containerId, cid, networks: [], joinsParent: true, ...(onNetwork ? { root: rootCid } : {}) });
  // On the host network (or a root without networks) there is nothing to enter nor to bind.
  return onNetwork ? { namespaces: ['mnt'], environment: { LIBPROCESS_IP: '0.0.0.0' } } : undefined;
}
