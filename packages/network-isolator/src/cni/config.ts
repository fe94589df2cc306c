import { compareVersions } from '@ippc/core';
import { NetworkIsolatorError } from '../errors.js';
import { formatResult, isSupportedVersion } from './result.js';
import { SUPPORTED_CNI_VERSIONS, type CniResult, type NetworkConfigList, type PluginConfig, type RuntimeConf } from './types.js';

// Reading network configurations: a conflist (`{cniVersion, name, plugins: [...]}`) or a single
// plugin config (`{name, type, ...}`, the only form Mesos reads). Error texts follow Mesos's
// loader where it has one (`JSON parse failed: ...`, `Protobuf parse failed: Missing required
// fields: type`), because they end up in the same log lines.

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(message: string): never {
  throw new NetworkIsolatorError('CNI_INVALID_CONFIG', message);
}

/** CNI's rule for container ids, network names and the like: `^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$`. */
export const CNI_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Interface names the kernel accepts: 1 to 15 characters, no `/`, `:` or white space, not `.` or `..`. */
export function isValidInterfaceName(name: string): boolean {
  return name.length > 0 && name.length <= 15 && name !== '.' && name !== '..' && !/[/:\s]/.test(name);
}

function readPlugin(obj: Record<string, unknown>, where: string): PluginConfig {
  if (typeof obj.type !== 'string' || obj.type === '') invalid(`Protobuf parse failed: Missing required fields: ${where}type`);
  if (obj.ipam !== undefined) {
    if (!isObject(obj.ipam) || typeof obj.ipam.type !== 'string' || obj.ipam.type === '') {
      invalid(`Protobuf parse failed: Missing required fields: ${where}ipam.type`);
    }
  }
  // A non-object `args` is not a parse error (Mesos reads it as an unknown field); it fails at
  // attach time with Mesos's `Invalid 'args' ...` message, see injectArgs.
  return { type: obj.type, raw: obj };
}

/** Picks the version to run a list with: the highest of `cniVersion` ∪ `cniVersions` that we speak. */
function pickVersion(obj: Record<string, unknown>): string | undefined {
  const offered: string[] = [];
  if (typeof obj.cniVersion === 'string' && obj.cniVersion !== '') offered.push(obj.cniVersion);
  if (Array.isArray(obj.cniVersions)) offered.push(...obj.cniVersions.filter((v): v is string => typeof v === 'string'));
  if (offered.length === 0) return undefined;
  const ok = offered.filter(isSupportedVersion).sort(compareVersions);
  if (ok.length === 0) {
    invalid(`unsupported cniVersion '${offered.join("', '")}': this runtime speaks ${SUPPORTED_CNI_VERSIONS.join(', ')}`);
  }
  return ok[ok.length - 1];
}

/**
 * Parses the text of a config file. Throws `CNI_INVALID_CONFIG` with Mesos's wording for JSON and
 * missing-field errors.
 */
export function parseNetworkConfig(text: string): NetworkConfigList {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    invalid(`JSON parse failed: ${(err as Error).message}`);
  }
  if (!isObject(obj)) invalid('JSON parse failed: a CNI network configuration must be a JSON object');
  return networkConfigFromObject(obj);
}

/** As {@link parseNetworkConfig}, from an already parsed object. */
export function networkConfigFromObject(obj: Record<string, unknown>): NetworkConfigList {
  const conflist = 'plugins' in obj;
  const missing = [typeof obj.name === 'string' && obj.name !== '' ? undefined : 'name', !conflist && typeof obj.type !== 'string' ? 'type' : undefined].filter(
    Boolean,
  );
  if (missing.length > 0) invalid(`Protobuf parse failed: Missing required fields: ${missing.join(', ')}`);
  const name = obj.name as string;
  const version = pickVersion(obj);
  if (conflist) {
    if (!Array.isArray(obj.plugins) || obj.plugins.length === 0) invalid(`'plugins' must be a non-empty list of plugin objects`);
    if (!version) invalid(`Missing required fields: cniVersion (a network configuration list must name its CNI version)`);
    const plugins = obj.plugins.map((p, i) => {
      if (!isObject(p)) invalid(`'plugins[${i}]' must be a JSON object`);
      return readPlugin(p, `plugins[${i}].`);
    });
    return { name, cniVersion: version, disableCheck: obj.disableCheck === true, single: false, plugins, raw: obj };
  }
  return { name, cniVersion: version ?? '0.1.0', disableCheck: obj.disableCheck === true, single: true, plugins: [readPlugin(obj, '')], raw: obj };
}

/** Every binary a network needs: each plugin `type` and each `ipam.type`, in order, without repeats. */
export function requiredPlugins(list: NetworkConfigList): Array<{ type: string; ipam: boolean }> {
  const out: Array<{ type: string; ipam: boolean }> = [];
  for (const p of list.plugins) {
    if (!out.some((x) => x.type === p.type && !x.ipam)) out.push({ type: p.type, ipam: false });
    const ipam = (p.raw.ipam as { type?: string } | undefined)?.type;
    if (ipam && !out.some((x) => x.type === ipam && x.ipam)) out.push({ type: ipam, ipam: true });
  }
  return out;
}

/** The capabilities declared by the plugins of a list (`capabilities: {portMappings: true}`), in order. */
export function declaredCapabilities(list: NetworkConfigList): string[] {
  const caps = new Set<string>();
  for (const p of list.plugins) {
    const c = p.raw.capabilities;
    if (isObject(c)) for (const [k, v] of Object.entries(c)) if (v === true) caps.add(k);
  }
  return [...caps];
}

/**
 * The exact stdin for one plugin of a list (SPEC "Deriving execution configuration"): the plugin
 * object, plus for lists `cniVersion` and `name`, plus `runtimeConfig` with the capability
 * arguments the plugin declares, plus `prevResult` in the list's version when given. A single
 * config is otherwise sent as it is (Mesos's way).
 */
export function pluginRequest(list: NetworkConfigList, plugin: PluginConfig, rt: RuntimeConf, prevResult?: CniResult): Record<string, unknown> {
  const req: Record<string, unknown> = list.single ? { ...plugin.raw } : { ...plugin.raw, cniVersion: list.cniVersion, name: list.name };
  // SPEC: `capabilities` is for the runtime and must be removed from what the plugin reads.
  delete req.capabilities;
  const caps = plugin.raw.capabilities;
  if (isObject(caps) && rt.capabilityArgs) {
    const runtimeConfig: Record<string, unknown> = {};
    for (const [key, on] of Object.entries(caps)) {
      if (on === true && rt.capabilityArgs[key] !== undefined) runtimeConfig[key] = rt.capabilityArgs[key];
    }
    if (Object.keys(runtimeConfig).length > 0) req.runtimeConfig = runtimeConfig;
  }
  if (prevResult) req.prevResult = formatResult(prevResult, list.cniVersion);
  return req;
}

/** Messages {@link injectArgs} throws with (Mesos's, naming the config file). */
export interface InjectArgsMessages {
  /** When a plugin object's `args` is not a JSON object. */
  invalidArgs: string;
  /** When a plugin object already sets the key. */
  reserved: string;
}

/**
 * A copy of the list with `args[key] = value` set in every plugin object (for a single config, in
 * the config itself), e.g. Mesos's `args["org.apache.mesos"] = {network_info}`. Throws
 * `CNI_INVALID_CONFIG` when `args` is not an object and `CNI_RESERVED_ARGS` when a plugin already
 * sets `key`, with the given messages.
 */
export function injectArgs(list: NetworkConfigList, key: string, value: unknown, messages: InjectArgsMessages): NetworkConfigList {
  const plugins = list.plugins.map((p) => {
    const current = p.raw.args;
    if (current !== undefined && !isObject(current)) throw new NetworkIsolatorError('CNI_INVALID_CONFIG', messages.invalidArgs);
    const args = current ?? {};
    if (key in args) throw new NetworkIsolatorError('CNI_RESERVED_ARGS', messages.reserved);
    return { type: p.type, raw: { ...p.raw, args: { ...args, [key]: value } } };
  });
  const raw = list.single ? plugins[0]!.raw : { ...list.raw, plugins: plugins.map((p) => p.raw) };
  return { ...list, plugins, raw };
}

/**
 * Compact JSON with object keys in byte order at every level: how Mesos (stout's `JSON::Object`
 * is a `std::map`) writes the `network.conf` it checkpoints and sends to the plugin.
 */
export function stringifySorted(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).sort()) out[k] = sortKeys(value[k]);
  return out;
}
