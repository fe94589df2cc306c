import type { Isolator, Logger, NetworkUsage } from '@ippc/core';
import type { ContainerID } from '@ippc/proto';
import type { CniInvoker } from '../cni/invoker.js';
import type { CniDns } from '../cni/types.js';
import type { HostOps } from '../host/host-ops.js';
import { check } from './check.js';
import { cleanup } from './cleanup.js';
import { createContext } from './context.js';
import { isolate } from './isolate.js';
import { prepare } from './prepare.js';
import { recover } from './recover.js';
import { status } from './status.js';
import { usage } from './usage.js';

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

/**
 * Creates the agent-side `network/cni` isolator (Mesos's, on a CNI runtime of its own).
 *
 * The containerizer drives it per container: `prepare()` → create the task's process in the
 * namespaces the returned LaunchInfo names and hold it → `isolate(id, pid)` → let it exec →
 * `status()` / `usage()` while it runs → `cleanup()` after it ended. `recover()` once at agent start.
 */
export function createNetworkIsolator(options: NetworkIsolatorOptions): NetworkIsolator {
  const ctx = createContext(options);
  return {
    name: 'network/cni',
    rootDir: ctx.rootDir,
    recover: (states, orphans) => recover(ctx, states, orphans),
    prepare: (config) => prepare(ctx, config),
    isolate: (containerId, pid) => isolate(ctx, containerId, pid),
    status: (containerId) => status(ctx, containerId),
    usage: (containerId) => usage(ctx, containerId),
    cleanup: (containerId) => cleanup(ctx, containerId),
    check: (containerId) => check(ctx, containerId),
    networks: () => ctx.store.load(),
    containers: () => [...ctx.infos.keys()],

    async dispose() {
      if (ctx.infos.size > 0) return;
      await ctx.host.releaseRoot(ctx.rootDir);
      ctx.ready = undefined;
    },
  };
}
