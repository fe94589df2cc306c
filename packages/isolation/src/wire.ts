import { isolationv1 as pb } from '@ippc/proto';
import type { AddressStatus, AwaitResult, GroupView } from './service/store/store.js';
import type { AgentInfo, Change, Delta, Member, MemberKey, PolicyState, RouteSpec, Rule, RuleAction, RuleProtocol } from './model.js';

// Conversions between the domain model and the generated proto3 types. ts-proto leaves every
// scalar optional (see packages/proto/README.md), so readers apply proto3 defaults here, once.

const ACTION_TO: Record<RuleAction, pb.Action> = { allow: pb.Action.ACTION_ALLOW, deny: pb.Action.ACTION_DENY };
const PROTOCOL_TO: Record<RuleProtocol, pb.Protocol> = {
  any: pb.Protocol.PROTOCOL_ANY,
  tcp: pb.Protocol.PROTOCOL_TCP,
  udp: pb.Protocol.PROTOCOL_UDP,
  sctp: pb.Protocol.PROTOCOL_SCTP,
};

export function actionFromPb(a: pb.Action | undefined): RuleAction {
  return a === pb.Action.ACTION_DENY ? 'deny' : 'allow';
}

export function protocolFromPb(p: pb.Protocol | undefined): RuleProtocol {
  switch (p) {
    case pb.Protocol.PROTOCOL_TCP:
      return 'tcp';
    case pb.Protocol.PROTOCOL_UDP:
      return 'udp';
    case pb.Protocol.PROTOCOL_SCTP:
      return 'sctp';
    default:
      return 'any';
  }
}

export function agentToPb(a: AgentInfo): pb.Agent {
  return { ...a };
}

export function agentFromPb(a: pb.Agent): AgentInfo {
  return {
    id: a.id ?? '',
    nodeAddresses: [...a.nodeAddresses],
    subnets: [...a.subnets],
    appliedRevision: a.appliedRevision ?? 0,
    appliedEpoch: a.appliedEpoch ?? '',
    connected: a.connected ?? false,
    lastError: a.lastError ?? '',
    lastSeenMs: a.lastSeenMs ?? 0,
  };
}

export function memberToPb(m: Member): pb.Member {
  return { ...m, addresses: [...m.addresses], groups: [...m.groups] };
}

export function memberFromPb(m: pb.Member): Member {
  return {
    agentId: m.agentId ?? '',
    containerId: m.containerId ?? '',
    ifName: m.ifName ?? '',
    network: m.network ?? '',
    addresses: [...m.addresses],
    groups: [...m.groups],
    attachedAtMs: m.attachedAtMs ?? 0,
  };
}

export function keyToPb(k: MemberKey): pb.MemberKey {
  return { agentId: k.agentId, containerId: k.containerId, ifName: k.ifName };
}

export function keyFromPb(k: pb.MemberKey | undefined): MemberKey {
  return { agentId: k?.agentId ?? '', containerId: k?.containerId ?? '', ifName: k?.ifName ?? '' };
}

export function ruleToPb(r: Rule): pb.Rule {
  return {
    id: r.id,
    action: ACTION_TO[r.action],
    from: r.from,
    to: r.to,
    protocol: PROTOCOL_TO[r.protocol],
    ports: r.ports.map((p) => ({ first: p.first, last: p.last })),
    description: r.description,
  };
}

export function ruleFromPb(r: pb.Rule): Rule {
  return {
    id: r.id ?? '',
    action: actionFromPb(r.action),
    from: r.from ?? '',
    to: r.to ?? '',
    protocol: protocolFromPb(r.protocol),
    ports: r.ports.map((p) => ({ first: p.first ?? 0, last: p.last || p.first || 0 })),
    description: r.description ?? '',
  };
}

export function snapshotToPb(s: PolicyState): pb.Snapshot {
  return { epoch: s.epoch, revision: s.revision, agents: s.agents.map(agentToPb), members: s.members.map(memberToPb), rules: s.rules.map(ruleToPb) };
}

export function snapshotFromPb(s: pb.Snapshot): PolicyState {
  return {
    epoch: s.epoch ?? '',
    revision: s.revision ?? 0,
    agents: s.agents.map(agentFromPb),
    members: s.members.map(memberFromPb),
    rules: s.rules.map(ruleFromPb),
  };
}

export function changeToPb(c: Change): pb.Change {
  switch (c.kind) {
    case 'agent-upserted':
      return { change: { $case: 'agentUpserted', value: agentToPb(c.agent) } };
    case 'agent-removed':
      return { change: { $case: 'agentRemoved', value: c.id } };
    case 'member-upserted':
      return { change: { $case: 'memberUpserted', value: memberToPb(c.member) } };
    case 'member-removed':
      return { change: { $case: 'memberRemoved', value: keyToPb(c.key) } };
    case 'rule-upserted':
      return { change: { $case: 'ruleUpserted', value: ruleToPb(c.rule) } };
    case 'rule-removed':
      return { change: { $case: 'ruleRemoved', value: c.id } };
  }
}

export function changeFromPb(c: pb.Change): Change | undefined {
  const ch = c.change;
  switch (ch?.$case) {
    case 'agentUpserted':
      return { kind: 'agent-upserted', agent: agentFromPb(ch.value) };
    case 'agentRemoved':
      return { kind: 'agent-removed', id: ch.value };
    case 'memberUpserted':
      return { kind: 'member-upserted', member: memberFromPb(ch.value) };
    case 'memberRemoved':
      return { kind: 'member-removed', key: keyFromPb(ch.value) };
    case 'ruleUpserted':
      return { kind: 'rule-upserted', rule: ruleFromPb(ch.value) };
    case 'ruleRemoved':
      return { kind: 'rule-removed', id: ch.value };
    default:
      // A change kind from a newer service: the caller resyncs from a snapshot.
      return undefined;
  }
}

export function deltaToPb(d: Delta): pb.Delta {
  return { epoch: d.epoch, revision: d.revision, changes: d.changes.map(changeToPb) };
}

export function routeToPb(r: RouteSpec): pb.Route {
  return { ...r };
}

export function routeFromPb(r: pb.Route): RouteSpec {
  return { agentId: r.agentId ?? '', destination: r.destination ?? '', via: r.via ?? '', owner: r.owner ?? '' };
}

const STATE_TO: Record<AddressStatus['state'], pb.AddressState> = {
  clear: pb.AddressState.ADDRESS_STATE_CLEAR,
  'in-use': pb.AddressState.ADDRESS_STATE_IN_USE,
  draining: pb.AddressState.ADDRESS_STATE_DRAINING,
};

export function addressStatusToPb(a: AddressStatus): pb.AddressStatus {
  return {
    address: a.address,
    state: STATE_TO[a.state],
    holders: a.holders.map(keyToPb),
    pendingAgents: a.pendingAgents,
    releasedRevision: a.releasedRevision,
  };
}

export function addressStatusFromPb(a: pb.AddressStatus): AddressStatus {
  const state = a.state === pb.AddressState.ADDRESS_STATE_IN_USE ? 'in-use' : a.state === pb.AddressState.ADDRESS_STATE_DRAINING ? 'draining' : 'clear';
  return { address: a.address ?? '', state, holders: a.holders.map(keyFromPb), pendingAgents: [...a.pendingAgents], releasedRevision: a.releasedRevision ?? 0 };
}

export function groupToPb(g: GroupView): pb.Group {
  return { name: g.name, members: g.members.map(memberToPb), ruleIds: g.ruleIds };
}

export function groupFromPb(g: pb.Group): GroupView {
  return { name: g.name ?? '', members: g.members.map(memberFromPb), ruleIds: [...g.ruleIds] };
}

export function awaitToPb(r: AwaitResult): pb.AwaitAppliedResponse {
  return { allApplied: r.allApplied, revision: r.revision, agents: r.agents.map((a) => ({ ...a })) };
}

export function awaitFromPb(r: pb.AwaitAppliedResponse): AwaitResult {
  return {
    allApplied: r.allApplied ?? false,
    revision: r.revision ?? 0,
    agents: r.agents.map((a) => ({
      agentId: a.agentId ?? '',
      appliedRevision: a.appliedRevision ?? 0,
      applied: a.applied ?? false,
      latencyMs: a.latencyMs ?? 0,
    })),
  };
}
