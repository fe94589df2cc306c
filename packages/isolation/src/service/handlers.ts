import type { ServerUnaryCall, ServerWritableStream, sendUnaryData } from '@grpc/grpc-js';
import { toServiceError, type Logger } from '@ippc/core';
import { isolationv1 as pb } from '@ippc/proto';
import type { Counter } from 'prom-client';
import { badRequest } from '../errors.js';
import {
  actionFromPb,
  addressStatusToPb,
  agentToPb,
  awaitToPb,
  groupToPb,
  keyFromPb,
  memberFromPb,
  memberToPb,
  protocolFromPb,
  routeToPb,
  ruleToPb,
  snapshotToPb,
} from '../wire.js';
import type { ChangeResult, PolicyStore } from './store/store.js';
import { watch } from './watch.js';

// The gRPC methods of ippc.isolation.v1.Isolation over the policy store: requests decoded from the
// wire, the store called, results encoded; typed errors become gRPC statuses.

/** What the handlers share. */
export interface RpcContext {
  readonly store: PolicyStore;
  readonly log: Logger;
  /** gRPC requests by method and result code. */
  readonly requests: Counter<'method' | 'code'>;
  /** Bytes buffered for one watch stream before it is dropped. */
  readonly maxBacklog: number;
  /** Longest AwaitApplied wait a caller may ask for. */
  readonly maxAwaitMs: number;
  /** Watch streams open now (ended when the service closes). */
  readonly openStreams: Set<ServerWritableStream<pb.WatchRequest, pb.WatchEvent>>;
}

/** Wraps a unary handler: typed errors become gRPC statuses with the ippc code trailer. */
function unary<Req, Res>(ctx: RpcContext, method: string, fn: (req: Req) => Res | Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    Promise.resolve()
      .then(() => fn(call.request))
      .then(
        (res) => {
          ctx.requests.inc({ method, code: 'OK' });
          callback(null, res);
        },
        (err: unknown) => {
          const se = toServiceError(err);
          ctx.requests.inc({ method, code: String((err as { code?: string }).code ?? 'INTERNAL') });
          if (!(err as { code?: string }).code?.startsWith('ISOLATION_')) ctx.log.warn({ err, method }, 'request failed');
          callback(se as never, null);
        },
      );
  };
}

const change = (r: ChangeResult): pb.ChangeResponse => ({ epoch: r.epoch, revision: r.revision, changed: r.changed });

/** The service implementation for grpc-js. */
export function createIsolationHandlers(ctx: RpcContext): pb.IsolationServer {
  const { store } = ctx;
  return {
    registerAgent: unary(ctx, 'RegisterAgent', (req: pb.RegisterAgentRequest) =>
      change(store.registerAgent({ id: req.id, nodeAddresses: req.nodeAddresses, subnets: req.subnets })),
    ),
    deregisterAgent: unary(ctx, 'DeregisterAgent', (req: pb.DeregisterAgentRequest) => change(store.deregisterAgent(req.id ?? ''))),
    syncMembers: unary(ctx, 'SyncMembers', (req: pb.SyncMembersRequest) => change(store.syncMembers(req.agentId ?? '', req.members.map(memberFromPb)))),
    attach: unary(ctx, 'Attach', (req: pb.AttachRequest) => {
      if (!req.member) throw badRequest('attach needs a member');
      return change(store.attach(memberFromPb(req.member)));
    }),
    detach: unary(ctx, 'Detach', (req: pb.DetachRequest) => change(store.detach(keyFromPb(req.key)))),
    reportApplied: unary(ctx, 'ReportApplied', (req: pb.ReportAppliedRequest) => {
      store.reportApplied(req.agentId ?? '', req.epoch ?? '', req.revision ?? 0, req.error || undefined);
      return {};
    }),
    addRule: unary(ctx, 'AddRule', async (req: pb.AddRuleRequest) => {
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
    removeRule: unary(ctx, 'RemoveRule', async (req: pb.RemoveRuleRequest) => {
      const res = store.removeRule(req.id ?? '');
      await store.flush();
      return change(res);
    }),
    listRules: unary(ctx, 'ListRules', () => ({ rules: store.rules().map(ruleToPb) })),
    listGroups: unary(ctx, 'ListGroups', () => ({ groups: store.groups().map(groupToPb) })),
    listMembers: unary(ctx, 'ListMembers', (req: pb.ListMembersRequest) => ({
      members: store.members({ agentId: req.agentId || undefined, group: req.group || undefined }).map(memberToPb),
    })),
    listAgents: unary(ctx, 'ListAgents', () => ({ agents: store.agents().map(agentToPb), revision: store.revision, epoch: store.epoch })),
    listRoutes: unary(ctx, 'ListRoutes', (req: pb.ListRoutesRequest) => ({ routes: store.routes(req.agentId || undefined).map(routeToPb) })),
    getState: unary(ctx, 'GetState', () => snapshotToPb(store.snapshot())),
    awaitApplied: unary(ctx, 'AwaitApplied', async (req: pb.AwaitAppliedRequest) =>
      awaitToPb(await store.awaitApplied(req.revision ?? 0, Math.min(req.timeoutMs ?? 0, ctx.maxAwaitMs))),
    ),
    checkAddresses: unary(ctx, 'CheckAddresses', (req: pb.CheckAddressesRequest) => {
      if (req.addresses.length === 0) throw badRequest('check addresses needs at least one address');
      return { addresses: store.checkAddresses(req.addresses).map(addressStatusToPb), revision: store.revision, epoch: store.epoch };
    }),
    watch: (call: ServerWritableStream<pb.WatchRequest, pb.WatchEvent>) => watch(ctx, call),
  };
}
