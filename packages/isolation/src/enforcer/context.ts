import { Mutex, silentLogger, type Logger } from '@ippc/core';
import { IsolationError } from '../errors.js';
import type { PolicyState } from '../model.js';
import type { ApplyOptions, EnforcerOptions } from './enforcer.js';
import { createIpBatchSession, type IpBatchSession } from './ip-batch-session.js';
import { createNftSession, type NftSession } from './nft-session.js';
import type { CompiledRuleset } from './ruleset.js';
import { createCommandRunner, type CommandRunner } from './runner.js';

/** What the parts of an enforcer share: its settings with defaults applied, and what it believes the kernel holds. */
export interface EnforcerContext {
  readonly agentId: string;
  readonly table: string;
  /** Routing protocol number of ippc's routes. */
  readonly proto: number;
  readonly manageRoutes: boolean;
  readonly requireBridgeNetfilter: boolean;
  readonly flushNeighbors: boolean;
  readonly runner: CommandRunner;
  readonly log: Logger;
  /** The long-running nft, when enabled. */
  readonly session: NftSession | undefined;
  /** The long-running `ip -batch` for neighbour flushes, when enabled. */
  readonly ipBatch: IpBatchSession | undefined;
  appliedRules: CompiledRuleset | undefined;
  /** Addresses of this agent's members at the last apply. */
  localAddresses: Set<string>;
  /** Neighbour flushes in flight (awaited by remove()). */
  readonly flushes: Set<Promise<unknown>>;
  /** Routes known to be in the kernel (undefined: read them before the next diff). */
  appliedRoutes: Map<string, string> | undefined;
  applied: { epoch: string; revision: number } | undefined;
  netfilterChecked: boolean;
  /** The apply in progress (applies are serialized). */
  readonly queue: Mutex;
  /** The newest state asked for, and its options: what the next converge applies. */
  latest: PolicyState | undefined;
  latestOptions: ApplyOptions;
}

/** Applies the defaults of `options` and checks the table name. */
export function createEnforcerContext(options: EnforcerOptions): EnforcerContext {
  const table = options.table ?? 'ippc_isolation';
  if (!/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(table))
    throw new IsolationError('ISOLATION_BAD_REQUEST', `nftables table name '${table}' is not valid: letters, digits, '_'`);
  const log = options.logger ?? silentLogger();
  const longRunning = options.nftSession ?? options.runner === undefined;
  return {
    agentId: options.agentId,
    table,
    proto: options.routeProtocol ?? 241,
    manageRoutes: options.manageRoutes ?? true,
    requireBridgeNetfilter: options.requireBridgeNetfilter !== false,
    flushNeighbors: options.flushNeighbors !== false,
    runner: options.runner ?? createCommandRunner({ netns: options.netns }),
    log,
    session: longRunning ? createNftSession({ table, netns: options.netns }) : undefined,
    ipBatch: longRunning ? createIpBatchSession({ netns: options.netns, onError: (text) => log.debug({ text }, 'neighbour flush failed') }) : undefined,
    appliedRules: undefined,
    localAddresses: new Set(),
    flushes: new Set(),
    appliedRoutes: undefined,
    applied: undefined,
    netfilterChecked: false,
    queue: new Mutex(),
    latest: undefined,
    latestOptions: {},
  };
}
