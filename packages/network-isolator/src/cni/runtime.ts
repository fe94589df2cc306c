import { compareVersions } from '@ippc/core';
import { NetworkIsolatorError, CniPluginError } from '../errors.js';
import { createDirectoryCache, type AttachmentKey, type CniResultCache } from './cache.js';
import { CNI_NAME, declaredCapabilities, isValidInterfaceName, pluginRequest, requiredPlugins } from './config.js';
import { createExecInvoker, type CniInvoker, type PluginOutput } from './invoker.js';
import { parseResult } from './result.js';
import type { CniErrorObject, CniResult, NetworkConfigList, PluginConfig, RuntimeConf } from './types.js';

/** Options of {@link createCniRuntime}. */
export interface CniRuntimeOptions {
  /** Directories searched for plugin binaries, in order (also passed to plugins as `CNI_PATH`). */
  pluginDirs: readonly string[];
  /** How plugins are run. Default: {@link createExecInvoker} (real binaries, caller's netns). */
  invoker?: CniInvoker;
  /** Where final ADD results are kept for CHECK and DEL. Default: libcni's `/var/lib/cni` layout. */
  cache?: CniResultCache;
  /** `PATH` given to plugins. Default: the caller's `PATH`, else `/usr/sbin:/usr/bin:/sbin:/bin`. */
  path?: string;
}

/** A successful ADD: the final result (internal form) and the last plugin's output verbatim. */
export interface AddResult {
  result: CniResult;
  raw: string;
}

/**
 * A CNI runtime (libcni's `CNI` interface): ADD, CHECK and DEL of network configuration lists
 * (single configs count as lists of one) with chaining, `prevResult`, `runtimeConfig` capabilities
 * and a result cache; CNI 0.1.0 to 1.0.0.
 */
export interface CniRuntime {
  /**
   * Runs ADD through every plugin in order, each getting the previous one's result as
   * `prevResult`; stops at the first failure (throws {@link CniPluginError}, or
   * `CNI_PLUGIN_NOT_FOUND`, `CNI_INVALID_RESULT`). Caches the final result only when all succeeded.
   * After a failure the caller must still call {@link delNetworkList} (SPEC: every ADD is followed by a DEL).
   */
  addNetworkList(list: NetworkConfigList, rt: RuntimeConf): Promise<AddResult>;
  /**
   * Runs CHECK through every plugin in order with the cached result. Throws `CNI_INCOMPATIBLE_VERSION` for
   * versions before 0.4.0, `CNI_NO_CACHED_RESULT` when nothing is cached; a plugin's complaint as {@link CniPluginError}.
   * Does nothing when the list sets `disableCheck`.
   */
  checkNetworkList(list: NetworkConfigList, rt: RuntimeConf): Promise<void>;
  /**
   * Runs DEL through the plugins in reverse order, each with the cached final result as
   * `prevResult` (0.4.0 and later; none when the ADD failed), stopping at the first failure; then
   * drops the cached result. Leave `rt.netns` unset when the namespace is gone.
   */
  delNetworkList(list: NetworkConfigList, rt: RuntimeConf): Promise<void>;
  /** The cached final ADD result, if any. */
  getCachedResult(list: NetworkConfigList, rt: RuntimeConf): Promise<CniResult | undefined>;
  /**
   * Checks that every plugin (and IPAM plugin) of the list is in the search path; returns the
   * capabilities the list declares. Throws `CNI_PLUGIN_NOT_FOUND` naming the first one missing.
   */
  validateNetworkList(list: NetworkConfigList): Promise<string[]>;
  /** Where `type` would be run from, or undefined. */
  findPlugin(type: string): Promise<string | undefined>;
}

/** Reads a CNI error object from a failing plugin's stdout, if it printed one. */
export function readCniError(stdout: string): CniErrorObject | undefined {
  try {
    const obj = JSON.parse(stdout) as Partial<CniErrorObject>;
    if (typeof obj === 'object' && obj !== null && typeof obj.code === 'number' && typeof obj.msg === 'string') return obj as CniErrorObject;
  } catch {
    // not JSON: free-form output
  }
  return undefined;
}

/** What the verbs share: the exec seam, the result cache, the plugin search path and `PATH` for plugins. */
interface RuntimeContext {
  invoker: CniInvoker;
  cache: CniResultCache;
  dirs: readonly string[];
  pathEnv: string;
}

export function createCniRuntime(options: CniRuntimeOptions): CniRuntime {
  const ctx: RuntimeContext = {
    invoker: options.invoker ?? createExecInvoker(),
    cache: options.cache ?? createDirectoryCache('/var/lib/cni'),
    dirs: options.pluginDirs,
    pathEnv: options.path ?? process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
  };
  return {
    addNetworkList: (list, rt) => addNetworkList(ctx, list, rt),
    checkNetworkList: (list, rt) => checkNetworkList(ctx, list, rt),
    delNetworkList: (list, rt) => delNetworkList(ctx, list, rt),
    getCachedResult: (list, rt) => cachedResult(ctx, list, rt),
    validateNetworkList: (list) => validateNetworkList(ctx, list),
    findPlugin: (type) => ctx.invoker.find(type, ctx.dirs),
  };
}

function validateNames(list: NetworkConfigList, rt: RuntimeConf): void {
  if (!CNI_NAME.test(rt.containerId)) {
    throw new NetworkIsolatorError(
      'CNI_INVALID_REQUEST',
      `Invalid container id '${rt.containerId}': CNI accepts letters, digits, '_', '.' and '-', starting with a letter or digit`,
    );
  }
  if (!CNI_NAME.test(list.name)) {
    throw new NetworkIsolatorError(
      'CNI_INVALID_REQUEST',
      `Invalid network name '${list.name}': CNI accepts letters, digits, '_', '.' and '-', starting with a letter or digit`,
    );
  }
  if (!isValidInterfaceName(rt.ifName)) {
    throw new NetworkIsolatorError('CNI_INVALID_REQUEST', `Invalid interface name '${rt.ifName}': 1 to 15 characters without '/', ':' or spaces`);
  }
}

const key = (list: NetworkConfigList, rt: RuntimeConf): AttachmentKey => ({ networkName: list.name, containerId: rt.containerId, ifName: rt.ifName });

function env(ctx: RuntimeContext, command: string, rt: RuntimeConf): Record<string, string> {
  const { dirs, pathEnv } = ctx;
  const e: Record<string, string> = {
    CNI_COMMAND: command,
    CNI_CONTAINERID: rt.containerId,
    CNI_IFNAME: rt.ifName,
    CNI_PATH: dirs.join(':'),
    PATH: pathEnv,
  };
  if (rt.netns) e.CNI_NETNS = rt.netns;
  if (rt.args && rt.args.length > 0) e.CNI_ARGS = rt.args.map(([k, v]) => `${k}=${v}`).join(';');
  return e;
}

async function locate(ctx: RuntimeContext, plugin: PluginConfig): Promise<string> {
  const { invoker, dirs } = ctx;
  const path = await invoker.find(plugin.type, dirs);
  if (!path) {
    throw new NetworkIsolatorError('CNI_PLUGIN_NOT_FOUND', `failed to find plugin "${plugin.type}" in path [${dirs.join(' ')}]`, {
      details: { type: plugin.type, pluginDirs: [...dirs], hint: `install the plugin '${plugin.type}' into one of the plugin directories` },
    });
  }
  return path;
}

async function run(
  ctx: RuntimeContext,
  command: string,
  list: NetworkConfigList,
  plugin: PluginConfig,
  rt: RuntimeConf,
  prev?: CniResult,
): Promise<{ path: string; out: PluginOutput }> {
  const path = await locate(ctx, plugin);
  const stdin = JSON.stringify(pluginRequest(list, plugin, rt, prev));
  const out = await ctx.invoker.exec(path, { env: env(ctx, command, rt), stdin });
  if (out.exitCode !== 0 || out.timedOut) {
    const cniError = readCniError(out.stdout);
    const why = out.timedOut ? 'timed out' : cniError ? `${cniError.msg}${cniError.details ? `; ${cniError.details}` : ''}` : `exit code ${out.exitCode}`;
    throw new CniPluginError(path, command, `plugin ${plugin.type} failed (${command.toLowerCase()}): ${why}`, {
      stdout: out.stdout,
      stderr: out.stderr,
      exitCode: out.exitCode,
      ...(cniError ? { cniCode: cniError.code } : {}),
    });
  }
  return { path, out };
}

async function cachedResult(ctx: RuntimeContext, list: NetworkConfigList, rt: RuntimeConf): Promise<CniResult | undefined> {
  const raw = await ctx.cache.read(key(list, rt));
  if (raw === undefined) return undefined;
  try {
    return parseResult(JSON.parse(raw));
  } catch {
    // libcni: an unreadable cache entry is dropped and DEL runs without prevResult.
    return undefined;
  }
}

async function addNetworkList(ctx: RuntimeContext, list: NetworkConfigList, rt: RuntimeConf): Promise<AddResult> {
  validateNames(list, rt);
  let prev: CniResult | undefined;
  let raw = '';
  for (const plugin of list.plugins) {
    const { path, out } = await run(ctx, 'ADD', list, plugin, rt, prev);
    try {
      prev = parseResult(JSON.parse(out.stdout));
    } catch (err) {
      throw new NetworkIsolatorError('CNI_INVALID_RESULT', `Failed to parse the output of the CNI plugin '${path}': ${(err as Error).message}`, {
        cause: err,
        output: { stdout: out.stdout, stderr: out.stderr, exitCode: out.exitCode },
      });
    }
    raw = out.stdout;
  }
  await ctx.cache.write(key(list, rt), {
    rawResult: raw,
    config: list.raw,
    ...(rt.netns ? { netns: rt.netns } : {}),
    ...(rt.capabilityArgs ? { capabilityArgs: rt.capabilityArgs } : {}),
    ...(rt.args ? { args: rt.args } : {}),
  });
  return { result: prev!, raw };
}

async function checkNetworkList(ctx: RuntimeContext, list: NetworkConfigList, rt: RuntimeConf): Promise<void> {
  validateNames(list, rt);
  if (compareVersions(list.cniVersion, '0.4.0') < 0) {
    throw new NetworkIsolatorError(
      'CNI_INCOMPATIBLE_VERSION',
      `configuration version "${list.cniVersion}" does not support the CHECK command (CNI 0.4.0 or later needed)`,
    );
  }
  if (list.disableCheck) return;
  const cached = await cachedResult(ctx, list, rt);
  if (!cached) {
    throw new NetworkIsolatorError(
      'CNI_NO_CACHED_RESULT',
      `no cached result for network '${list.name}', container ${rt.containerId}, interface ${rt.ifName}: it was never added or was deleted`,
    );
  }
  for (const plugin of list.plugins) await run(ctx, 'CHECK', list, plugin, rt, cached);
}

async function delNetworkList(ctx: RuntimeContext, list: NetworkConfigList, rt: RuntimeConf): Promise<void> {
  validateNames(list, rt);
  // Older versions had no prevResult on DEL (libcni does the same).
  const prev = compareVersions(list.cniVersion, '0.4.0') >= 0 ? await cachedResult(ctx, list, rt) : undefined;
  for (const plugin of [...list.plugins].reverse()) await run(ctx, 'DEL', list, plugin, rt, prev);
  await ctx.cache.remove(key(list, rt));
}

async function validateNetworkList(ctx: RuntimeContext, list: NetworkConfigList): Promise<string[]> {
  for (const { type } of requiredPlugins(list)) await locate(ctx, { type, raw: {} });
  return declaredCapabilities(list);
}
