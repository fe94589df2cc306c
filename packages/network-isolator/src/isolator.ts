import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { createLogger, type ContainerConfig, type ContainerState, type Isolator, type LaunchInfo, type Logger, type NetworkUsage } from '@ippc/core';
import { containerIdToString, MESOS_CNI_ARGS_KEY, networkInfoOfCniArgs, networkInfoToMesosJson } from '@ippc/mesos';
import { ContainerInfo_Type, NetworkInfo_Protocol, type ContainerID, type ContainerStatus, type NetworkInfo } from '@ippc/proto';
import { CniPluginError, NetworkIsolatorError } from './errors.js';
import { CNI_NAME, injectArgs, parseNetworkConfig, requiredPlugins, stringifySorted } from './cni/config.js';
import { createExecInvoker, type CniInvoker } from './cni/invoker.js';
import { containerAddresses, ipFamily, parseResult, stripPrefix } from './cni/result.js';
import { createCniRuntime, type CniRuntime } from './cni/runtime.js';
import type { CniDns, CniResult, NetworkConfigList, RuntimeConf } from './cni/types.js';
import { checkpointSync, createCheckpointCache, paths } from './checkpoint.js';
import { createNetworkConfigStore, type NetworkConfigStore } from './config-store.js';
import { formatHosts, formatResolvConf, mergeDns } from './files.js';
import { createHostOps, type HostOps } from './host/host-ops.js';

/** Largest NetworkInfo (as Mesos JSON) passed to plugins: well under the 1 MiB a CNI daemon reads per request. */
export const MAX_NETWORK_INFO_BYTES = 256 * 1024;

/** Labels of a NetworkInfo read as the `bandwidth` capability (bits per second and bits, as the bandwidth plugin takes them). */
export const BANDWIDTH_LABELS = {
  ingressRate: 'org.ippc.bandwidth.ingressRate',
  ingressBurst: 'org.ippc.bandwidth.ingressBurst',
  egressRate: 'org.ippc.bandwidth.egressRate',
  egressBurst: 'org.ippc.bandwidth.egressBurst',
} as const;

/** DNS for containers whose plugins return no nameserver (Mesos: the CNI entries of `--default_container_dns`). */
export interface DefaultContainerDns {
  /** Per network name. */
  networks?: Record<string, CniDns>;
  /** For every other CNI network. */
  default?: CniDns;
}

/** Options of {@link createNetworkIsolator}. */
export interface NetworkIsolatorOptions {
  /** Folder of CNI network configuration files (Mesos: `--network_cni_config_dir`). Required. */
  configDir: string;
  /** Plugin search path (Mesos: `--network_cni_plugins_dir`): a list, or one `:`-separated string. Default `['/usr/lib/cni', '/opt/cni/bin']`. */
  pluginDirs?: readonly string[] | string;
  /** Checkpoint root (Mesos: `<runtime_dir>/isolators/network/cni`). Default `/var/run/ippc/isolators/network/cni`. */
  rootDir?: string;
  /** DNS when the plugins return no nameserver. Default none: the container keeps the host's `/etc/resolv.conf`. */
  defaultDns?: DefaultContainerDns;
  /**
   * Network namespace (path) to run plugins in, so bridges, host veths and iptables rules live there
   * (tests use a scratch "host" namespace). Default: the agent's own. Ignored when `invoker` is given.
   */
  pluginNetns?: string;
  /** How plugins are run. Default: real binaries ({@link createExecInvoker}). */
  invoker?: CniInvoker;
  /** Namespaces, mounts and /proc. Default: the real ones ({@link createHostOps}). */
  host?: HostOps;
  /** `PATH` for plugins. Default: the agent's `PATH`. */
  path?: string;
  /** Default: a `network-isolator` logger on standard error. */
  logger?: Logger;
  /**
   * Report IPv6 addresses in `status()` without their prefix length. Default false: Mesos reports
   * `ip6.ip` as the plugin returned it (`fd10:220::5/64`, a TODO in cni.cpp); set true to report the
   * bare address, which readers such as mesos-dns can parse.
   */
  stripIpv6Prefix?: boolean;
  /** The host's resolver file, used (as Mesos does) when no plugin returns nameservers. Default `/etc/resolv.conf`. */
  hostResolvConf?: string;
  /**
   * A cleanup whose DEL failed (the IPAM service unreachable, a plugin that hangs) is tried again in
   * the background, from `firstMs` doubling up to `maxMs`, until it succeeds: the address and the
   * rules come back without waiting for an agent restart. The failed cleanup() still rejects, as in
   * Mesos. Default `{ firstMs: 1000, maxMs: 60000 }`; `false` turns it off.
   */
  cleanupRetry?: { firstMs?: number; maxMs?: number } | false;
}

/** The network/cni isolator: Mesos's Isolator lifecycle plus CNI CHECK. */
export interface NetworkIsolator extends Isolator {
  readonly name: 'network/cni';
  readonly rootDir: string;
  /** Runs CNI CHECK for every network of a live container (CNI 0.4.0+ configs). Throws `CNI_CHECK_FAILED`. */
  check(containerId: ContainerID): Promise<void>;
  usage(containerId: ContainerID): Promise<NetworkUsage | undefined>;
  /** Scans the config folder now: name → file of every usable network. */
  networks(): Promise<Map<string, string>>;
  /** Ids (Mesos string form) of the containers it holds state for. */
  containers(): string[];
  /** Unmounts the checkpoint root's own bind mount when it holds no container (for tests and tools). */
  dispose(): Promise<void>;
}

interface ContainerNetwork {
  name: string;
  ifName: string;
  /** The NetworkInfo as requested (a copy). */
  networkInfo: NetworkInfo;
  result?: CniResult;
}

interface Info {
  id: ContainerID;
  cid: string;
  networks: ContainerNetwork[];
  /** ContainerInfo.hostname, if set. */
  hostname?: string;
  pid?: number;
  /** A nested container that shares its parent's network. */
  joinsParent?: boolean;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The capability arguments a NetworkInfo asks for: `portMappings`, `ips`, `bandwidth`. */
export function capabilityArgsFor(info: NetworkInfo): Record<string, unknown> {
  const caps: Record<string, unknown> = {};
  if (info.portMappings.length > 0) {
    caps.portMappings = info.portMappings.map((pm) => ({
      hostPort: pm.hostPort,
      containerPort: pm.containerPort,
      protocol: (pm.protocol ?? 'tcp').toLowerCase(),
    }));
  }
  const ips = info.ipAddresses.map((ip) => ip.ipAddress).filter((ip): ip is string => typeof ip === 'string' && ip !== '');
  if (ips.length > 0) caps.ips = ips;
  const bandwidth: Record<string, number> = {};
  for (const [key, label] of Object.entries(BANDWIDTH_LABELS)) {
    const value = info.labels?.labels.find((l) => l.key === label)?.value;
    if (value !== undefined && value !== '' && Number.isFinite(Number(value))) bandwidth[key] = Number(value);
  }
  if (Object.keys(bandwidth).length > 0) caps.bandwidth = bandwidth;
  return caps;
}

/**
 * Checks what CNI will be given for a NetworkInfo, so bad input fails at prepare with a clear
 * message instead of half-way through an ADD (Mesos does not check these: they only reach plugins).
 */
function validateRequest(info: NetworkInfo): void {
  // The NetworkInfo travels inside every ADD and DEL (args.org.apache.mesos.network_info): one that
  // a plugin's daemon refuses as too large would fail its DEL as well, and the checkpoint could
  // never be cleaned. Refuse it here, before anything exists.
  const size = Buffer.byteLength(JSON.stringify(networkInfoToMesosJson(info)));
  if (size > MAX_NETWORK_INFO_BYTES) {
    throw new NetworkIsolatorError('CNI_INVALID_REQUEST', `The NetworkInfo of CNI network '${info.name}' is ${size} bytes; at most ${MAX_NETWORK_INFO_BYTES} bytes fit in a CNI request: shorten its labels`);
  }
  for (const [key, label] of Object.entries(BANDWIDTH_LABELS)) {
    const value = info.labels?.labels.find((l) => l.key === label)?.value;
    if (value !== undefined && !/^\d+$/.test(value)) {
      throw new NetworkIsolatorError('CNI_INVALID_REQUEST', `Invalid value '${value}' of label '${label}' on CNI network '${info.name}': ${key} must be a non-negative integer (bits per second for rates, bits for bursts)`);
    }
  }
  for (const pm of info.portMappings) {
    const ok = (p: number | undefined) => p !== undefined && Number.isInteger(p) && p >= 1 && p <= 65535;
    if (!ok(pm.hostPort) || !ok(pm.containerPort)) {
      throw new NetworkIsolatorError('CNI_INVALID_REQUEST', `Invalid port mapping ${pm.hostPort}:${pm.containerPort} on CNI network '${info.name}': host_port and container_port must be between 1 and 65535`);
    }
    if (pm.protocol !== undefined && !['tcp', 'udp', 'sctp'].includes(pm.protocol.toLowerCase())) {
      throw new NetworkIsolatorError('CNI_INVALID_REQUEST', `Invalid protocol '${pm.protocol}' of port mapping ${pm.hostPort}:${pm.containerPort} on CNI network '${info.name}': use tcp, udp or sctp`);
    }
  }
}

/** Mesos's plugin message has only the plugin's output: say so when the plugin was killed for taking too long. */
function timedOut(err: CniPluginError): string {
  return err.message.endsWith(': timed out') ? '; the plugin was killed after running past the plugin timeout (the agent\'s --network_cni_plugin_timeout)' : '';
}

/** Throws the first error alone, or all messages joined by newlines (Mesos joins failures so). */
function throwAll(errors: unknown[], code: 'CNI_ATTACH_FAILED' | 'CNI_DETACH_FAILED'): never {
  if (errors.length === 1) throw errors[0];
  throw new NetworkIsolatorError(code, errors.map(message).join('\n'), { cause: errors[0], details: { failures: errors.map(message) } });
}

function ifIndex(ifName: string): number {
  const m = /(\d+)$/.exec(ifName);
  return m ? Number(m[1]) : Number.MAX_SAFE_INTEGER;
}

/**
 * Creates the agent-side `network/cni` isolator (Mesos's, on a CNI runtime of its own).
 *
 * The containerizer drives it per container: `prepare()` → create the task's process in the
 * namespaces the returned LaunchInfo names and hold it → `isolate(id, pid)` → let it exec →
 * `status()` / `usage()` while it runs → `cleanup()` after it ended. `recover()` once at agent start.
 */
export function createNetworkIsolator(options: NetworkIsolatorOptions): NetworkIsolator {
  const rootDir = options.rootDir ?? '/var/run/ippc/isolators/network/cni';
  const pluginDirs = typeof options.pluginDirs === 'string' ? options.pluginDirs.split(':').filter(Boolean) : [...(options.pluginDirs ?? ['/usr/lib/cni', '/opt/cni/bin'])];
  const logger = options.logger ?? createLogger({ component: 'network-isolator' });
  const invoker = options.invoker ?? createExecInvoker(options.pluginNetns ? { netns: options.pluginNetns } : {});
  const host = options.host ?? createHostOps();
  const store: NetworkConfigStore = createNetworkConfigStore({ configDir: options.configDir, pluginDirs, invoker, logger });
  const runtime: CniRuntime = createCniRuntime({ pluginDirs, invoker, cache: createCheckpointCache(rootDir), ...(options.path ? { path: options.path } : {}) });
  const hostResolvConf = options.hostResolvConf ?? '/etc/resolv.conf';
  const infos = new Map<string, Info>();
  const locks = new Map<string, Promise<unknown>>();
  let ready: Promise<void> | undefined;

  const init = () => (ready ??= checkConfigDir().then(() => host.prepareRoot(rootDir)).catch((err) => {
    if (err instanceof NetworkIsolatorError && err.code === 'CNI_BAD_OPTIONS') {
      ready = undefined;
      throw err;
    }
    ready = undefined;
    throw new NetworkIsolatorError('CNI_SETUP_FAILED', `Failed to create CNI network information root directory at '${rootDir}': ${message(err)}`, { cause: err });
  }));

  async function checkConfigDir(): Promise<void> {
    let st;
    try {
      st = await stat(options.configDir);
    } catch {
      st = undefined;
    }
    if (!st?.isDirectory()) throw new NetworkIsolatorError('CNI_BAD_OPTIONS', `The CNI network configuration directory '${options.configDir}' does not exist`);
  }

  /** Operations on one container never overlap (SPEC: no parallel operations for the same container). */
  // Containers whose teardown failed and is tried again later: id → timer.
  const retrying = new Map<string, NodeJS.Timeout>();
  const retryFirstMs = options.cleanupRetry === false ? 0 : (options.cleanupRetry?.firstMs ?? 1000);
  const retryMaxMs = options.cleanupRetry === false ? 0 : (options.cleanupRetry?.maxMs ?? 60_000);

  /** Tries the teardown of `cid` again in the background until it succeeds (see `cleanupRetry`). */
  function retryTeardown(cid: string, delayMs = retryFirstMs, attempt = 1): void {
    if (retryFirstMs <= 0 || (attempt === 1 && retrying.has(cid))) return;
    const timer = setTimeout(() => {
      void serialize(cid, async () => {
        const info = infos.get(cid);
        if (!info) return false; // cleaned up meanwhile by a cleanup() call
        await teardown(info);
        return true;
      }).then(
        (done) => {
          retrying.delete(cid);
          if (done) logger.info({ containerId: cid, attempt }, `Cleaned up container ${cid} on retry ${attempt}`);
        },
        (err: unknown) => {
          const next = Math.min(delayMs * 2, retryMaxMs);
          logger.warn({ containerId: cid, attempt, retryInMs: next, err: message(err) }, `Cleanup of container ${cid} failed again; retrying in ${next} ms`);
          retryTeardown(cid, next, attempt + 1);
        },
      );
    }, delayMs);
    timer.unref();
    retrying.set(cid, timer);
  }

  function serialize<T>(cid: string, fn: () => Promise<T>): Promise<T> {
    const prev = locks.get(cid) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    locks.set(cid, tail);
    void tail.then(() => {
      if (locks.get(cid) === tail) locks.delete(cid);
    });
    return next;
  }

  // ---------------------------------------------------------------------------------------------
  // ADD / DEL of one network

  /**
   * ADD for one network. Everything before the plugin runs (config, args, plugin lookup,
   * network.conf) happens while the namespace handle is being mounted; the ADD itself waits for
   * `held` (false: the handle failed, which the caller reports, so no ADD).
   */
  async function attach(info: Info, net: ContainerNetwork, held: Promise<boolean>): Promise<void> {
    const { cid } = info;
    let list: NetworkConfigList;
    let source: string;
    try {
      ({ list, path: source } = await store.get(net.name));
    } catch (err) {
      throw new NetworkIsolatorError('CNI_ATTACH_FAILED', `Could not get valid CNI configuration for network '${net.name}': ${message(err)}`, { cause: err });
    }
    list = injectArgs(list, MESOS_CNI_ARGS_KEY, { network_info: networkInfoToMesosJson(net.networkInfo) }, {
      invalidArgs: `Invalid 'args' found in CNI network configuration file '${source}': Found JSON value of wrong type`,
      reserved: `'${MESOS_CNI_ARGS_KEY}' in 'args' should not be set in CNI network configuration file. It is reserved by Mesos`,
    });
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

  async function detach(info: Info, net: ContainerNetwork): Promise<void> {
    const { cid } = info;
    const confPath = paths.networkConfig(rootDir, cid, net.name);
    let text: string;
    try {
      text = await readFile(confPath, 'utf8');
    } catch {
      logger.info({ containerId: cid, network: net.name }, `Skip detach since network config file for container ${cid} and network name '${net.name}' does not exist`);
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
        throw new NetworkIsolatorError('CNI_DETACH_FAILED', `Unable to find the plugin ${(err.details.type as string) ?? '?'} required to detach ${cid} to network '${net.name}'`, { cause: err });
      }
      throw err;
    }
    delete net.result;
    logger.info({ containerId: cid, network: net.name, ifName: net.ifName, netns: rt.netns ?? null }, `Detached container ${cid} from CNI network '${net.name}'`);
  }

  /** DEL every network (in parallel, each list in reverse), then drop the handle and the checkpoint. */
  async function teardown(info: Info): Promise<void> {
    const results = await Promise.allSettled(info.networks.map((n) => detach(info, n)));
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
    if (failures.length > 0) throwAll(failures, 'CNI_DETACH_FAILED');
    const dir = paths.container(rootDir, info.cid);
    await host.releaseNetns(paths.netns(rootDir, info.cid));
    await rm(dir, { recursive: true, force: true });
    infos.delete(info.cid);
  }

  // ---------------------------------------------------------------------------------------------
  // Recovery

  async function recoverInfo(cid: string, id: ContainerID, state: ContainerState | undefined): Promise<Info> {
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
        logger.warn({ containerId: cid, network: name }, `The CNI network information file '${infoPath}' does not exist for network '${name}' of container ${cid}`);
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

  // ---------------------------------------------------------------------------------------------

  const isolator: NetworkIsolator = {
    name: 'network/cni',
    rootDir,

    async recover(states, orphans) {
      await init();
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
        const id = state?.containerId ?? orphanIds.get(cid) ?? { value: cid.split('.').pop()! };
        const info = await recoverInfo(cid, id, state);
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
          serialize(info.cid, () => teardown(info)).catch((err) => {
            logger.error({ containerId: info.cid, err: message(err) }, `Failed to cleanup container ${info.cid}: ${message(err)}`);
            retryTeardown(info.cid);
          }),
        ),
      );
    },

    async prepare(config: ContainerConfig): Promise<LaunchInfo | undefined> {
      await init();
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
        throw new NetworkIsolatorError('CNI_INVALID_REQUEST', `Invalid container id '${cid}': CNI accepts letters, digits, '_', '.' and '-', starting with a letter or digit`);
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
    },

    isolate(containerId, pid) {
      const cid = containerIdToString(containerId);
      return serialize(cid, async () => {
        const info = infos.get(cid);
        if (!info || info.joinsParent || info.networks.length === 0) return;
        if (info.pid !== undefined) throw new NetworkIsolatorError('CNI_ALREADY_PREPARED', `Container ${cid} has already been isolated`);
        await init();
        info.pid = pid;
        const hostname = info.hostname ?? containerId.value ?? cid;
        try {
          // Small files written synchronously, as Mesos does: on a busy host a queue of async file
          // operations costs more than the writes themselves, and this is the launch path.
          checkpointSync(paths.hostname(rootDir, cid), hostname);
          // Rewritten in place once the addresses are known: the bind mount keeps the inode.
          writeFileSync(paths.hosts(rootDir, cid), formatHosts(hostname, undefined));
          // Hostname, loopback and the file binds do not depend on the ADD results: they run alongside
          // the ADDs, which start as soon as the namespace handle is mounted.
          const entered = host.enterContainer(pid, paths.netns(rootDir, cid), {
            hostname,
            loopbackUp: true,
            binds: [
              { source: paths.hosts(rootDir, cid), target: '/etc/hosts' },
              { source: paths.hostname(rootDir, cid), target: '/etc/hostname' },
            ],
          });
          const setup = entered.done.then(
            () => undefined,
            (err: unknown) => new NetworkIsolatorError('CNI_SETUP_FAILED', `Failed to setup hostname and network files: ${message(err)}`, { cause: err }),
          );
          const held = entered.held.then(
            () => true,
            () => false,
          );
          // All attaches in parallel, and wait for all, so no DEL can overtake a pending ADD.
          const results = await Promise.allSettled(info.networks.map((n) => attach(info, n, held)));
          try {
            await entered.held;
          } catch (err) {
            await setup;
            throw err;
          }
          const failures: unknown[] = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
          const setupError = await setup;
          if (setupError) failures.push(setupError);
          if (failures.length > 0) throwAll(failures, 'CNI_ATTACH_FAILED');

          let firstIpv4: string | undefined;
          for (const n of info.networks) {
            const v4 = n.result ? containerAddresses(n.result, n.ifName).find((ip) => ipFamily(ip.address) === 4) : undefined;
            if (v4) {
              firstIpv4 = stripPrefix(v4.address);
              break;
            }
          }
          writeFileSync(paths.hosts(rootDir, cid), formatHosts(hostname, firstIpv4));
          const dns = mergeDns(
            info.networks.map((n) =>
              n.result?.dns.nameservers?.length ? n.result.dns : (options.defaultDns?.networks?.[n.name] ?? options.defaultDns?.default ?? {}),
            ),
          );
          if (!dns.nameservers?.length) {
            // The container keeps seeing the host's resolver file (it shares the host's filesystem).
            if (!existsSync(hostResolvConf)) throw new NetworkIsolatorError('CNI_SETUP_FAILED', "Cannot find host's /etc/resolv.conf");
            logger.info({ containerId: cid }, `Unable to find DNS nameservers for container ${cid}, using host '/etc/resolv.conf'`);
          } else {
            logger.info({ containerId: cid }, `DNS nameservers for container ${cid} are: ${dns.nameservers.join(', ')}`);
            checkpointSync(paths.resolvConf(rootDir, cid), formatResolvConf(dns));
            await host
              .setupContainer(pid, { binds: [{ source: paths.resolvConf(rootDir, cid), target: '/etc/resolv.conf' }], loopbackUp: false })
              .catch((err: unknown) => {
                throw new NetworkIsolatorError('CNI_SETUP_FAILED', `Failed to setup hostname and network files: ${message(err)}`, { cause: err });
              });
          }
        } catch (err) {
          // Nothing may stay behind a failed launch: DEL everything whose network.conf was written
          // (also after a failed ADD), drop the handle and the checkpoint.
          try {
            await teardown(info);
          } catch (cleanupError) {
            logger.error({ containerId: cid, err: message(cleanupError) }, `Failed to clean up container ${cid} after a failed isolate: ${message(cleanupError)}`);
          }
          throw err;
        }
      });
    },

    async status(containerId): Promise<ContainerStatus> {
      const cid = containerIdToString(containerId);
      const info = infos.get(cid);
      if ((!info || info.joinsParent) && containerId.parent) return isolator.status(containerId.parent);
      if (!info) return { networkInfos: [] };
      const networkInfos: NetworkInfo[] = [];
      for (const n of info.networks) {
        if (!n.result) continue;
        const copy = structuredClone(n.networkInfo);
        // IPv4 first, then IPv6, as Mesos fills them (ip4, then ip6); IPv4 without its prefix.
        const addrs = containerAddresses(n.result, n.ifName);
        copy.ipAddresses = [
          ...addrs.filter((ip) => ipFamily(ip.address) === 4).map((ip) => ({ protocol: NetworkInfo_Protocol.IPv4, ipAddress: stripPrefix(ip.address) })),
          ...addrs
            .filter((ip) => ipFamily(ip.address) === 6)
            .map((ip) => ({ protocol: NetworkInfo_Protocol.IPv6, ipAddress: options.stripIpv6Prefix ? stripPrefix(ip.address) : ip.address })),
        ];
        networkInfos.push(copy);
      }
      return { networkInfos };
    },

    async usage(containerId) {
      const cid = containerIdToString(containerId);
      const info = infos.get(cid);
      if (!info || info.joinsParent || info.networks.length === 0) return undefined;
      const handle = paths.netns(rootDir, cid);
      if (!(await host.isNetnsHandle(handle))) return undefined;
      const counters = await host.interfaceCounters({ ...(info.pid !== undefined ? { pid: info.pid } : {}), handle });
      const sum = { rxBytes: 0, rxPackets: 0, rxErrors: 0, rxDropped: 0, txBytes: 0, txPackets: 0, txErrors: 0, txDropped: 0 };
      const interfaces: NonNullable<NetworkUsage['interfaces']> = [];
      for (const n of info.networks) {
        const c = counters.get(n.ifName);
        if (!c) continue;
        for (const k of Object.keys(sum) as Array<keyof typeof sum>) sum[k] += c[k];
        interfaces.push({ ifName: n.ifName, network: n.name, rxBytes: c.rxBytes, rxPackets: c.rxPackets, rxErrors: c.rxErrors, rxDropped: c.rxDropped, txBytes: c.txBytes, txPackets: c.txPackets, txErrors: c.txErrors, txDropped: c.txDropped });
      }
      return { ...sum, interfaces };
    },

    cleanup(containerId) {
      const cid = containerIdToString(containerId);
      return serialize(cid, async () => {
        const info = infos.get(cid);
        if (!info) return;
        if (info.joinsParent) {
          infos.delete(cid);
          return;
        }
        await teardown(info);
      }).catch((err: unknown) => {
        retryTeardown(cid);
        throw err;
      });
    },

    check(containerId) {
      const cid = containerIdToString(containerId);
      return serialize(cid, async () => {
        const info = infos.get(cid);
        if (!info) throw new NetworkIsolatorError('CNI_CHECK_FAILED', `Unknown container ${cid}`);
        for (const n of info.networks) {
          const confPath = paths.networkConfig(rootDir, cid, n.name);
          if (!(await exists(confPath))) throw new NetworkIsolatorError('CNI_CHECK_FAILED', `Container ${cid} is not attached to CNI network '${n.name}'`);
          const list = parseNetworkConfig(await readFile(confPath, 'utf8'));
          try {
            await runtime.checkNetworkList(list, {
              containerId: cid,
              netns: paths.netns(rootDir, cid),
              ifName: n.ifName,
              capabilityArgs: capabilityArgsFor(n.networkInfo),
            });
          } catch (err) {
            if (err instanceof CniPluginError) {
              throw new NetworkIsolatorError(
                'CNI_CHECK_FAILED',
                `The CNI plugin '${err.plugin}' failed to check container ${cid} on CNI network '${n.name}': stdout='${err.stdout}', stderr='${err.stderr}'`,
                { cause: err, output: err.output },
              );
            }
            throw err;
          }
        }
      });
    },

    networks: () => store.load(),
    containers: () => [...infos.keys()],

    async dispose() {
      if (infos.size > 0) return;
      await host.releaseRoot(rootDir);
      ready = undefined;
    },
  };
  return isolator;
}
