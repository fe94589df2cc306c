import { mkdirSync } from 'node:fs';
import { messageOf as message } from '@ippc/core';
import { MESOS_CNI_ARGS_KEY, networkInfoToMesosJson } from '@ippc/mesos';
import { CniPluginError, NetworkIsolatorError, timedOut } from '../errors.js';
import { injectArgs, parseNetworkConfig, requiredPlugins, stringifySorted } from '../cni/config.js';
import type { NetworkConfigList, RuntimeConf } from '../cni/types.js';
import { checkpointSync, paths } from '../checkpoint.js';
import type { ContainerNetwork, Info, IsolatorContext } from './context.js';
import { capabilityArgsFor } from './request.js';

/**
 * ADD for one network. Everything before the plugin runs (config, args, plugin lookup,
 * network.conf) happens while the namespace handle is being mounted; the ADD itself waits for
 * `held` (false: the handle failed, which the caller reports, so no ADD).
 */
export async function attach(ctx: IsolatorContext, info: Info, net: ContainerNetwork, held: Promise<boolean>): Promise<void> {
  const { rootDir, pluginDirs, logger, invoker, store, runtime } = ctx;
  const { cid } = info;
  let list: NetworkConfigList;
  let source: string;
  try {
    ({ list, path: source } = await store.get(net.name));
  } catch (err) {
    throw new NetworkIsolatorError('CNI_ATTACH_FAILED', `Could not get valid CNI configuration for network '${net.name}': ${message(err)}`, { cause: err });
  }
  list = injectArgs(
    list,
    MESOS_CNI_ARGS_KEY,
    { network_info: networkInfoToMesosJson(net.networkInfo) },
    {
      invalidArgs: `Invalid 'args' found in CNI network configuration file '${source}': Found JSON value of wrong type`,
      reserved: `'${MESOS_CNI_ARGS_KEY}' in 'args' should not be set in CNI network configuration file. It is reserved by Mesos`,
    },
  );
  for (const { type, ipam } of requiredPlugins(list)) {
    if (ipam) continue; // the interface plugin finds its IPAM plugin itself
    if (!(await invoker.find(type, pluginDirs))) {
      throw new NetworkIsolatorError('CNI_PLUGIN_NOT_FOUND', `Unable to find the plugin ${type} required to attach ${cid} to network '${net.name}'`);
    }
  }
  // network.conf before ADD: whatever happens next, cleanup finds it and runs DEL.
  // Mesos writes the config as stout's JSON::Object prints it: compact, keys in byte order.
  const text = stringifySorted(list.raw);
  checkpointSync(paths.networkConfig(rootDir, cid, net.name), text);
  // The interface folder too, before ADD (Mesos's _attach): an agent killed during the ADD
  // leaves network.conf with its interface folder, so recovery runs DEL and the address the
  // IPAM may already have given is released. (A folder-less network means "DEL done".)
  mkdirSync(paths.iface(rootDir, cid, net.name, net.ifName), { recursive: true });
  // Plugins read what was checkpointed (a single config's stdin is network.conf byte for byte).
  list = parseNetworkConfig(text);
  if (!(await held)) return;
  const rt: RuntimeConf = { containerId: cid, netns: paths.netns(rootDir, cid), ifName: net.ifName, capabilityArgs: capabilityArgsFor(net.networkInfo) };
  try {
    net.result = (await runtime.addNetworkList(list, rt)).result;
  } catch (err) {
    if (err instanceof CniPluginError) {
      throw new NetworkIsolatorError(
        'CNI_ATTACH_FAILED',
        `The CNI plugin '${err.plugin}' failed to attach container ${cid} to CNI network '${net.name}': stdout='${err.stdout}', stderr='${err.stderr}'${timedOut(err)}`,
        { cause: err, output: err.output, details: { cniCode: err.cniCode, network: net.name } },
      );
    }
    throw err;
  }
  logger.info({ containerId: cid, network: net.name, ifName: net.ifName }, `Attached container ${cid} to CNI network '${net.name}' on ${net.ifName}`);
}
