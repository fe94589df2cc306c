import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ContainerConfig, Isolator, LaunchInfo, Logger } from '@ippc/core';
import {
  createExecInvoker,
  createNetworkIsolator,
  NetworkIsolatorError,
  type CniDns,
  type DefaultContainerDns,
  type InProcessPlugin,
  type NetworkIsolatorOptions,
} from '@ippc/network-isolator';
import type { ContainerStatus } from '@ippc/proto';
import { parseDuration } from '@ippc/mesos';
import { AgentError } from '@ippc/agent';

// The built-in `network/cni` isolator from the agent's Mesos flags (src/slave/flags.cpp and
// network/cni/cni.cpp's create()): --network_cni_config_dir, --network_cni_plugins_dir,
// --network_cni_root_dir_persist, --network_cni_metrics, --default_container_dns.

/** Mesos's `DNSInfo` inside `--default_container_dns`. */
interface DnsJson {
  nameservers?: string[];
  search?: string[];
  options?: string[];
}

/** `--default_container_dns` (Mesos's `ContainerDNSInfo` as JSON). */
interface ContainerDnsJson {
  mesos?: Array<{ network_mode?: string; network_name?: string; dns?: DnsJson }>;
  docker?: Array<{ network_mode?: string; network_name?: string; dns?: DnsJson }>;
}

/** What `--default_container_dns` says, split by containerizer. */
export interface ParsedContainerDns {
  /** For the network/cni isolator: per CNI network, and the default for the others. */
  cni: DefaultContainerDns;
  /** Docker entries (BRIDGE, USER): validated as Mesos does; the Docker containerizer does not apply them yet. */
  docker: NonNullable<ContainerDnsJson['docker']>;
}

const FLAG = '`--default_container_dns`';

function strings(v: unknown, what: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    throw new AgentError('AGENT_CONFIG_INVALID', `Invalid ${FLAG}: '${what}' must be a list of strings`);
  }
  return v as string[];
}

function dnsOf(entry: { dns?: DnsJson }, where: string): CniDns {
  const dns = entry.dns ?? {};
  if (typeof dns !== 'object' || dns === null) throw new AgentError('AGENT_CONFIG_INVALID', `Invalid ${FLAG}: '${where}.dns' must be an object`);
  const nameservers = strings(dns.nameservers, `${where}.dns.nameservers`);
  const search = strings(dns.search, `${where}.dns.search`);
  const options = strings(dns.options, `${where}.dns.options`);
  return { nameservers, ...(search.length ? { search } : {}), ...(options.length ? { options } : {}) };
}

/**
 * Parses and validates `--default_container_dns` with Mesos's messages (flags.cpp). The value is
 * JSON, or `file:///path` to a file holding it (Mesos's JSON flags). Empty or undefined: none.
 * Throws `AGENT_CONFIG_INVALID`.
 */
export function parseDefaultContainerDns(value: string | undefined): ParsedContainerDns {
  const out: ParsedContainerDns = { cni: {}, docker: [] };
  if (value === undefined || value.trim() === '') return out;
  const json = readContainerDnsJson(value);
  out.cni = cniDns(json.mesos ?? []);
  out.docker = dockerDns(json.docker ?? []);
  return out;
}

/** The flag's JSON (or the file it names), checked to be an object of `mesos` and `docker` lists. */
function readContainerDnsJson(value: string): ContainerDnsJson {
  let text = value;
  if (value.startsWith('file://')) {
    try {
      text = readFileSync(fileURLToPath(value), 'utf8');
    } catch (err) {
      throw new AgentError('AGENT_CONFIG_INVALID', `Cannot read ${FLAG} from '${value}': ${(err as Error).message}`, { cause: err });
    }
  }
  let json: ContainerDnsJson;
  try {
    json = JSON.parse(text) as ContainerDnsJson;
  } catch (err) {
    throw new AgentError(
      'AGENT_CONFIG_INVALID',
      `Invalid ${FLAG}: not JSON (${(err as Error).message}); expected {"mesos":[{"network_mode":"CNI","network_name":"...","dns":{"nameservers":["..."]}}]}`,
    );
  }
  if (!json || typeof json !== 'object' || Array.isArray(json))
    throw new AgentError('AGENT_CONFIG_INVALID', `Invalid ${FLAG}: expected a JSON object with 'mesos' and/or 'docker' lists`);
  for (const key of Object.keys(json)) {
    if (key !== 'mesos' && key !== 'docker')
      throw new AgentError('AGENT_CONFIG_INVALID', `Invalid ${FLAG}: unknown key '${key}' (expected 'mesos' and/or 'docker')`);
  }
  return json;
}

/** The `mesos` entries: one default and one per CNI network name at most (Mesos's rules). */
function cniDns(entries: NonNullable<ContainerDnsJson['mesos']>): ParsedContainerDns['cni'] {
  const out: ParsedContainerDns['cni'] = {};
  const cniNames = new Set<string>();
  let cniDefault = false;
  for (const [i, e] of entries.entries()) {
    const mode = e.network_mode ?? 'UNKNOWN';
    if (mode === 'UNKNOWN') throw new AgentError('AGENT_CONFIG_INVALID', `UNKNOWN network mode configured in ${FLAG}`);
    if (mode === 'HOST') throw new AgentError('AGENT_CONFIG_INVALID', `Configuring DNS for HOST network with ${FLAG} is not yet supported`);
    if (mode !== 'CNI') throw new AgentError('AGENT_CONFIG_INVALID', `Invalid ${FLAG}: mesos[${i}].network_mode '${mode}' is not one of HOST, CNI`);
    const dns = dnsOf(e, `mesos[${i}]`);
    if (e.network_name === undefined || e.network_name === '') {
      if (cniDefault) throw new AgentError('AGENT_CONFIG_INVALID', `Multiple DNS configuration without network name for CNI network in ${FLAG} is not allowed`);
      cniDefault = true;
      out.default = dns;
    } else {
      if (cniNames.has(e.network_name)) {
        throw new AgentError(
          'AGENT_CONFIG_INVALID',
          `Multiple DNS configuration with the same network name '${e.network_name}' for CNI network in ${FLAG} is not allowed`,
        );
      }
      cniNames.add(e.network_name);
      (out.networks ??= {})[e.network_name] = dns;
    }
  }
  return out;
}

/** The `docker` entries, checked as Mesos checks them: one BRIDGE, one USER default, one per USER name. */
function dockerDns(entries: NonNullable<ContainerDnsJson['docker']>): ParsedContainerDns['docker'] {
  const out: ParsedContainerDns['docker'] = [];
  const userNames = new Set<string>();
  let bridge = false;
  let userDefault = false;
  for (const [i, e] of entries.entries()) {
    const mode = e.network_mode ?? 'UNKNOWN';
    if (mode === 'UNKNOWN') throw new AgentError('AGENT_CONFIG_INVALID', `UNKNOWN network mode configured in ${FLAG}`);
    if (mode === 'HOST') throw new AgentError('AGENT_CONFIG_INVALID', `Configuring DNS for HOST network with ${FLAG} is not yet supported`);
    dnsOf(e, `docker[${i}]`);
    if (mode === 'BRIDGE') {
      if (bridge) throw new AgentError('AGENT_CONFIG_INVALID', `Multiple DNS configuration for Docker default bridge network in ${FLAG} is not allowed`);
      bridge = true;
    } else if (mode === 'USER') {
      if (!e.network_name) {
        if (userDefault)
          throw new AgentError(
            'AGENT_CONFIG_INVALID',
            `Multiple DNS configuration without network name for user-defined CNM network in ${FLAG} is not allowed`,
          );
        userDefault = true;
      } else {
        if (userNames.has(e.network_name)) {
          throw new AgentError(
            'AGENT_CONFIG_INVALID',
            `Multiple DNS configuration with the same network name '${e.network_name}' for user-defined CNM network in ${FLAG} is not allowed`,
          );
        }
        userNames.add(e.network_name);
      }
    } else {
      throw new AgentError('AGENT_CONFIG_INVALID', `Invalid ${FLAG}: docker[${i}].network_mode '${mode}' is not one of HOST, BRIDGE, USER`);
    }
    out.push(e);
  }
  return out;
}

/** `true`/`false` flag text (commander gives booleans as strings through `flags`). */
export function flagBool(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  if (['true', '1', 'yes'].includes(value.toLowerCase())) return true;
  if (['false', '0', 'no'].includes(value.toLowerCase())) return false;
  throw new AgentError('AGENT_CONFIG_INVALID', `'${value}' is not a boolean: use true or false`);
}

/** The CNI flags of the agent, by name without dashes (a subset of `ModuleContext.flags`). */
export interface CniFlags {
  network_cni_config_dir?: string;
  network_cni_plugins_dir?: string;
  network_cni_root_dir_persist?: string;
  network_cni_metrics?: string;
  /** ippc's: how long one CNI plugin run may take before it is killed (a Mesos duration). Default `120secs`. */
  network_cni_plugin_timeout?: string;
  default_container_dns?: string;
}

/** Where the isolator keeps its checkpoints: Mesos's `paths::getCniRootDir`. */
export function cniRootDir(flags: CniFlags, dirs: { workDir: string; runtimeDir: string }): string {
  return join(flagBool(flags.network_cni_root_dir_persist, false) ? dirs.workDir : dirs.runtimeDir, 'isolators', 'network', 'cni');
}

/**
 * Options of the network/cni isolator from the agent's flags, as Mesos's `create()` reads them.
 * Returns undefined when neither folder is given (Mesos's degenerate mode, see
 * {@link createHostOnlyCniIsolator}); throws Mesos's message when only one is.
 */
export function networkIsolatorOptions(
  flags: CniFlags,
  dirs: { workDir: string; runtimeDir: string },
  log: Logger,
  inProcess?: Readonly<Record<string, InProcessPlugin>>,
): NetworkIsolatorOptions | undefined {
  const configDir = flags.network_cni_config_dir?.trim();
  const pluginDirs = flags.network_cni_plugins_dir?.trim();
  if (!configDir && !pluginDirs) return undefined;
  if (!pluginDirs) throw new AgentError('AGENT_CONFIG_INVALID', "Missing required '--network_cni_plugins_dir' flag");
  if (!configDir) throw new AgentError('AGENT_CONFIG_INVALID', "Missing required '--network_cni_config_dir' flag");
  const dns = parseDefaultContainerDns(flags.default_container_dns);
  const timeout = flags.network_cni_plugin_timeout?.trim();
  let timeoutMs: number | undefined;
  if (timeout) {
    // A plugin that hangs must not hold a launch (and its resources) forever: it is killed, the
    // launch fails with the plugin's name, and the DEL that follows cleans up what it made.
    try {
      timeoutMs = parseDuration(timeout);
    } catch {
      timeoutMs = Number.NaN;
    }
    if (!(timeoutMs > 0)) throw new AgentError('AGENT_CONFIG_INVALID', `--network_cni_plugin_timeout: '${timeout}' is not a positive duration, e.g. 30secs`);
  }
  return {
    ...(timeoutMs !== undefined || inProcess
      ? { invoker: createExecInvoker({ ...(timeoutMs !== undefined ? { timeoutMs } : {}), ...(inProcess ? { inProcess } : {}) }) }
      : {}),
    configDir,
    pluginDirs: pluginDirs.split(':').filter(Boolean),
    rootDir: cniRootDir(flags, dirs),
    ...(dns.cni.default || dns.cni.networks ? { defaultDns: dns.cni } : {}),
    logger: log,
  };
}

/**
 * Mesos's network/cni without a config or plugin folder: containers that name no network run on
 * the agent's network; a container that names one is refused with `Unknown CNI network '<n>'`.
 */
export function createHostOnlyCniIsolator(): Isolator {
  return {
    name: 'network/cni',
    async recover() {},
    async prepare(config: ContainerConfig): Promise<LaunchInfo | undefined> {
      const ci = config.containerInfo ?? config.executor.container;
      const named = ci?.networkInfos.find((n) => n.name);
      if (named)
        throw new NetworkIsolatorError('CNI_UNKNOWN_NETWORK', `Unknown CNI network '${named.name}'`, {
          details: { network: named.name, hint: 'start the agent with --network_cni_config_dir and --network_cni_plugins_dir' },
        });
      return undefined;
    },
    async isolate() {},
    async status(): Promise<ContainerStatus> {
      return { networkInfos: [] };
    },
    async cleanup() {},
  };
}

/** The `network/cni` isolator of the agent's flags (the built-in module). */
export function createCniIsolatorFromFlags(
  flags: CniFlags,
  dirs: { workDir: string; runtimeDir: string },
  log: Logger,
  inProcess?: Readonly<Record<string, InProcessPlugin>>,
): Isolator {
  const options = networkIsolatorOptions(flags, dirs, log, inProcess);
  if (!options) {
    log.info('network/cni without --network_cni_config_dir and --network_cni_plugins_dir: containers that name a network are refused');
    return createHostOnlyCniIsolator();
  }
  const iso = createNetworkIsolator(options);
  // --network_cni_metrics=false: no per-container counters (Mesos's flag).
  if (!flagBool(flags.network_cni_metrics, true)) {
    return new Proxy(iso, { get: (target, prop, receiver) => (prop === 'usage' ? undefined : Reflect.get(target, prop, receiver)) });
  }
  return iso;
}
