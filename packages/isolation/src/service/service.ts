import { status, type ServerUnaryCall, type ServerWritableStream, type sendUnaryData } from '@grpc/grpc-js';
import { createGrpcServer, createMetricsRegistry, silentLogger, toServiceError, type AuthConfig, type IppcGrpcServer, type Logger } from '@ippc/core';
import { isolationv1 as pb } from '@ippc/proto';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { badRequest } from '../errors.js';
import type { Delta } from '../model.js';
import {
  actionFromPb,
  addressStatusToPb,
  agentToPb,
  awaitToPb,
  deltaToPb,
  groupToPb,
  keyFromPb,
  memberFromPb,
  memberToPb,
  protocolFromPb,
  routeToPb,
  ruleToPb,
  snapshotToPb,
} from '../wire.js';
import { createPolicyStore, type ChangeResult, type PolicyStore, type PolicyStoreOptions } from './store/store.js';

/** The gRPC service name, as the health service reports it. */
export const ISOLATION_SERVICE_NAME = 'ippc.isolation.v1.Isolation';

export interface IsolationServiceOptions extends PolicyStoreOptions {
  /** Shared-secret auth for every call but health (see `@ippc/core` createGrpcServer). Required. */
  auth: AuthConfig;
  /** Registry for the service's metrics. Default: a new one with Node's process metrics. */
  metrics?: Registry;
  logger?: Logger;
  /**
   * Bytes buffered for one watch stream before the service drops it as too slow (the agent then
   * reconnects and gets a fresh snapshot instead of an ever-growing backlog). Default 32 MiB.
   */
  maxWatchBacklogBytes?: number;
  /** Longest AwaitApplied wait a caller may ask for. Default 60 s. */
  maxAwaitMs?: number;
}

export interface IsolationService {
  readonly store: PolicyStore;
  readonly metrics: Registry;
  readonly grpc: IppcGrpcServer;
  /** Binds (`host:port`, port 0 for any, or `unix:/path`) and serves; returns the port (0 for unix). */
  listen(address: string): Promise<number>;
  /** Ends watch streams, stops the server and flushes the state file. */
  close(): Promise<void>;
}

/**
 * Creates the isolation service: the policy store behind a gRPC server with auth and health.
 *
 * @example
 * ```ts
 * const service = await createIsolationService({ auth: { token }, dataFile: '/var/lib/ippc/isolation.json' });
 * const port = await service.listen('0.0.0.0:7070');
 * ```
 */
export async function createIsolationService(options: IsolationServiceOptions): Promise<IsolationService> {
  const log = options.logger ?? silentLogger();
  const store = await createPolicyStore(options);
  const registry = options.metrics ?? createMetricsRegistry('isolation');
  const maxBacklog = options.maxWatchBacklogBytes ?? 32 * 1024 * 1024;
  const maxAwaitMs = options.maxAwaitMs ?? 60_000;

  const requests = new Counter({ name: 'ippc_isolation_requests_total', help: 'gRPC requests by method and result code', labelNames: ['method', 'code'], registers: [registry] });
  const changes = new Counter({ name: 'ippc_isolation_changes_total', help: 'Changes committed, by kind', labelNames: ['kind'], registers: [registry] });
  const propagation = new Histogram({
    name: 'ippc_isolation_propagation_seconds',
    help: 'Time from a change until every registered agent has applied it',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  store.onPropagated((_rev, ms) => propagation.observe(ms / 1000));
  new Gauge({
    name: 'ippc_isolation_revision',
    help: 'Current revision of the policy state',
    registers: [registry],
    collect() {
      this.set(store.revision);
    },
  });
  new Gauge({
    name: 'ippc_isolation_agents',
    help: 'Registered agents, by whether a watch stream is open',
    labelNames: ['connected'],
    registers: [registry],
    collect() {
      const agents = store.agents();
      this.set({ connected: 'true' }, agents.filter((a) => a.connected).length);
      this.set({ connected: 'false' }, agents.filter((a) => !a.connected).length);
    },
  });
  new Gauge({
    name: 'ippc_isolation_group_members',
    help: 'Members per group',
    labelNames: ['group'],
    registers: [registry],
    collect() {
      this.reset();
      for (const g of store.groups()) this.set({ group: g.name }, g.members.length);
    },
  });
  new Gauge({
    name: 'ippc_isolation_members',
    help: 'Attached members (container interfaces)',
    registers: [registry],
    collect() {
      this.set(store.members().length);
    },
  });
  new Gauge({
    name: 'ippc_isolation_rules',
    help: 'Operator rules',
    registers: [registry],
    collect() {
      this.set(store.rules().length);
    },
  });
  new Gauge({
    name: 'ippc_isolation_agent_lag_revisions',
    help: 'Revisions an agent is behind the service',
    labelNames: ['agent'],
    registers: [registry],
    collect() {
      this.reset();
      for (const a of store.agents()) this.set({ agent: a.id }, a.appliedEpoch === store.epoch ? store.revision - a.appliedRevision : store.revision);
    },
  });

  /** Wraps a unary handler: typed errors become gRPC statuses with the ippc code trailer. */
  function unary<Req, Res>(method: string, fn: (req: Req) => Res | Promise<Res>) {
    return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
      Promise.resolve()
        .then(() => fn(call.request))
        .then(
          (res) => {
            requests.inc({ method, code: 'OK' });
            callback(null, res);
          },
          (err: unknown) => {
            const se = toServiceError(err);
            requests.inc({ method, code: String((err as { code?: string }).code ?? 'INTERNAL') });
            if (!(err as { code?: string }).code?.startsWith('ISOLATION_')) log.warn({ err, method }, 'request failed');
            callback(se as never, null);
          },
        );
    };
  }

  const change = (r: ChangeResult): pb.ChangeResponse => ({ epoch: r.epoch, revision: r.revision, changed: r.changed });
  const countChanges = (d: Delta) => {
    for (const c of d.changes) changes.inc({ kind: c.kind });
  };
  store.watch(countChanges);

  const openStreams = new Set<ServerWritableStream<pb.WatchRequest, pb.WatchEvent>>();

  const implementation: pb.IsolationServer = {
    registerAgent: unary('RegisterAgent', (req: pb.RegisterAgentRequest) => change(store.registerAgent({ id: req.id, nodeAddresses: req.nodeAddresses, subnets: req.subnets }))),
    deregisterAgent: unary('DeregisterAgent', (req: pb.DeregisterAgentRequest) => change(store.deregisterAgent(req.id ?? ''))),
    syncMembers: unary('SyncMembers', (req: pb.SyncMembersRequest) => change(store.syncMembers(req.agentId ?? '', req.members.map(memberFromPb)))),
    attach: unary('Attach', (req: pb.AttachRequest) => {
      if (!req.member) throw badRequest('attach needs a member');
      return change(store.attach(memberFromPb(req.member)));
    }),
    detach: unary('Detach', (req: pb.DetachRequest) => change(store.detach(keyFromPb(req.key)))),
    reportApplied: unary('ReportApplied', (req: pb.ReportAppliedRequest) => {
      store.reportApplied(req.agentId ?? '', req.epoch ?? '', req.revision ?? 0, req.error || undefined);
      return {};
    }),
    addRule: unary('AddRule', async (req: pb.AddRuleRequest) => {
      const r = req.rule;
      if (!r) throw badRequest('add rule needs a rule');
      const res = store.addRule({
        id: r.id || undefined,
        action: actionFromPb(r.action),
        from: r.from ?? '',
        to: r.to ?? '',
        protocol: r.protocol === undefined || r.protocol === pb.Protocol.PROTOCOL_ANY ? (r.ports.length > 0 ? undefined : 'any') : protocolFromPb(r.protocol),
        ports: r.ports.map((p) => ({ first: p.first ?? 0, last: p.last || p.first || 0 })),
        description: r.description,
      });
      // Operator changes are durable before they are acknowledged.
      await store.flush();
      return { rule: ruleToPb(res.rule), epoch: res.epoch, revision: res.revision, changed: res.changed };
    }),
    removeRule: unary('RemoveRule', async (req: pb.RemoveRuleRequest) => {
      const res = store.removeRule(req.id ?? '');
      await store.flush();
      return change(res);
    }),
    listRules: unary('ListRules', () => ({ rules: store.rules().map(ruleToPb) })),
    listGroups: unary('ListGroups', () => ({ groups: store.groups().map(groupToPb) })),
    listMembers: unary('ListMembers', (req: pb.ListMembersRequest) => ({ members: store.members({ agentId: req.agentId || undefined, group: req.group || undefined }).map(memberToPb) })),
    listAgents: unary('ListAgents', () => ({ agents: store.agents().map(agentToPb), revision: store.revision, epoch: store.epoch })),
    listRoutes: unary('ListRoutes', (req: pb.ListRoutesRequest) => ({ routes: store.routes(req.agentId || undefined).map(routeToPb) })),
    getState: unary('GetState', () => snapshotToPb(store.snapshot())),
    awaitApplied: unary('AwaitApplied', async (req: pb.AwaitAppliedRequest) => awaitToPb(await store.awaitApplied(req.revision ?? 0, Math.min(req.timeoutMs ?? 0, maxAwaitMs)))),
    checkAddresses: unary('CheckAddresses', (req: pb.CheckAddressesRequest) => {
      if (req.addresses.length === 0) throw badRequest('check addresses needs at least one address');
      return { addresses: store.checkAddresses(req.addresses).map(addressStatusToPb), revision: store.revision, epoch: store.epoch };
    }),
    watch: (call: ServerWritableStream<pb.WatchRequest, pb.WatchEvent>) => {
      const agentId = call.request.agentId ?? '';
      requests.inc({ method: 'Watch', code: 'OK' });
      let closed = false;
      const { snapshot, unsubscribe } = store.watch((delta) => {
        if (closed) return;
        if (call.writableLength > maxBacklog) {
          log.warn({ agentId, backlog: call.writableLength }, 'watch stream too slow; dropping it (the agent resyncs)');
          stop();
          // grpc-js turns an 'error' on a server stream into the call's status.
          call.emit('error', Object.assign(new Error('watch backlog too large: reconnect for a new snapshot'), { code: status.RESOURCE_EXHAUSTED }));
          return;
        }
        call.write({ event: { $case: 'delta', value: deltaToPb(delta) } });
      });
      const stop = () => {
        if (closed) return;
        closed = true;
        unsubscribe();
        openStreams.delete(call);
        if (agentId) store.setConnected(agentId, -1);
      };
      openStreams.add(call);
      if (agentId) store.setConnected(agentId, 1);
      call.write({ event: { $case: 'snapshot', value: snapshotToPb(snapshot) } });
      call.on('cancelled', stop);
      call.on('close', stop);
      call.on('error', stop);
    },
  };

  const grpc = createGrpcServer({ auth: options.auth, healthServices: [ISOLATION_SERVICE_NAME] });
  grpc.server.addService(pb.IsolationService, implementation);

  return {
    store,
    metrics: registry,
    grpc,
    async listen(address) {
      const port = await grpc.listen(address);
      grpc.setHealth(ISOLATION_SERVICE_NAME, 'SERVING');
      log.info({ address, port, epoch: store.epoch, revision: store.revision }, 'isolation service listening');
      return port;
    },
    async close() {
      grpc.setHealth(ISOLATION_SERVICE_NAME, 'NOT_SERVING');
      for (const call of [...openStreams]) call.end();
      await grpc.close(1_000);
      await store.close();
    },
  };
}
