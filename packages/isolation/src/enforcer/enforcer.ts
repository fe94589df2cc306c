import type { Logger } from '@ippc/core';
import type { Member, PolicyState } from '../model.js';
import { createEnforcerContext } from './context.js';
import { enqueue } from './converge.js';
import { checkMemberInView, inspect } from './inspect.js';
import { removeRoutes } from './routes.js';
import { must, type CommandRunner } from './runner.js';

// The enforcer's contract and the factory that composes its parts: context.ts (settings and what
// it believes the kernel holds), converge.ts (one apply: table.ts, neighbors.ts, routes.ts, after
// bridge-netfilter.ts's check), inspect.ts (reading the kernel back), with ruleset.ts compiling
// the policy and runner.ts, nft-session.ts and ip-batch-session.ts talking to the kernel.

export interface EnforcerOptions {
  /** The agent whose members this enforcer protects and whose routes it installs. */
  agentId: string;
  /** Network namespace to act in (path, e.g. `/run/netns/agent1`). Default: the process's own. */
  netns?: string;
  /** The nftables table (family inet) holding all of ippc's rules. Default `ippc_isolation`. */
  table?: string;
  /** Routing protocol number that marks ippc's routes (`ip route ... proto N`). Default 241. */
  routeProtocol?: number;
  /** Install routes to other agents' subnets. Default true. */
  manageRoutes?: boolean;
  /**
   * Require bridged traffic to pass netfilter (`net.bridge.bridge-nf-call-iptables=1`, set if
   * possible); without it, containers on one bridge bypass isolation. Default true.
   */
  requireBridgeNetfilter?: boolean;
  /**
   * Flush the neighbour (ARP/NDP) entry of a local member's address when it leaves, so a reused
   * address is not sent to the old container's MAC (a GARP within the kernel's locktime of 1 s is
   * ignored). Default true.
   */
  flushNeighbors?: boolean;
  /** Runs nft/ip/sysctl. Default: real commands (in `netns`). */
  runner?: CommandRunner;
  /**
   * Send set element changes to a long-running `nft -i` (about 1 ms) instead of an nft exec
   * (5-15 ms); any surprise falls back to exec. Neighbour flushes likewise go to a long-running
   * `ip -batch`: starting any process blocks the daemon for several ms. Default: true unless a
   * `runner` is given.
   */
  nftSession?: boolean;
  logger?: Logger;
}

export interface ApplyResult {
  epoch: string;
  revision: number;
  /** `full`: the table was replaced; `delta`: set elements changed; `none`: nothing to do. */
  mode: 'full' | 'delta' | 'none';
  /** How the change reached nftables: the long-running session, or an `nft -f` exec (none: nothing changed). */
  via: 'session' | 'exec' | 'none';
  routesAdded: number;
  routesRemoved: number;
  /** Routes that could not be installed (for example, the next hop is not reachable). */
  routeErrors: string[];
  durationMs: number;
  /** Of `durationMs`, the time spent waiting for nft and ip (the rest is compiling and diffing). */
  kernelMs: number;
}

/** What the kernel holds, read back. */
export interface EnforcerView {
  tablePresent: boolean;
  /** Set name → elements. */
  sets: Record<string, string[]>;
  routes: { destination: string; via: string }[];
}

export interface ApplyOptions {
  /**
   * Converge the routes to other agents as well. Default true. False leaves ippc's routes as the
   * kernel has them: for a state that does not know the other agents (a node daemon enforcing
   * its local members before it has ever heard from the service).
   */
  routes?: boolean;
}

export interface Enforcer {
  readonly agentId: string;
  readonly table: string;
  /** The last applied (epoch, revision), undefined before the first apply. */
  readonly applied: { epoch: string; revision: number } | undefined;
  /**
   * Converges the namespace to `state`: set elements added/removed when only membership changed,
   * the table replaced atomically when groups or rules changed, routes replaced or deleted.
   * Idempotent (an unchanged state runs no command). Calls are serialized; a call made while
   * another runs applies the newest state.
   */
  apply(state: PolicyState, options?: ApplyOptions): Promise<ApplyResult>;
  /** Forgets what it applied, then applies `state` from scratch (table replaced, routes re-read). */
  rebuild(state: PolicyState, options?: ApplyOptions): Promise<ApplyResult>;
  /** Reads the table and ippc's routes back from the kernel. */
  inspect(): Promise<EnforcerView>;
  /** Throws ISOLATION_CHECK_FAILED unless every address of `member` is in the sets it should be in. */
  verifyMember(member: Member): Promise<void>;
  /** Removes the table and ippc's routes (enforcement off). The next apply rebuilds. */
  remove(): Promise<void>;
  /** Ends the long-running nft, if any. The kernel state stays. */
  close(): void;
}

/**
 * Creates the per-agent enforcer: one nftables table of ippc's own with a set of member addresses
 * per group and rules per group pair, plus the routes to other agents' container subnets.
 *
 * @example
 * ```ts
 * const enforcer = createEnforcer({ agentId: 'agent1', netns: '/run/netns/agent1' });
 * await enforcer.apply(await client.getState());
 * ```
 */
export function createEnforcer(options: EnforcerOptions): Enforcer {
  const ctx = createEnforcerContext(options);
  return {
    agentId: options.agentId,
    table: ctx.table,
    get applied() {
      return ctx.applied;
    },
    apply: (state, opts) => enqueue(ctx, state, false, opts),
    rebuild: (state, opts) => enqueue(ctx, state, true, opts),
    inspect: () => inspect(ctx),
    async verifyMember(member) {
      checkMemberInView(ctx, member, await this.inspect());
    },
    async remove() {
      const { runner, table } = ctx;
      await ctx.queue.idle();
      await Promise.all([...ctx.flushes]);
      const res = await runner.run('nft', ['delete', 'table', 'inet', table]);
      if (res.code !== 0 && !/No such file or directory/.test(res.stderr))
        await must(runner, 'removing the isolation table', 'nft', ['delete', 'table', 'inet', table]);
      if (ctx.manageRoutes) await removeRoutes(ctx);
      ctx.appliedRules = undefined;
      ctx.appliedRoutes = undefined;
      ctx.applied = undefined;
    },
    close() {
      ctx.session?.close();
      ctx.ipBatch?.close();
    },
  };
}
