import { readFile } from 'node:fs/promises';
import { messageOf as message } from '@ippc/core';
import { networkInfoOfCniArgs } from '@ippc/mesos';
import { CniPluginError, NetworkIsolatorError, timedOut } from '../errors.js';
import { parseNetworkConfig } from '../cni/config.js';
import type { NetworkConfigList, RuntimeConf } from '../cni/types.js';
import { paths } from '../checkpoint.js';
import type { ContainerNetwork, Info, IsolatorContext } from './context.js';
import { capabilityArgsFor } from './request.js';

/**
 * DEL for one network, with the config and arguments its ADD was given (`network.conf`). Nothing to
 * do when that file is missing (never attached, or detached already).
 */
export async function detach(ctx: IsolatorContext, info: Info, net: ContainerNetwork): Promise<void> {
  const { rootDir, logger, host, runtime } = ctx;
  const { cid } = info;
  const confPath = paths.networkConfig(rootDir, cid, net.name);
  let text: string;
  try {
    text = await readFile(confPath, 'utf8');
  } catch {
    logger.info(
      { containerId: cid, network: net.name },
      `Skip detach since network config file for container ${cid} and network name '${net.name}' does not exist`,
    );
    return;
  }
  let list: NetworkConfigList;
  try {
    list = parseNetworkConfig(text);
  } catch (err) {
    throw new NetworkIsolatorError('CNI_DETACH_FAILED', `Failed to parse CNI network configuration file: '${confPath}': ${message(err)}`, { cause: err });
  }
  if (list.name !== net.name) {
    throw new NetworkIsolatorError('CNI_DETACH_FAILED', `The current CNI configuration network('${list.name}') does not match the network name: '${net.name}'`);
  }
  // The capability arguments of the ADD come from the checkpointed NetworkInfo: config and
  // arguments must not change between ADD and DEL.
  const requested = networkInfoOfCniArgs(list.plugins[0]?.raw.args) ?? net.networkInfo;
  const handle = paths.netns(rootDir, cid);
  const rt: RuntimeConf = { containerId: cid, ifName: net.ifName, capabilityArgs: capabilityArgsFor(requested) };
  // Without a live handle (host rebooted, namespace gone) DEL runs without CNI_NETNS so plugins
  // still release what they can (addresses, rules).
  if (await host.isNetnsHandle(handle)) rt.netns = handle;
  try {
    await runtime.delNetworkList(list, rt);
  } catch (err) {
    if (err instanceof CniPluginError) {
      throw new NetworkIsolatorError(
        'CNI_DETACH_FAILED',
        `The CNI plugin '${err.plugin}' failed to detach container ${cid} from CNI network '${net.name}': stdout='${err.stdout}', stderr='${err.stderr}'${timedOut(err)}`,
        { cause: err, output: err.output, details: { cniCode: err.cniCode, network: net.name } },
      );
    }
    if (err instanceof NetworkIsolatorError && err.code === 'CNI_PLUGIN_NOT_FOUND') {
      throw new NetworkIsolatorError(
        'CNI_DETACH_FAILED',
        `Unable to find the plugin ${(err.details.type as string) ?? '?'} required to detach ${cid} to network '${net.name}'`,
        { cause: err },
      );
    }
    throw err;
  }
  delete net.result;
  logger.info({ containerId: cid, network: net.name, ifName: net.ifName, netns: rt.netns ?? null }, `Detached container ${cid} from CNI network '${net.name}'`);
}
