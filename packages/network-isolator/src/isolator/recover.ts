import { readdir, readFile } from 'node:fs/promises';
import { messageOf as message, type ContainerState } from '@ippc/core';
import { containerIdFromString, containerIdToString, networkInfoOfCniArgs } from '@ippc/mesos';
import type { ContainerID, NetworkInfo } from '@ippc/proto';
import { NetworkIsolatorError } from '../errors.js';
import { parseNetworkConfig } from '../cni/config.js';
import { parseResult } from '../cni/result.js';
import { paths } from '../checkpoint.js';
import { retryTeardown, teardown } from './cleanup.js';
import { init, type ContainerNetwork, type Info, type IsolatorContext } from './context.js';

/**
 * The isolator's `recover()`, once at agent start: rebuilds every container of the checkpoint root;
 * live known ones keep everything, vanished and unknown ones are detached now, known orphans are
 * left to the containerizer's cleanup().
 */
export async function recover(ctx: IsolatorContext, states: ContainerState[], orphans: ContainerID[]): Promise<void> {
  const { rootDir, logger, host, infos } = ctx;
  await init(ctx);
  const known = new Map(states.map((s) => [containerIdToString(s.containerId), s]));
  const orphanIds = new Map(orphans.map((o) => [containerIdToString(o), o]));
  let entries: string[] = [];
  try {
    entries = (await readdir(rootDir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    entries = [];
  }
  const cleanNow: Info[] = [];
  for (const cid of entries) {
    const state = known.get(cid);
    const id = state?.containerId ?? orphanIds.get(cid) ?? containerIdFromString(cid);
    const info = await recoverInfo(ctx, cid, id, state);
    infos.set(cid, info);
    if (state) {
      if (state.pid !== undefined && (await host.isRunningIn(state.pid, paths.netns(rootDir, cid)))) {
        info.pid = state.pid;
        logger.info({ containerId: cid, networks: info.networks.map((n) => n.name) }, `Recovered container ${cid} with its networks`);
        continue;
      }
      logger.info({ containerId: cid }, `Container ${cid} is gone: detaching its networks`);
      cleanNow.push(info);
    } else if (orphanIds.has(cid)) {
      logger.info({ containerId: cid }, `Recovered orphan container ${cid}; the containerizer cleans it up`);
    } else {
      logger.info({ containerId: cid }, `Cleaning up unknown orphaned container ${cid}`);
      cleanNow.push(info);
    }
  }
  await Promise.all(
    cleanNow.map((info) =>
      ctx.locks
        .run(info.cid, () => teardown(ctx, info))
        .catch((err) => {
          logger.error({ containerId: info.cid, err: message(err) }, `Failed to cleanup container ${info.cid}: ${message(err)}`);
          retryTeardown(ctx, info.cid);
        }),
    ),
  );
}

/** One container as its checkpoint folder says: its networks, interfaces and ADD results. */
async function recoverInfo(ctx: IsolatorContext, cid: string, id: ContainerID, state: ContainerState | undefined): Promise<Info> {
  const { rootDir, logger } = ctx;
  const dir = paths.container(rootDir, cid);
  // As in prepare: the ContainerInfo is the container's own, else the executor's.
  const containerInfo = state?.config.containerInfo ?? state?.config.executor?.container;
  const requested = containerInfo?.networkInfos ?? [];
  const networks: ContainerNetwork[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const name = entry.name;
    const ifDirs = (await readdir(paths.network(rootDir, cid, name), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    if (ifDirs.length === 0) {
      // Crashed between a successful DEL and the removal of the container folder.
      logger.info({ containerId: cid, network: name }, `Skipping network '${name}' of container ${cid}: it has no interface left`);
      continue;
    }
    if (ifDirs.length > 1) throw new NetworkIsolatorError('CNI_RECOVERY_FAILED', `More than one interfaces detected for network '${name}'`);
    const ifName = ifDirs[0]!;
    let networkInfo: NetworkInfo | undefined = requested.find((n) => n.name === name);
    if (!networkInfo) {
      try {
        const list = parseNetworkConfig(await readFile(paths.networkConfig(rootDir, cid, name), 'utf8'));
        networkInfo = networkInfoOfCniArgs(list.plugins[0]?.raw.args);
      } catch {
        // no usable network.conf: DEL will be skipped for it anyway
      }
    }
    const net: ContainerNetwork = { name, ifName, networkInfo: structuredClone(networkInfo ?? { name, ipAddresses: [], groups: [], portMappings: [] }) };
    const infoPath = paths.networkInfo(rootDir, cid, name, ifName);
    let text: string | undefined;
    try {
      text = await readFile(infoPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new NetworkIsolatorError('CNI_RECOVERY_FAILED', `Failed to read CNI network information file '${infoPath}': ${message(err)}`, { cause: err });
      }
      logger.warn(
        { containerId: cid, network: name },
        `The CNI network information file '${infoPath}' does not exist for network '${name}' of container ${cid}`,
      );
    }
    if (text !== undefined) {
      try {
        net.result = parseResult(JSON.parse(text));
      } catch (err) {
        throw new NetworkIsolatorError('CNI_RECOVERY_FAILED', `Failed to parse CNI network information file '${infoPath}': ${message(err)}`, { cause: err });
      }
    }
    networks.push(net);
  }
  // Request order when the containerizer told us the request, else interface order.
  const order = (n: ContainerNetwork) => {
    const i = requested.findIndex((r) => r.name === n.name);
    return i >= 0 ? i : 1000 + ifIndex(n.ifName);
  };
  networks.sort((a, b) => order(a) - order(b));
  const info: Info = { id, cid, networks };
  if (containerInfo?.hostname) info.hostname = containerInfo.hostname;
  return info;
}

function ifIndex(ifName: string): number {
  const m = /(\d+)$/.exec(ifName);
  return m ? Number(m[1]) : Number.MAX_SAFE_INTEGER;
}
