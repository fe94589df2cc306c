import { stat } from 'node:fs/promises';
import { createLogger, KeyedMutex, messageOf as message, type Logger } from '@ippc/core';
import type { ContainerID, NetworkInfo } from '@ippc/proto';
import { NetworkIsolatorError } from '../errors.js';
import { createExecInvoker, type CniInvoker } from '../cni/invoker.js';
import { createCniRuntime, type CniRuntime } from '../cni/runtime.js';
import type { CniResult } from '../cni/types.js';
import { createCheckpointCache } from '../checkpoint.js';
import { createNetworkConfigStore, type NetworkConfigStore } from '../config-store.js';
import { createHostOps, type HostOps } from '../host/host-ops.js';
import type { NetworkIsolatorOptions } from './isolator.js';

// What the isolator's verbs (prepare, isolate, status, usage, cleanup, check, recover) share: the
// options with their defaults, the seams, and the state of every container it holds.

/** One network of a container: its interface, the request, and the final ADD result once attached. */
export interface ContainerNetwork {
  name: string;
  ifName: string;
  /** The NetworkInfo as requested (a copy). */
  networkInfo: NetworkInfo;
  result?: CniResult;
}

/** What the isolator holds for one container. */
export interface Info {
  id: ContainerID;
  cid: string;
  networks: ContainerNetwork[];
  /** ContainerInfo.hostname, if set. */
  hostname?: string;
  pid?: number;
  /** A nested container that shares its parent's network. */
  joinsParent?: boolean;
  /** For a nested container whose root container has networks: the root's id, whose network files it gets. */
  root?: string;
}

/** The isolator's shared context, made once per isolator by {@link createContext}. */
export interface IsolatorContext {
  readonly options: NetworkIsolatorOptions;
  readonly rootDir: string;
  readonly pluginDirs: string[];
  readonly logger: Logger;
  readonly invoker: CniInvoker;
  readonly host: HostOps;
  readonly store: NetworkConfigStore;
  readonly runtime: CniRuntime;
  readonly hostResolvConf: string;
  /** The containers it holds state for, by id (Mesos string form). */
  readonly infos: Map<string, Info>;
  /** Operations on one container never overlap (SPEC: no parallel operations for the same container): each runs under its id. */
  readonly locks: KeyedMutex;
  /** Containers whose teardown failed and is tried again later: id → timer. */
  readonly retrying: Map<string, NodeJS.Timeout>;
  /** `cleanupRetry` resolved: 0 when it is off. */
  readonly retryFirstMs: number;
  readonly retryMaxMs: number;
  /** The config folder checked and the checkpoint root prepared (see {@link init}); unset after a failure and by dispose(). */
  ready: Promise<void> | undefined;
}

export function createContext(options: NetworkIsolatorOptions): IsolatorContext {
  const rootDir = options.rootDir ?? '/var/run/ippc/isolators/network/cni';
  const pluginDirs =
    typeof options.pluginDirs === 'string' ? options.pluginDirs.split(':').filter(Boolean) : [...(options.pluginDirs ?? ['/usr/lib/cni', '/opt/cni/bin'])];
  const logger = options.logger ?? createLogger({ component: 'network-isolator' });
  const invoker = options.invoker ?? createExecInvoker(options.pluginNetns ? { netns: options.pluginNetns } : {});
  const host = options.host ?? createHostOps();
  const store: NetworkConfigStore = createNetworkConfigStore({ configDir: options.configDir, pluginDirs, invoker, logger });
  const runtime: CniRuntime = createCniRuntime({ pluginDirs, invoker, cache: createCheckpointCache(rootDir), ...(options.path ? { path: options.path } : {}) });
  const hostResolvConf = options.hostResolvConf ?? '/etc/resolv.conf';
  const retryFirstMs = options.cleanupRetry === false ? 0 : (options.cleanupRetry?.firstMs ?? 1000);
  const retryMaxMs = options.cleanupRetry === false ? 0 : (options.cleanupRetry?.maxMs ?? 60_000);
  return {
    options,
    rootDir,
    pluginDirs,
    logger,
    invoker,
    host,
    store,
    runtime,
    hostResolvConf,
    infos: new Map(),
    locks: new KeyedMutex(),
    retrying: new Map(),
    retryFirstMs,
    retryMaxMs,
    ready: undefined,
  };
}

/** Checks the config folder and makes the checkpoint root a mount of its own, once (again after a failure). */
export function init(ctx: IsolatorContext): Promise<void> {
  const { options, rootDir, host } = ctx;
  return (ctx.ready ??= checkConfigDir(options.configDir)
    .then(() => host.prepareRoot(rootDir))
    .catch((err) => {
      if (err instanceof NetworkIsolatorError && err.code === 'CNI_BAD_OPTIONS') {
        ctx.ready = undefined;
        throw err;
      }
      ctx.ready = undefined;
      throw new NetworkIsolatorError('CNI_SETUP_FAILED', `Failed to create CNI network information root directory at '${rootDir}': ${message(err)}`, {
        cause: err,
      });
    }));
}

async function checkConfigDir(configDir: string): Promise<void> {
  let st;
  try {
    st = await stat(configDir);
  } catch {
    st = undefined;
  }
  if (!st?.isDirectory()) throw new NetworkIsolatorError('CNI_BAD_OPTIONS', `The CNI network configuration directory '${configDir}' does not exist`);
}
