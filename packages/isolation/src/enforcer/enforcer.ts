import { silentLogger, type Logger } from '@ippc/core';
import { IsolationError } from '../errors.js';
import { addressFamily, parseCidr } from '../ip.js';
import type { Member, PolicyState, RouteSpec } from '../model.js';
import { routesFor } from '../policy.js';
import { createIpBatchSession } from './ip-batch-session.js';
import { createNftSession } from './nft-session.js';
import { compileRuleset, renderDelta, renderFull, renderFullLine, type CompiledRuleset } from './ruleset.js';
import { createCommandRunner, type CommandResult, type CommandRunner } from './runner.js';

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

async function must(runner: CommandRunner, what: string, command: string, args: string[], input?: string): Promise<CommandResult> {
  let res: CommandResult;
  try {
    res = await runner.run(command, args, input);
  } catch (cause) {
    throw new IsolationError('ISOLATION_ENFORCEMENT_FAILED', `${what}: cannot run ${command}: ${(cause as Error).message} (is it installed?)`, { cause });
  }
  if (res.code !== 0) {
    throw new IsolationError('ISOLATION_ENFORCEMENT_FAILED', `${what}: ${command} ${args.join(' ')} exited with ${res.code}: ${res.stderr.trim() || res.stdout.trim()}`, {
      output: { stdout: res.stdout, stderr: res.stderr, exitCode: res.code },
      details: input ? { script: input.slice(0, 4000) } : undefined,
    });
  }
  return res;
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
  const table = options.table ?? 'ippc_isolation';
  if (!/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(table)) throw new IsolationError('ISOLATION_BAD_REQUEST', `nftables table name '${table}' is not valid: letters, digits, '_'`);
  const proto = options.routeProtocol ?? 241;
  const manageRoutes = options.manageRoutes ?? true;
  const runner = options.runner ?? createCommandRunner({ netns: options.netns });
  const log = options.logger ?? silentLogger();
  const longRunning = options.nftSession ?? options.runner === undefined;
  const session = longRunning ? createNftSession({ table, netns: options.netns }) : undefined;
  const ipBatch = longRunning ? createIpBatchSession({ netns: options.netns, onError: (text) => log.debug({ text }, 'neighbour flush failed') }) : undefined;

  let appliedRules: CompiledRuleset | undefined;
  /** Addresses of this agent's members at the last apply. */
  let localAddresses = new Set<string>();
  /** Neighbour flushes in flight (awaited by remove()). */
  const flushes = new Set<Promise<unknown>>();
  /** Routes known to be in the kernel (undefined: read them before the next diff). */
  let appliedRoutes: Map<string, string> | undefined;
  let applied: { epoch: string; revision: number } | undefined;
  let netfilterChecked = false;
  let queue: Promise<unknown> = Promise.resolve();
  let latest: PolicyState | undefined;
  let latestOptions: ApplyOptions = {};

  async function checkBridgeNetfilter(): Promise<void> {
    if (netfilterChecked || options.requireBridgeNetfilter === false) return;
    for (const key of ['bridge-nf-call-iptables', 'bridge-nf-call-ip6tables']) {
      const res = await runner.run('cat', [`/proc/sys/net/bridge/${key}`]);
      const value = res.stdout.trim();
      if (res.code !== 0) {
        throw new IsolationError(
          'ISOLATION_BRIDGE_NETFILTER',
          `net.bridge.${key} is missing: bridged traffic between containers would bypass isolation. Load br_netfilter (modprobe br_netfilter) on the host`,
        );
      }
      if (value !== '1') {
        const set = await runner.run('sysctl', ['-q', '-w', `net.bridge.${key}=1`]);
        if (set.code !== 0) {
          throw new IsolationError(
            'ISOLATION_BRIDGE_NETFILTER',
            `net.bridge.${key} is ${value} and cannot be set to 1 (${set.stderr.trim()}): bridged traffic would bypass isolation. Start the agent with --sysctl net.bridge.${key}=1`,
          );
        }
      }
    }
    netfilterChecked = true;
  }

  async function readRoutes(): Promise<Map<string, string>> {
    const routes = new Map<string, string>();
    for (const fam of ['-4', '-6']) {
      const res = await must(runner, 'reading routes', 'ip', ['-j', fam, 'route', 'show', 'proto', String(proto)]);
      const list = JSON.parse(res.stdout.trim() || '[]') as { dst: string; gateway?: string }[];
      for (const r of list) routes.set(r.dst.includes('/') ? parseCidr(r.dst, true).text : parseCidr(`${r.dst}/${addressFamily(r.dst) === 4 ? 32 : 128}`).text, r.gateway ?? '');
    }
    return routes;
  }

  async function syncRoutes(desired: RouteSpec[]): Promise<{ added: number; removed: number; errors: string[] }> {
    if (!manageRoutes) return { added: 0, removed: 0, errors: [] };
    appliedRoutes ??= await readRoutes();
    const want = new Map(desired.map((r) => [r.destination, r.via]));
    const lines: string[] = [];
    for (const [dst] of appliedRoutes) if (!want.has(dst)) lines.push(`route del ${dst} proto ${proto}`);
    const removed = lines.length;
    for (const [dst, via] of want) if (appliedRoutes.get(dst) !== via) lines.push(`route replace ${dst} via ${via} proto ${proto}`);
    if (lines.length === 0) return { added: 0, removed: 0, errors: [] };
    const errors: string[] = [];
    const batch = await runner.run('ip', ['-batch', '-'], lines.join('\n') + '\n');
    if (batch.code !== 0) {
      // One by one, so one unreachable next hop does not hold back the other routes.
      for (const line of lines) {
        const res = await runner.run('ip', line.split(' '));
        if (res.code !== 0 && !(line.startsWith('route del') && /No such process/.test(res.stderr))) errors.push(`${line}: ${res.stderr.trim()}`);
      }
    }
    // What failed is retried on the next apply: forget what the kernel holds.
    appliedRoutes = errors.length > 0 ? undefined : want;
    return { added: lines.length - removed, removed, errors };
  }

  async function converge(force: boolean): Promise<ApplyResult> {
    const state = latest!;
    const withRoutes = latestOptions.routes !== false;
    const started = performance.now();
    if (force) {
      appliedRules = undefined;
      appliedRoutes = undefined;
    }
    await checkBridgeNetfilter();
    let kernelMs = 0;
    const timed = async <T>(fn: () => Promise<T>): Promise<T> => {
      const t = performance.now();
      try {
        return await fn();
      } finally {
        kernelMs += performance.now() - t;
      }
    };
    const next = compileRuleset(state, options.agentId, table);
    let mode: ApplyResult['mode'] = 'none';
    let via: ApplyResult['via'] = 'none';
    // A whole table through the session too (a new group, a new rule: about 1 ms there against
    // 15-25 ms for an nft exec); the exec stays the fallback when the session fails.
    const replace = async (): Promise<void> => {
      if (session) {
        const failed = await timed(() => session.run([renderFullLine(next)])).then(
          () => undefined,
          (err: Error) => err.message,
        );
        if (failed === undefined) {
          via = 'session';
          return;
        }
        log.warn({ error: failed }, 'replacing the table through the nft session failed; running nft -f');
      }
      await timed(() => must(runner, 'replacing the isolation table', 'nft', ['-f', '-'], renderFull(next)));
      via = 'exec';
    };
    const delta = appliedRules ? renderDelta(appliedRules, next) : undefined;
    if (delta === undefined) {
      await replace();
      mode = 'full';
    } else if (delta !== '') {
      let error: string | undefined;
      if (session) {
        await timed(() => session.run(delta.trim().split('\n'))).catch((err: Error) => (error = err.message));
        via = 'session';
      } else {
        const res = await timed(() => runner.run('nft', ['-f', '-'], delta));
        if (res.code !== 0) error = res.stderr.trim();
        via = 'exec';
      }
      if (error !== undefined) {
        // The kernel differs from what we believe (someone edited the table): rebuild it.
        log.warn({ error }, 'incremental update failed; replacing the table');
        await replace();
        mode = 'full';
      } else mode = 'delta';
    }
    appliedRules = next;
    const nowLocal = new Set(state.members.filter((m) => m.agentId === options.agentId).flatMap((m) => m.addresses));
    const gone = [...localAddresses].filter((a) => !nowLocal.has(a));
    localAddresses = nowLocal;
    if (gone.length > 0 && options.flushNeighbors !== false) {
      // Best effort, and off the critical path: isolation does not depend on it, only a quick
      // reuse of the address does (a missing entry is fine).
      const lines = gone.map((a) => `neigh flush to ${a}`);
      if (ipBatch) ipBatch.send(lines);
      else {
        const flush = runner
          .run('ip', ['-force', '-batch', '-'], lines.join('\n') + '\n')
          .catch((err: unknown) => log.debug({ err }, 'neighbour flush failed'))
          .finally(() => flushes.delete(flush));
        flushes.add(flush);
      }
    }
    const routes = withRoutes ? await timed(() => syncRoutes(routesFor(state.agents, options.agentId))) : { added: 0, removed: 0, errors: [] };
    if (routes.errors.length > 0) log.warn({ errors: routes.errors }, 'some routes could not be installed');
    applied = { epoch: state.epoch, revision: state.revision };
    const result: ApplyResult = {
      epoch: state.epoch,
      revision: state.revision,
      mode,
      via,
      routesAdded: routes.added,
      routesRemoved: routes.removed,
      routeErrors: routes.errors,
      durationMs: performance.now() - started,
      kernelMs,
    };
    if (mode !== 'none' || routes.added + routes.removed > 0) log.debug(result, 'isolation applied');
    return result;
  }

  function enqueue(state: PolicyState, force: boolean, opts: ApplyOptions = {}): Promise<ApplyResult> {
    latest = state;
    latestOptions = opts;
    const run = queue.then(() => converge(force));
    queue = run.catch(() => undefined);
    return run;
  }

  async function listTable(): Promise<{ nftables?: Record<string, { name?: string; elem?: unknown[] }>[] } | undefined> {
    const res = await runner.run('nft', ['-j', 'list', 'table', 'inet', table]);
    if (res.code !== 0) return undefined;
    return JSON.parse(res.stdout) as { nftables?: Record<string, { name?: string; elem?: unknown[] }>[] };
  }

  return {
    agentId: options.agentId,
    table,
    get applied() {
      return applied;
    },
    apply: (state, opts) => enqueue(state, false, opts),
    rebuild: (state, opts) => enqueue(state, true, opts),
    async inspect() {
      const json = await listTable();
      const sets: Record<string, string[]> = {};
      for (const item of json?.nftables ?? []) {
        const set = item.set;
        if (!set?.name) continue;
        sets[set.name] = (set.elem ?? []).map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).sort();
      }
      const routes = manageRoutes ? [...(await readRoutes())].map(([destination, via]) => ({ destination, via })) : [];
      return { tablePresent: json !== undefined, sets, routes };
    },
    async verifyMember(member) {
      const view = await this.inspect();
      if (!view.tablePresent) throw new IsolationError('ISOLATION_CHECK_FAILED', `the isolation table inet ${table} is missing on agent ${options.agentId}: restart ippc-isolation-agent to rebuild it`);
      const rs = compileRuleset({ members: [member], rules: [] }, options.agentId, table);
      const missing: string[] = [];
      for (const s of rs.sets.values()) for (const e of s.elements) if (!view.sets[s.name]?.includes(e)) missing.push(`${e} in ${s.name}`);
      if (missing.length > 0) {
        throw new IsolationError('ISOLATION_CHECK_FAILED', `container ${member.containerId}/${member.ifName} is not isolated as attached: missing ${missing.join(', ')}`, { details: { missing } });
      }
    },
    async remove() {
      await queue;
      await Promise.all([...flushes]);
      const res = await runner.run('nft', ['delete', 'table', 'inet', table]);
      if (res.code !== 0 && !/No such file or directory/.test(res.stderr)) await must(runner, 'removing the isolation table', 'nft', ['delete', 'table', 'inet', table]);
      if (manageRoutes) {
        const routes = await readRoutes();
        for (const [dst] of routes) await runner.run('ip', ['route', 'del', dst, 'proto', String(proto)]);
      }
      appliedRules = undefined;
      appliedRoutes = undefined;
      applied = undefined;
    },
    close() {
      session?.close();
      ipBatch?.close();
    },
  };
}
