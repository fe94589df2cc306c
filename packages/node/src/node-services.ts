import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, chmodSync, mkdirSync, renameSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import type { AuthConfig, Logger } from '@ippc/core';
import type { InProcessPlugin } from '@ippc/network-isolator';
import type { Registry } from 'prom-client';
import { installDefaultNetworks, type DefaultNetworksOptions } from './cni-networks.js';

const execFileAsync = promisify(execFile);

// The node-local daemons an ippc node needs besides the agent, run inside the agent's process
// (library calls: one process per node, one start, one log stream, one /metrics):
// - the IPAM node daemon, the long-running half of the `ippc-ipam` CNI plugin (a unix socket the
//   thin plugin forwards to; it talks gRPC to the central IPAM service);
// - the isolation node daemon: the enforcer of the isolation provider (nftables sets and routes in
//   the agent's network namespace) and the socket of the chained `ippc-isolation` plugin;
// - the plugin executables and the default network configs, installed before any of it is used.
// They start before the agent recovers (a recovery may run CNI DEL, which needs them) and stop
// after it.

export interface IpamDaemonOptions {
  /** The central IPAM service, `host:port`. */
  service: string;
  auth: AuthConfig;
  /** Unix socket of the daemon (`ipam.daemonSocket` of the networks). Default `/run/ippc/ipam.sock`. */
  socketPath?: string;
  /** This node's name on leases (owner and node). */
  node: string;
}

export interface IsolationDaemonOptions {
  /** The isolation service, `host:port`. */
  service: string;
  auth: AuthConfig;
  /** This agent at the isolation service (its hostname by default). */
  agentId: string;
  /** This agent's address(es) on the cluster network: other agents route its subnets there. */
  nodeAddresses: string[];
  /** This agent's container subnets. */
  subnets: string[];
  /** Unix socket of the `ippc-isolation` plugin. Default `/run/ippc/isolation.sock`. */
  socketPath?: string;
  /** Checkpoint folder (`members.json`). */
  dataDir: string;
  /** nftables table (family inet). Default `ippc_isolation`. */
  table?: string;
  /** Install routes to other agents' subnets. Default true. */
  manageRoutes?: boolean;
  /** How long a CNI ADD waits for local enforcement. Default 5000 ms. */
  applyTimeoutMs?: number;
}

export interface NodeServicesOptions {
  log: Logger;
  /** Where the daemons' metrics go (the agent's `/metrics`). */
  metrics?: Registry;
  /** Install ippc's CNI plugins (`ippc-ipam`, and `ippc-isolation` when `isolation`) into this folder first. */
  pluginDir?: string;
  /** Write the default networks (after the plugins, before the daemons start). */
  networks?: DefaultNetworksOptions;
  /** Run the IPAM node daemon. */
  ipam?: IpamDaemonOptions;
  /** Run the isolation node daemon. */
  isolation?: IsolationDaemonOptions;
}

export interface NodeServices {
  /** Paths of the plugins and network configs installed at start. */
  readonly installed: { plugins: string[]; networks: string[] };
  readonly ipamSocket?: string;
  readonly isolationSocket?: string;
  /**
   * CNI plugins answered in this process, by type, for the agent's network/cni isolator: with the
   * isolation node daemon here, `ippc-isolation` (the installed forwarder would only send the call
   * back to this process, and the exec alone costs more than the daemon's work).
   */
  readonly cniPlugins?: Readonly<Record<string, InProcessPlugin>>;
  /** For the agent's `/health`: each daemon's state. */
  health(): Record<string, unknown>;
  /** Stops the daemons (the installed files stay: they are configuration). */
  close(): Promise<void>;
}

/** Installs the `ippc-isolation` plugin through whichever API the isolation package offers. */
async function installIsolationPluginInto(dir: string): Promise<{ path: string }> {
  const isolation = (await import('@ippc/isolation')) as unknown as {
    installIsolationPlugin?: (o: { dir: string }) => { path: string };
    CNI_PLUGIN_PATH?: string;
  };
  if (isolation.installIsolationPlugin) return isolation.installIsolationPlugin({ dir });
  // The sh + curl forwarder shipped as a file: copy it in, atomically.
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'ippc-isolation');
  const tmp = `${path}.tmp-${process.pid}`;
  copyFileSync(isolation.CNI_PLUGIN_PATH!, tmp);
  chmodSync(tmp, 0o755);
  renameSync(tmp, path);
  return { path };
}

/**
 * Installs and starts what an ippc node runs beside the agent. On failure, whatever started is
 * stopped again before the error is thrown.
 */
/**
 * Makes the default networks' bridge with a MAC address of its own. The bridge plugin (1.1.x) sets
 * a bridge's MAC to the one it read when the ADD began; a bridge whose only port went away (a
 * first ADD that failed, then its DEL) reads 00:00:00:00:00:00, and every later ADD on it failed
 * ("could not set bridge's mac: invalid argument"). A MAC set once is kept by the kernel whatever
 * ports come and go. Best effort: without `ip` or the right to use it, the plugin makes the bridge.
 */
export async function ensureBridge(name: string, log: Logger): Promise<void> {
  const digest = createHash('sha256').update(`ippc-bridge:${name}`).digest();
  // Locally administered, unicast: 02:xx:xx:xx:xx:xx.
  const mac = ['02', ...[...digest.subarray(0, 5)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
  const ip = (...args: string[]) => execFileAsync('ip', args, { timeout: 10_000 });
  try {
    await ip('link', 'add', name, 'type', 'bridge').catch(async (err: Error & { stderr?: string }) => {
      if (!/exists/i.test(err.stderr ?? err.message)) throw err;
      const kind = (await ip('-d', '-o', 'link', 'show', name)).stdout;
      if (!/\bbridge\b/.test(kind)) throw new Error(`${name} exists and is not a bridge`);
    });
    await ip('link', 'set', name, 'address', mac);
    await ip('link', 'set', name, 'up');
    log.info({ bridge: name, mac }, 'bridge of the default networks ready');
  } catch (err) {
    log.warn(
      { bridge: name, err: (err as Error & { stderr?: string }).stderr?.trim() || (err as Error).message },
      'could not prepare the bridge of the default networks; the bridge plugin will make it',
    );
  }
}

export async function startNodeServices(options: NodeServicesOptions): Promise<NodeServices> {
  const log = options.log;
  const started: Started = { closers: [], health: {}, cniPlugins: {} };
  const installed = { plugins: [] as string[], networks: [] as string[] };
  const close = async () => {
    for (const c of started.closers.splice(0).reverse())
      await Promise.resolve(c()).catch((err: Error) => log.warn({ err: err.message }, 'stopping a node daemon failed'));
  };
  try {
    if (options.pluginDir) {
      const { installIpamPlugin } = await import('@ippc/ipam');
      const ipam = installIpamPlugin({ dir: options.pluginDir });
      installed.plugins.push(ipam.path);
      if (options.isolation) installed.plugins.push((await installIsolationPluginInto(options.pluginDir)).path);
      log.info({ plugins: installed.plugins }, 'installed the ippc CNI plugins');
    }
    if (options.networks) {
      installed.networks = await installDefaultNetworks(options.networks);
      log.info({ networks: installed.networks }, 'installed the default CNI networks');
      const bridges = [
        ...(options.networks.subnets['ippc-bridge'] ? [options.networks.bridgeName ?? 'ippc0'] : []),
        ...(options.networks.subnets['ippc-local'] ? [options.networks.localBridgeName ?? 'ippc1'] : []),
      ];
      for (const bridge of bridges) await ensureBridge(bridge, log);
    }
    if (options.ipam) await startIpamDaemon(options.ipam, log, started);
    if (options.isolation) await startIsolationDaemon(options.isolation, options, started);
    const { ipamSocket, isolationSocket, cniPlugins, health } = started;
    return {
      installed,
      ...(ipamSocket ? { ipamSocket } : {}),
      ...(isolationSocket ? { isolationSocket } : {}),
      ...(Object.keys(cniPlugins).length > 0 ? { cniPlugins } : {}),
      health: () => Object.fromEntries(Object.entries(health).map(([k, f]) => [k, f()])),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** What the daemons started so far leave behind: how to stop them, their health, their plugins. */
interface Started {
  closers: Array<() => Promise<void> | void>;
  health: Record<string, () => unknown>;
  cniPlugins: Record<string, InProcessPlugin>;
  ipamSocket?: string;
  isolationSocket?: string;
}

/** The IPAM node daemon: the socket the `ippc-ipam` plugin forwards to, a client of the IPAM service. */
async function startIpamDaemon(o: IpamDaemonOptions, log: Logger, started: Started): Promise<void> {
  const { createIpamClient, createIpamNodeDaemon } = await import('@ippc/ipam');
  const client = createIpamClient({ address: o.service, auth: o.auth });
  started.closers.push(() => client.close());
  const daemon = createIpamNodeDaemon({
    ipam: client,
    node: o.node,
    logger: log.child({ daemon: 'ipam' }),
    ...(o.socketPath ? { socketPath: o.socketPath } : {}),
  });
  await daemon.start();
  started.closers.push(() => daemon.close());
  started.ipamSocket = daemon.socketPath;
  started.health.ipam = () => ({ socket: daemon.socketPath, service: o.service });
  log.info({ socket: daemon.socketPath, service: o.service, node: o.node }, 'IPAM node daemon listening');
}

/** The isolation node daemon: the enforcer, the `ippc-isolation` socket, and its answer in this process. */
async function startIsolationDaemon(o: IsolationDaemonOptions, options: NodeServicesOptions, started: Started): Promise<void> {
  const { createInProcessCniPlugin, createIsolationNodeDaemon, createIsolationClient } = await import('@ippc/isolation');
  const log = options.log;
  const ilog = log.child({ daemon: 'isolation' });
  const client = createIsolationClient({ address: o.service, auth: o.auth, logger: ilog });
  started.closers.push(() => client.close());
  const daemon = createIsolationNodeDaemon({
    agent: { id: o.agentId, nodeAddresses: o.nodeAddresses, subnets: o.subnets },
    client,
    enforcer: { ...(o.table ? { table: o.table } : {}), ...(o.manageRoutes !== undefined ? { manageRoutes: o.manageRoutes } : {}), logger: ilog },
    dataDir: o.dataDir,
    ...(o.socketPath ? { socketPath: o.socketPath } : {}),
    ...(o.applyTimeoutMs !== undefined ? { applyTimeoutMs: o.applyTimeoutMs } : {}),
    ...(options.metrics ? { metrics: options.metrics } : {}),
    logger: ilog,
  });
  await daemon.start();
  started.closers.push(() => daemon.close());
  started.isolationSocket = daemon.socketPath;
  started.cniPlugins['ippc-isolation'] = createInProcessCniPlugin(daemon);
  started.health.isolation = () => daemon.status();
  log.info({ socket: daemon.socketPath, service: o.service, agentId: o.agentId, subnets: o.subnets }, 'isolation node daemon listening');
}
