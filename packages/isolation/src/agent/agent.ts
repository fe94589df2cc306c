import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { createMetricsRegistry, silentLogger, type Logger } from '@ippc/core';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { DEFAULT_AGENT_SOCKET, handleCni, type CniBackend } from '../cni/handler.js';
import type { IsolationClient, WatchHandlers } from '../client.js';
import { createEnforcer, type ApplyResult, type Enforcer, type EnforcerOptions } from '../enforcer/enforcer.js';
import { IsolationError } from '../errors.js';
import { memberKeyString, normalizeAgent, type AgentSpec, type Member, type MemberKey, type PolicyState } from '../model.js';
import { applyDelta, sameMembership } from '../state.js';

export interface IsolationAgentOptions {
  /** This agent: its id, node address(es) on the cluster network and container subnets. */
  agent: AgentSpec;
  /** Client of the isolation service. */
  client: IsolationClient;
  /** The enforcer, or options for one (`agentId` is filled in). Default: act in the process's own namespace. */
  enforcer?: Enforcer | Omit<EnforcerOptions, 'agentId'>;
  /** Unix socket the `ippc-isolation` CNI plugin talks to. Default /run/ippc/isolation.sock. */
  socketPath?: string;
  /** Folder of the local checkpoint (`members.json`): what this agent runs. Default /var/lib/ippc/isolation. */
  dataDir?: string;
  /** How long a CNI ADD waits for the local enforcer before failing with "try again later". Default 5 s. */
  applyTimeoutMs?: number;
  /** Backoff after a failed apply before a full rebuild is tried. Default 500 ms. */
  retryMs?: number;
  metrics?: Registry;
  logger?: Logger;
}

export interface AgentStatus {
  agentId: string;
  /** A snapshot arrived and the watch stream is open. */
  connected: boolean;
  epoch: string;
  /** Revision of the last state the enforcer applied (0: none yet). */
  appliedRevision: number;
  /** Revision the service is at, as far as this agent knows. */
  knownRevision: number;
  members: number;
  lastError: string;
}

/** The node daemon: enforcer + CNI endpoint + membership checkpoint, kept in step with the service. */
export interface IsolationAgent {
  readonly socketPath: string;
  readonly enforcer: Enforcer;
  readonly metrics: Registry;
  start(): Promise<void>;
  close(): Promise<void>;
  status(): AgentStatus;
  /** Local members from the checkpoint. */
  members(): Member[];
  attach(member: Member): Promise<void>;
  detach(key: MemberKey): Promise<void>;
  check(member: Member): Promise<void>;
  /** Replaces the table and re-reads routes from the kernel (e.g. after someone edited them). */
  resync(): Promise<ApplyResult | undefined>;
  /** Resolves after the enforcer applied the current state (rejects on timeout). */
  waitForApplied(timeoutMs: number): Promise<void>;
}

interface Waiter {
  done: (state: PolicyState) => boolean;
  resolve(): void;
}

/**
 * Creates the node daemon of an agent. It registers the agent, replays its checkpoint of local
 * members to the service on every (re)connect (the agent's checkpoint is the truth for what it
 * runs), applies every state it watches through the enforcer, acknowledges applied revisions, and
 * serves the `ippc-isolation` CNI plugin on a unix socket.
 *
 * @example
 * ```ts
 * const agent = createIsolationAgent({
 *   agent: { id: 'agent1', nodeAddresses: ['10.240.0.11'], subnets: ['10.240.1.0/24'] },
 *   client: createIsolationClient({ address: 'isolation:7070', auth: { token } }),
 * });
 * await agent.start();
 * ```
 */
export function createIsolationAgent(options: IsolationAgentOptions): IsolationAgent {
  const spec = normalizeAgent(options.agent);
  const log = options.logger ?? silentLogger();
  const client = options.client;
  const enforcer: Enforcer = options.enforcer && 'apply' in options.enforcer ? options.enforcer : createEnforcer({ ...(options.enforcer ?? {}), agentId: spec.id, logger: log });
  const socketPath = options.socketPath ?? DEFAULT_AGENT_SOCKET;
  const dataDir = options.dataDir ?? '/var/lib/ippc/isolation';
  const checkpointFile = join(dataDir, 'members.json');
  const applyTimeoutMs = options.applyTimeoutMs ?? 5_000;
  const retryMs = options.retryMs ?? 500;
  const registry = options.metrics ?? createMetricsRegistry('isolation-agent');

  const cniRequests = new Counter({ name: 'ippc_isolation_cni_requests_total', help: 'CNI calls by command and result', labelNames: ['command', 'result'], registers: [registry] });
  const cniSeconds = new Histogram({
    name: 'ippc_isolation_cni_seconds',
    help: 'Time the daemon spends on a CNI call (ADD includes the wait for local enforcement)',
    labelNames: ['command'],
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [registry],
  });
  const applySeconds = new Histogram({
    name: 'ippc_isolation_apply_seconds',
    help: 'Time to apply a state to nftables and routes, by mode',
    labelNames: ['mode'],
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  const applyErrors = new Counter({ name: 'ippc_isolation_apply_errors_total', help: 'Failed applies', registers: [registry] });

  const local = new Map<string, Member>();
  let state: PolicyState | undefined;
  let appliedState: PolicyState | undefined;
  let connected = false;
  let lastError = '';
  let closed = false;
  let server: Server | undefined;
  let watch: { close(): void } | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  const waiters = new Set<Waiter>();

  new Gauge({
    name: 'ippc_isolation_agent_applied_revision',
    help: 'Revision of the last state applied on this agent',
    registers: [registry],
    collect() {
      this.set(appliedState?.revision ?? 0);
    },
  });
  new Gauge({
    name: 'ippc_isolation_agent_members',
    help: 'Members (container interfaces) on this agent',
    registers: [registry],
    collect() {
      this.set(local.size);
    },
  });

  // Membership operations (attach, detach, re-sync) are serialized: the checkpoint and what the
  // service is told never cross.
  let lock: Promise<unknown> = Promise.resolve();
  function serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = lock.then(fn);
    lock = run.catch(() => undefined);
    return run;
  }

  async function saveCheckpoint(): Promise<void> {
    await mkdir(dataDir, { recursive: true });
    const tmp = `${checkpointFile}.tmp`;
    await writeFile(tmp, JSON.stringify({ version: 1, agentId: spec.id, members: [...local.values()] }));
    await rename(tmp, checkpointFile);
  }

  async function loadCheckpoint(): Promise<void> {
    const text = await readFile(checkpointFile, 'utf8').catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)));
    if (!text) return;
    const data = JSON.parse(text) as { members?: Member[] };
    for (const m of data.members ?? []) local.set(memberKeyString(m), m);
    log.info({ members: local.size }, 'checkpoint loaded');
  }

  /** After (re)connecting: make the service hold this agent and exactly its checkpointed members. */
  async function reconcile(snapshot: PolicyState): Promise<void> {
    await serialized(async () => {
      const me = snapshot.agents.find((a) => a.id === spec.id);
      if (!me || me.nodeAddresses.join() !== spec.nodeAddresses.join() || me.subnets.join() !== spec.subnets.join()) await client.registerAgent(spec);
      const theirs = snapshot.members.filter((m) => m.agentId === spec.id);
      const same = theirs.length === local.size && theirs.every((m) => local.has(memberKeyString(m)) && sameMembership(local.get(memberKeyString(m))!, m));
      if (!same) {
        const r = await client.syncMembers(spec.id, [...local.values()]);
        log.info({ members: local.size, revision: r.revision }, 'members re-synced to the service');
      }
    });
  }

  /** Records an applied state: wakes CNI ADDs waiting for it and acknowledges it to the service. */
  function applied(target: PolicyState, res: ApplyResult): void {
    appliedState = target;
    lastError = res.routeErrors.join('; ');
    for (const w of [...waiters]) if (w.done(target)) w.resolve();
    client.reportApplied(spec.id, target.epoch, target.revision, lastError || undefined).catch((err: unknown) => log.debug({ err }, 'cannot report the applied revision (the next one will be)'));
  }

  let applying = false;
  let reapply = false;
  let forceNext = false;
  /** Applies the newest state; one at a time, the newest wins; failed applies are retried by rebuild. */
  async function enforce(force = false): Promise<void> {
    if (force) forceNext = true;
    if (!state) return;
    if (applying) {
      reapply = true;
      return;
    }
    applying = true;
    try {
      do {
        reapply = false;
        const target = state;
        const started = performance.now();
        try {
          const rebuild = forceNext;
          forceNext = false;
          const res = rebuild ? await enforcer.rebuild(target) : await enforcer.apply(target);
          applySeconds.observe({ mode: res.mode }, (performance.now() - started) / 1000);
          applied(target, res);
        } catch (err) {
          applyErrors.inc();
          lastError = (err as Error).message;
          log.error({ err }, 'cannot apply the isolation state; retrying with a rebuild');
          client.reportApplied(spec.id, target.epoch, target.revision, lastError).catch(() => undefined);
          if (!closed) {
            clearTimeout(retryTimer);
            retryTimer = setTimeout(() => void enforce(true), retryMs);
          }
          return;
        }
      } while (reapply && !closed);
    } finally {
      applying = false;
    }
  }

  function waitFor(done: (s: PolicyState) => boolean, timeoutMs: number, what: string): Promise<void> {
    if (appliedState && done(appliedState)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        done,
        resolve: () => {
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(
          new IsolationError(
            'ISOLATION_TIMEOUT',
            `${what} was not enforced on agent ${spec.id} within ${timeoutMs} ms (${connected ? 'connected' : 'not connected to the isolation service'}${lastError ? `; last error: ${lastError}` : ''}): retry, and check ippc-isolation-agent's log`,
          ),
        );
      }, timeoutMs);
      waiters.add(waiter);
    });
  }

  async function attach(member: Member): Promise<void> {
    const m = { ...member, agentId: spec.id };
    const key = memberKeyString(m);
    await serialized(async () => {
      // The service call and the checkpoint write run side by side; either failing undoes both.
      // (A crash between them leaves a checkpointed member the runtime will DEL anyway.)
      local.set(key, m);
      const [rpc, disk] = await Promise.allSettled([client.attach(m), saveCheckpoint()]);
      if (rpc.status === 'rejected' || disk.status === 'rejected') {
        local.delete(key);
        if (rpc.status === 'fulfilled') await client.detach(m).catch(() => undefined);
        await saveCheckpoint().catch((err: unknown) => log.error({ err }, 'cannot write the checkpoint'));
        throw rpc.status === 'rejected' ? rpc.reason : (disk as PromiseRejectedResult).reason;
      }
    });
    // Membership takes effect here before ADD returns (and so before the task is RUNNING).
    await waitFor((s) => s.members.some((x) => sameMembership(x, m)), applyTimeoutMs, `container ${m.containerId}/${m.ifName}`);
  }

  async function detach(key: MemberKey): Promise<void> {
    const k = { ...key, agentId: spec.id };
    await serialized(async () => {
      const had = local.delete(memberKeyString(k));
      // If the service is unreachable the checkpoint still says the truth: the next reconnect
      // re-syncs and the member goes then. Until then the service keeps the address "in use",
      // so IPAM cannot hand it out early.
      await Promise.all([
        had ? saveCheckpoint() : undefined,
        client.detach(k).catch((err: unknown) => log.warn({ err, member: memberKeyString(k) }, 'detach not yet told to the service; it follows on reconnect')),
      ]);
    });
  }

  async function check(member: Member): Promise<void> {
    const m = { ...member, agentId: spec.id };
    const mine = local.get(memberKeyString(m));
    if (!mine) throw new IsolationError('ISOLATION_CHECK_FAILED', `container ${m.containerId}/${m.ifName} is not attached on agent ${spec.id}: ADD it again`);
    if (!sameMembership(mine, m)) throw new IsolationError('ISOLATION_CHECK_FAILED', `container ${m.containerId}/${m.ifName} is attached with ${mine.addresses.join(',')} in [${mine.groups.join(',')}], not ${m.addresses.join(',')} in [${m.groups.join(',')}]`);
    const theirs = (await client.listMembers({ agentId: spec.id })).find((x) => memberKeyString(x) === memberKeyString(m));
    if (!theirs || !sameMembership(theirs, m)) throw new IsolationError('ISOLATION_CHECK_FAILED', `the isolation service does not hold container ${m.containerId}/${m.ifName} as attached: it re-syncs on reconnect; retry`);
    await enforcer.verifyMember(m);
  }

  const backend: CniBackend = {
    attach,
    detach,
    check,
    async gc(network, valid) {
      const keep = new Set(valid.map((v) => `${v.containerId}/${v.ifName}`));
      for (const m of [...local.values()]) if (m.network === network && !keep.has(`${m.containerId}/${m.ifName}`)) await detach(m);
    },
    async status() {
      if (!connected) throw new IsolationError('ISOLATION_UNAVAILABLE', `agent ${spec.id} is not connected to the isolation service${lastError ? `: ${lastError}` : ''}`);
    },
  };

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  const status = (): AgentStatus => ({
    agentId: spec.id,
    connected,
    epoch: appliedState?.epoch ?? '',
    appliedRevision: appliedState?.revision ?? 0,
    knownRevision: state?.revision ?? 0,
    members: local.size,
    lastError,
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://agent');
    const json = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'POST' && url.pathname === '/cni') {
      const command = String(req.headers['x-cni-command'] ?? '');
      const started = performance.now();
      const out = await handleCni(
        {
          command,
          containerId: String(req.headers['x-cni-containerid'] ?? ''),
          netns: String(req.headers['x-cni-netns'] ?? ''),
          ifName: String(req.headers['x-cni-ifname'] ?? ''),
          args: String(req.headers['x-cni-args'] ?? ''),
          stdin: await readBody(req),
        },
        backend,
        spec.id,
      );
      cniSeconds.observe({ command }, (performance.now() - started) / 1000);
      cniRequests.inc({ command, result: out.status === 200 ? 'ok' : 'error' });
      if (out.status !== 200) log.warn({ command, containerId: req.headers['x-cni-containerid'], error: out.body }, 'CNI call failed');
      res.writeHead(out.status, { 'content-type': 'application/json' });
      res.end(out.body);
      return;
    }
    if (req.method === 'GET' && url.pathname === '/status') return json(200, status());
    if (req.method === 'GET' && url.pathname === '/members') return json(200, [...local.values()]);
    if (req.method === 'GET' && url.pathname === '/metrics') {
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(await registry.metrics());
      return;
    }
    if (req.method === 'POST' && url.pathname === '/resync') return json(200, await agent.resync());
    json(404, { error: `no such endpoint: ${req.method} ${url.pathname}` });
  }

  const agent: IsolationAgent = {
    socketPath,
    enforcer,
    metrics: registry,
    async start() {
      await loadCheckpoint();
      await mkdir(dirname(socketPath), { recursive: true });
      await rm(socketPath, { force: true });
      server = createServer((req, res) => {
        route(req, res).catch((err: unknown) => {
          log.error({ err }, 'request failed');
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: (err as Error).message }));
        });
      });
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(socketPath, () => resolve());
      });
      await chmod(socketPath, 0o600);
      const handlers: WatchHandlers = {
        agentId: spec.id,
        onSnapshot(snapshot) {
          state = snapshot;
          connected = true;
          void enforce();
          reconcile(snapshot).catch((err: unknown) => {
            lastError = (err as Error).message;
            log.error({ err }, 'cannot register or re-sync members; retrying with a new snapshot');
            // A new watch brings a new snapshot, and with it a new attempt.
            setTimeout(() => {
              if (closed) return;
              watch?.close();
              watch = client.watch(handlers);
            }, retryMs).unref();
          });
        },
        onDelta(delta) {
          state = applyDelta(state!, delta);
          void enforce();
          // Someone else removed this agent or one of its members (an operator, a service that
          // lost its state): the checkpoint is the truth, so put it back.
          const lost = delta.changes.some(
            (c) => (c.kind === 'agent-removed' && c.id === spec.id) || (c.kind === 'member-removed' && c.key.agentId === spec.id && local.has(memberKeyString(c.key))),
          );
          if (lost) reconcile(state).catch((err: unknown) => log.error({ err }, 'cannot restore this agent at the service; retrying on the next snapshot'));
        },
        onStatus(s, err) {
          if (s === 'disconnected') {
            connected = false;
            log.warn({ err: err?.message }, 'watch disconnected; reconnecting');
          } else log.info({ revision: state?.revision, epoch: state?.epoch }, 'watching the isolation service');
        },
      };
      watch = client.watch(handlers);
      log.info({ socketPath }, 'isolation agent started');
    },
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      watch?.close();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      server?.closeAllConnections();
      await rm(socketPath, { force: true }).catch(() => undefined);
      await lock;
      enforcer.close();
    },
    status,
    members: () => [...local.values()],
    attach,
    detach,
    check,
    async resync() {
      if (!state) return undefined;
      const target = state;
      // The enforcer serializes this with any apply in flight.
      const res = await enforcer.rebuild(target);
      applied(target, res);
      return res;
    },
    waitForApplied(timeoutMs) {
      // Judged at each apply against the newest state known then.
      return waitFor((s) => state !== undefined && s.epoch === state.epoch && s.revision >= state.revision, timeoutMs, 'the current state');
    },
  };
  return agent;
}
