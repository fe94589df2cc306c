import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { clientOptions, fromServiceError, silentLogger, type AuthConfig, type Logger } from '@ippc/core';
import { isolationv1 as pb } from '@ippc/proto';
import { watch } from './client-watch.js';
import { IsolationError } from './errors.js';
import {
  normalizeRule,
  type AgentInfo,
  type AgentSpec,
  type Delta,
  type Member,
  type MemberKey,
  type PolicyState,
  type RouteSpec,
  type Rule,
  type RuleInput,
} from './model.js';
import type { AddressStatus, AwaitResult, ChangeResult, GroupView } from './service/store/store.js';
import {
  addressStatusFromPb,
  agentFromPb,
  awaitFromPb,
  groupFromPb,
  keyToPb,
  memberFromPb,
  memberToPb,
  routeFromPb,
  ruleFromPb,
  ruleToPb,
  snapshotFromPb,
} from './wire.js';

export interface IsolationClientOptions {
  /** `host:port` or `unix:/path/to.sock`. */
  address: string;
  /** The cluster token, or `{ disabled: true }` against a server without auth. */
  auth: AuthConfig;
  /** Deadline of each unary call. Default 10 s. */
  deadlineMs?: number;
  logger?: Logger;
}

export interface WatchHandlers {
  /** The watching agent's id (marks it connected at the service); empty for tools. */
  agentId?: string;
  /** The full state: on every (re)connect, before any delta. */
  onSnapshot(state: PolicyState): void;
  /** One committed change set, in revision order. */
  onDelta(delta: Delta): void;
  /** Connection changes: `connected` after a snapshot arrived; `disconnected` with the reason. */
  onStatus?(status: 'connected' | 'disconnected', err?: Error): void;
  /** Reconnect backoff, doubled per failure up to `maxMs`, each delay less up to half of it at random. Default 100 ms to 2 s. */
  backoff?: { minMs?: number; maxMs?: number };
}

export interface WatchHandle {
  /** Stops watching (no reconnect). */
  close(): void;
}

/** The typed client of the isolation service; errors are rethrown as the `IppcError` the service threw. */
export interface IsolationClient {
  registerAgent(spec: AgentSpec): Promise<ChangeResult>;
  deregisterAgent(id: string): Promise<ChangeResult>;
  syncMembers(agentId: string, members: Member[]): Promise<ChangeResult>;
  attach(member: Member): Promise<ChangeResult>;
  detach(key: MemberKey): Promise<ChangeResult>;
  reportApplied(agentId: string, epoch: string, revision: number, error?: string): Promise<void>;
  addRule(input: RuleInput): Promise<ChangeResult & { rule: Rule }>;
  removeRule(id: string): Promise<ChangeResult>;
  listRules(): Promise<Rule[]>;
  listGroups(): Promise<GroupView[]>;
  listMembers(filter?: { agentId?: string; group?: string }): Promise<Member[]>;
  listAgents(): Promise<{ agents: AgentInfo[]; revision: number; epoch: string }>;
  listRoutes(agentId?: string): Promise<RouteSpec[]>;
  getState(): Promise<PolicyState>;
  /** Waits until every registered agent applied `revision` (default: the current one). */
  awaitApplied(revision: number | undefined, timeoutMs: number): Promise<AwaitResult>;
  /** The IPAM seam: whether each address may be handed out again (`clear`). */
  checkAddresses(addresses: string[]): Promise<AddressStatus[]>;
  /** Snapshot then deltas, reconnecting with backoff until closed. */
  watch(handlers: WatchHandlers): WatchHandle;
  /** Resolves when the channel is connected, rejects with ISOLATION_UNAVAILABLE at the deadline. */
  waitForReady(timeoutMs: number): Promise<void>;
  close(): void;
}

/**
 * Creates a client of the isolation service.
 *
 * @example
 * ```ts
 * const client = createIsolationClient({ address: 'localhost:7070', auth: { token } });
 * const { rule } = await client.addRule({ from: 'web', to: 'db', ports: ['5432/tcp'] });
 * await client.awaitApplied(undefined, 5_000); // effective on every agent
 * ```
 */
export function createIsolationClient(options: IsolationClientOptions): IsolationClient {
  const log = options.logger ?? silentLogger();
  const deadlineMs = options.deadlineMs ?? 10_000;
  // Reconnect within 2 s of the service coming back (grpc-js backs off up to 120 s by default): node
  // daemons hold local changes the service must hear of, and the watch brings the state back.
  const raw = new pb.IsolationClient(
    options.address,
    credentials.createInsecure(),
    clientOptions(options.auth, { 'grpc.keepalive_time_ms': 30_000, 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 2_000 }),
  );

  type Unary<Req, Res> = (req: Req, metadata: Metadata, opts: { deadline: number }, cb: (err: ServiceError | null, res?: Res) => void) => unknown;
  function call<Req, Res>(method: Unary<Req, Res>, req: Req, deadline = deadlineMs): Promise<Res> {
    return new Promise((resolve, reject) => {
      method.call(raw, req, new Metadata(), { deadline: Date.now() + deadline }, (err, res) => (err ? reject(fromServiceError(err)) : resolve(res as Res)));
    });
  }

  const change = (r: pb.ChangeResponse): ChangeResult => ({ epoch: r.epoch ?? '', revision: r.revision ?? 0, changed: r.changed ?? false });

  return {
    registerAgent: async (spec) =>
      change(
        await call(raw.registerAgent as Unary<pb.RegisterAgentRequest, pb.ChangeResponse>, {
          id: spec.id,
          nodeAddresses: spec.nodeAddresses,
          subnets: spec.subnets,
        }),
      ),
    deregisterAgent: async (id) => change(await call(raw.deregisterAgent as Unary<pb.DeregisterAgentRequest, pb.ChangeResponse>, { id })),
    syncMembers: async (agentId, members) =>
      change(await call(raw.syncMembers as Unary<pb.SyncMembersRequest, pb.ChangeResponse>, { agentId, members: members.map(memberToPb) })),
    attach: async (member) => change(await call(raw.attach as Unary<pb.AttachRequest, pb.ChangeResponse>, { member: memberToPb(member) })),
    detach: async (key) => change(await call(raw.detach as Unary<pb.DetachRequest, pb.ChangeResponse>, { key: keyToPb(key) })),
    reportApplied: async (agentId, epoch, revision, error) => {
      await call(raw.reportApplied as Unary<pb.ReportAppliedRequest, pb.ReportAppliedResponse>, { agentId, epoch, revision, error: error ?? '' });
    },
    addRule: async (input) => {
      // Normalized here too, so a bad rule fails before the network and ports like '53/udp' are parsed once.
      const rule = normalizeRule(input);
      const res = await call(raw.addRule as Unary<pb.AddRuleRequest, pb.AddRuleResponse>, { rule: { ...ruleToPb(rule), id: input.id ?? '' } });
      return { epoch: res.epoch ?? '', revision: res.revision ?? 0, changed: res.changed ?? false, rule: ruleFromPb(res.rule ?? { ports: [] }) };
    },
    removeRule: async (id) => change(await call(raw.removeRule as Unary<pb.RemoveRuleRequest, pb.ChangeResponse>, { id })),
    listRules: async () => (await call(raw.listRules as Unary<pb.ListRulesRequest, pb.ListRulesResponse>, {})).rules.map(ruleFromPb),
    listGroups: async () => (await call(raw.listGroups as Unary<pb.ListGroupsRequest, pb.ListGroupsResponse>, {})).groups.map(groupFromPb),
    listMembers: async (filter = {}) =>
      (
        await call(raw.listMembers as Unary<pb.ListMembersRequest, pb.ListMembersResponse>, { agentId: filter.agentId ?? '', group: filter.group ?? '' })
      ).members.map(memberFromPb),
    listAgents: async () => {
      const res = await call(raw.listAgents as Unary<pb.ListAgentsRequest, pb.ListAgentsResponse>, {});
      return { agents: res.agents.map(agentFromPb), revision: res.revision ?? 0, epoch: res.epoch ?? '' };
    },
    listRoutes: async (agentId) =>
      (await call(raw.listRoutes as Unary<pb.ListRoutesRequest, pb.ListRoutesResponse>, { agentId: agentId ?? '' })).routes.map(routeFromPb),
    getState: async () => snapshotFromPb(await call(raw.getState as Unary<pb.GetStateRequest, pb.Snapshot>, {})),
    awaitApplied: async (revision, timeoutMs) =>
      awaitFromPb(
        await call(raw.awaitApplied as Unary<pb.AwaitAppliedRequest, pb.AwaitAppliedResponse>, { revision: revision ?? 0, timeoutMs }, timeoutMs + deadlineMs),
      ),
    checkAddresses: async (addresses) =>
      (await call(raw.checkAddresses as Unary<pb.CheckAddressesRequest, pb.CheckAddressesResponse>, { addresses })).addresses.map(addressStatusFromPb),
    watch: (handlers) => watch(raw, log, handlers),
    waitForReady: (timeoutMs) =>
      new Promise((resolve, reject) =>
        raw.waitForReady(Date.now() + timeoutMs, (err) => {
          if (!err) return resolve();
          reject(
            new IsolationError(
              'ISOLATION_UNAVAILABLE',
              `isolation service at ${options.address} not reachable within ${timeoutMs} ms (${err.message}): is ippc-isolation-server running there?`,
              { cause: err },
            ),
          );
        }),
      ),
    close: () => raw.close(),
  };
}
