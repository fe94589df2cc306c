import { readFileSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { messageOf as message, type Logger } from '@ippc/core';
import { NetworkIsolatorError } from './errors.js';
import { CNI_NAME, parseNetworkConfig, requiredPlugins } from './cni/config.js';
import type { CniInvoker } from './cni/invoker.js';
import type { NetworkConfigList } from './cni/types.js';

/** A config resolved by name: where it is and what it says now. */
export interface ResolvedNetwork {
  path: string;
  list: NetworkConfigList;
}

/**
 * CNI network configurations from a folder, by canonical `name` (Mesos's network/cni loader).
 * Only the path of each network is cached; the file is read again at every use, and the folder is
 * scanned again when a name is not (or no longer validly) cached, so networks can be added,
 * changed and removed while the agent runs.
 */
export interface NetworkConfigStore {
  /**
   * The config of network `name`, read from disk now. Throws `CNI_UNKNOWN_NETWORK` with Mesos's
   * message `Unknown CNI network '<name>'` when no usable file has that name.
   */
  get(name: string): Promise<ResolvedNetwork>;
  /** Scans the folder now (replacing the cache) and returns name → path of every usable network. */
  load(): Promise<Map<string, string>>;
}

export interface NetworkConfigStoreOptions {
  /** The folder (Mesos: `--network_cni_config_dir`). */
  configDir: string;
  /** Plugin search path (Mesos: `--network_cni_plugins_dir`). */
  pluginDirs: readonly string[];
  /** Used to look plugins up in `pluginDirs`. */
  invoker: Pick<CniInvoker, 'find'>;
  logger: Logger;
}

export function createNetworkConfigStore(options: NetworkConfigStoreOptions): NetworkConfigStore {
  const { configDir, pluginDirs, logger } = options;
  let cache = new Map<string, string>();

  async function load(): Promise<Map<string, string>> {
    const found = await scan(options);
    cache = found;
    return new Map(found);
  }

  return {
    load,
    async get(name) {
      const cached = cache.get(name);
      if (cached !== undefined) {
        try {
          return await readValidated(name, cached);
        } catch (err) {
          logger.warn(
            { network: name, path: cached },
            `Removing the network '${name}' from cache due to failure to validate the configuration: ${message(err)}`,
          );
          cache.delete(name);
        }
      }
      try {
        await load();
      } catch (err) {
        throw new NetworkIsolatorError(
          'CNI_INVALID_CONFIG',
          `Encountered error while loading CNI config during a cache-miss for CNI network '${name}': ${message(err)}`,
          { cause: err },
        );
      }
      const path = cache.get(name);
      if (path !== undefined) return readValidated(name, path);
      throw new NetworkIsolatorError('CNI_UNKNOWN_NETWORK', `Unknown CNI network '${name}'`, {
        details: { network: name, configDir, hint: `add a CNI config whose "name" is "${name}" to ${configDir}, with its plugins in ${pluginDirs.join(':')}` },
      });
    },
  };
}

/**
 * Scans the folder: name → path of every usable network, in file name order. A file that cannot
 * be read or parsed, an invalid or repeated name, a plugin missing: skipped with Mesos's log line.
 */
async function scan(options: NetworkConfigStoreOptions): Promise<Map<string, string>> {
  const { configDir, pluginDirs, invoker, logger } = options;
  let entries: string[];
  try {
    entries = await readdir(configDir);
  } catch (err) {
    throw new NetworkIsolatorError('CNI_INVALID_CONFIG', `Unable to list the CNI network configuration directory '${configDir}': ${message(err)}`, {
      cause: err,
    });
  }
  // Mesos walks readdir order; we sort so that "the first one wins" among duplicates is stable.
  entries.sort();
  const found = new Map<string, string>();
  for (const entry of entries) {
    const path = join(configDir, entry);
    let text: string;
    try {
      if ((await stat(path)).isDirectory()) continue;
      text = await readFile(path, 'utf8');
    } catch (err) {
      logger.error({ path }, `Failed to read CNI network configuration file '${path}': ${message(err)}`);
      continue;
    }
    let list: NetworkConfigList;
    try {
      list = parseNetworkConfig(text);
    } catch (err) {
      logger.error({ path }, `Failed to parse CNI network configuration file '${path}': ${message(err)}`);
      continue;
    }
    const name = list.name;
    if (!CNI_NAME.test(name)) {
      // Not a Mesos check: the name becomes a folder of the checkpoint and CNI rejects it anyway.
      logger.error({ path, network: name }, `Skipping network '${name}' , from configuration file '${path}', since its name is not a valid CNI network name.`);
      continue;
    }
    if (found.has(name)) {
      logger.error(
        { path, network: name },
        `Multiple network configuration for a CNI network is not allowed. Skipping configuration file '${path} since network ${name} already exists`,
      );
      continue;
    }
    let usable = true;
    for (const { type, ipam } of requiredPlugins(list)) {
      if (await invoker.find(type, pluginDirs)) continue;
      logger.error(
        { path, network: name, plugin: type },
        `Skipping network '${name}' , from configuration file '${path}', since we failed to find ${ipam ? 'IPAM' : 'CNI'} plugin '${type}' used by this network.`,
      );
      usable = false;
      break;
    }
    if (usable) found.set(name, path);
  }
  return found;
}

/** The config at `path`, read now; it must still be named `name`. */
async function readValidated(name: string, path: string): Promise<ResolvedNetwork> {
  let text: string;
  try {
    // Read at every use (prepare and attach) on the launch path: a small file, read blocking.
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new NetworkIsolatorError('CNI_INVALID_CONFIG', `Failed to read CNI network configuration file: '${path}': ${message(err)}`, { cause: err });
  }
  let list: NetworkConfigList;
  try {
    list = parseNetworkConfig(text);
  } catch (err) {
    throw new NetworkIsolatorError('CNI_INVALID_CONFIG', `Failed to parse CNI network configuration file: '${path}': ${message(err)}`, { cause: err });
  }
  if (list.name !== name) {
    throw new NetworkIsolatorError('CNI_INVALID_CONFIG', `The current CNI configuration network('${list.name}') does not match the network name: '${name}'`);
  }
  return { path, list };
}
