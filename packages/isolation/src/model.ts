import { createHash } from 'node:crypto';
import { badRequest } from './errors.js';
import { canonicalAddress, parseAddress, parseCidr, stripPrefix } from './ip.js';

// The domain model of the isolation provider, independent of the wire. Every value here is
// validated and canonical (addresses in canonical text, groups sorted and unique), so two equal
// states compare equal and the enforcer can diff them.

/** The group whose members accept traffic from anyone. */
export const PUBLIC_GROUP = 'public';
/** In a rule: any source (from) or every isolated member (to). */
export const ANY = '*';

export interface AgentSpec {
  id: string;
  /** Addresses on the cluster network, one per family: the next hop for this agent's subnets. */
  nodeAddresses: string[];
  /** Container subnets (canonical CIDR) on this agent. */
  subnets: string[];
}

export interface AgentInfo extends AgentSpec {
  /** Last revision the agent's enforcer applied (0: none yet), within `appliedEpoch`. */
  appliedRevision: number;
  appliedEpoch: string;
  /** A watch stream of this agent is open. */
  connected: boolean;
  /** The enforcer's last error ('' when it applied cleanly). */
  lastError: string;
  lastSeenMs: number;
}

export interface MemberKey {
  agentId: string;
  /** CNI_CONTAINERID. */
  containerId: string;
  /** CNI_IFNAME. */
  ifName: string;
}

export interface Member extends MemberKey {
  /** CNI network name. */
  network: string;
  /** Canonical addresses, no prefix length. */
  addresses: string[];
  /** `NetworkInfo.groups`, sorted, unique. Empty: not isolated. */
  groups: string[];
  attachedAtMs: number;
}

export type RuleAction = 'allow' | 'deny';
export type RuleProtocol = 'any' | 'tcp' | 'udp' | 'sctp';

export interface PortRange {
  first: number;
  /** Equal to `first` for a single port. */
  last: number;
}

export interface Rule {
  id: string;
  action: RuleAction;
  /** Source group or `*`. */
  from: string;
  /** Destination group or `*`. */
  to: string;
  protocol: RuleProtocol;
  /** Empty: every port. */
  ports: PortRange[];
  description: string;
}

/** A rule as an operator writes it: id, action, protocol and ports may be left out. */
export interface RuleInput {
  id?: string;
  action?: RuleAction;
  from: string;
  to: string;
  protocol?: RuleProtocol;
  ports?: (PortRange | number | string)[];
  description?: string;
}

export interface PolicyState {
  epoch: string;
  revision: number;
  agents: AgentInfo[];
  members: Member[];
  rules: Rule[];
}

export type Change =
  | { kind: 'agent-upserted'; agent: AgentInfo }
  | { kind: 'agent-removed'; id: string }
  | { kind: 'member-upserted'; member: Member }
  | { kind: 'member-removed'; key: MemberKey }
  | { kind: 'rule-upserted'; rule: Rule }
  | { kind: 'rule-removed'; id: string };

export interface Delta {
  epoch: string;
  revision: number;
  changes: Change[];
}

/** A route one agent installs to reach another agent's container subnet. */
export interface RouteSpec {
  /** The agent that installs it. */
  agentId: string;
  destination: string;
  via: string;
  /** The agent that owns `destination`. */
  owner: string;
}

// Validation -------------------------------------------------------------------------------------

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,252}$/;
// CNI's own rule for CNI_CONTAINERID, and Linux's for interface names.
const CONTAINER_ID_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const IFNAME_RE = /^[^\s/:]{1,15}$/;

export function memberKeyString(key: MemberKey): string {
  return `${key.agentId}/${key.containerId}/${key.ifName}`;
}

export function validateAgentId(id: string | undefined): string {
  if (!id || !ID_RE.test(id)) throw badRequest(`agent id '${id ?? ''}' is not valid: use letters, digits and _.:@- (up to 253 characters)`, { agentId: id });
  return id;
}

/** A group name: any non-empty text up to 128 characters without control characters; `*` is reserved. */
export function validateGroup(group: string): string {
  if (typeof group !== 'string' || group.length === 0 || group.length > 128 || /[\u0000-\u001f\u007f]/.test(group)) {
    throw badRequest(`group '${String(group)}' is not valid: use 1 to 128 printable characters`, { group });
  }
  if (group === ANY) throw badRequest(`'*' is not a group name: it means "any" in rules only`, { group });
  return group;
}

export function normalizeGroups(groups: readonly string[] | undefined): string[] {
  return [...new Set((groups ?? []).map(validateGroup))].sort();
}

export function normalizeAgent(spec: { id?: string; nodeAddresses?: readonly string[]; subnets?: readonly string[] }): AgentSpec {
  const id = validateAgentId(spec.id);
  const nodeAddresses = [...new Set((spec.nodeAddresses ?? []).map((a) => canonicalAddress(a)))];
  if (nodeAddresses.length === 0) throw badRequest(`agent '${id}' needs a node address (its address on the cluster network)`, { agentId: id });
  const families = nodeAddresses.map((a) => parseAddress(a).family);
  if (new Set(families).size !== families.length) throw badRequest(`agent '${id}': give at most one node address per family`, { nodeAddresses });
  const subnets = [...new Set((spec.subnets ?? []).map((s) => parseCidr(s).text))].sort();
  for (const s of subnets) {
    const fam = parseCidr(s).family;
    if (!families.includes(fam))
      throw badRequest(`agent '${id}': subnet ${s} is IPv${fam} but the agent has no IPv${fam} node address to route it through`, { subnet: s });
  }
  return { id, nodeAddresses, subnets };
}

export function normalizeMember(input: {
  agentId?: string;
  containerId?: string;
  ifName?: string;
  network?: string;
  addresses?: readonly string[];
  groups?: readonly string[];
  attachedAtMs?: number;
}): Member {
  const agentId = validateAgentId(input.agentId);
  if (!input.containerId || !CONTAINER_ID_RE.test(input.containerId)) {
    throw badRequest(`container id '${input.containerId ?? ''}' is not valid: CNI allows letters, digits, '_', '.' and '-' (starting with a letter or digit)`, {
      containerId: input.containerId,
    });
  }
  const ifName = input.ifName || 'eth0';
  if (!IFNAME_RE.test(ifName)) throw badRequest(`interface name '${ifName}' is not valid: 1 to 15 characters, no spaces, '/' or ':'`, { ifName });
  const addresses = [...new Set((input.addresses ?? []).map((a) => stripPrefix(a)))].sort();
  if (addresses.length === 0)
    throw badRequest(`member ${input.containerId}/${ifName} has no address: attach needs the container's addresses`, { containerId: input.containerId });
  return {
    agentId,
    containerId: input.containerId,
    ifName,
    network: input.network ?? '',
    addresses,
    groups: normalizeGroups(input.groups),
    attachedAtMs: input.attachedAtMs ?? Date.now(),
  };
}

const PROTOCOLS: RuleProtocol[] = ['any', 'tcp', 'udp', 'sctp'];

/** Parses `80`, `8000-8080`, `53/udp` (the protocol part is returned separately). */
export function parsePort(input: PortRange | number | string): { range: PortRange; protocol?: RuleProtocol } {
  if (typeof input === 'object') return { range: checkRange(input.first, input.last || input.first, `${input.first}-${input.last}`) };
  if (typeof input === 'number') return { range: checkRange(input, input, String(input)) };
  const m = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp|sctp))?$/i.exec(input.trim());
  if (!m?.[1]) throw badRequest(`port '${input}' is not valid: write 80, 8000-8080 or 53/udp`, { port: input });
  const first = Number(m[1]);
  return {
    range: checkRange(first, m[2] ? Number(m[2]) : first, input),
    protocol: m[3] ? (m[3].toLowerCase() as RuleProtocol) : undefined,
  };
}

function checkRange(first: number, last: number, text: string): PortRange {
  if (!Number.isInteger(first) || !Number.isInteger(last) || first < 1 || last > 65535 || last < first) {
    throw badRequest(`port range '${text}' is not valid: ports are 1 to 65535, first <= last`, { port: text });
  }
  return { first, last };
}

/** The id a rule gets when none is given: a hash of what it says, so adding it twice is a no-op. */
export function ruleContentId(rule: Omit<Rule, 'id' | 'description'>): string {
  const canonical = JSON.stringify([rule.action, rule.from, rule.to, rule.protocol, rule.ports.map((p) => [p.first, p.last])]);
  return `r-${createHash('sha256').update(canonical).digest('hex').slice(0, 10)}`;
}

export function normalizeRule(input: RuleInput): Rule {
  const action = input.action ?? 'allow';
  if (action !== 'allow' && action !== 'deny') throw badRequest(`rule action '${String(action)}' is not valid: allow or deny`);
  const from = input.from === ANY ? ANY : validateGroup(input.from);
  const to = input.to === ANY ? ANY : validateGroup(input.to);
  let protocol: RuleProtocol | undefined = input.protocol;
  if (protocol !== undefined && !PROTOCOLS.includes(protocol)) throw badRequest(`protocol '${String(protocol)}' is not valid: tcp, udp, sctp or any`);
  const ranges: PortRange[] = [];
  for (const p of input.ports ?? []) {
    const parsed = parsePort(p);
    if (parsed.protocol) {
      if (protocol && protocol !== 'any' && protocol !== parsed.protocol)
        throw badRequest(`port '${String(p)}' says ${parsed.protocol} but the rule says ${protocol}: one protocol per rule`);
      protocol = parsed.protocol;
    }
    ranges.push(parsed.range);
  }
  protocol ??= ranges.length > 0 ? 'tcp' : 'any';
  if (ranges.length > 0 && protocol === 'any') throw badRequest('ports need a protocol: tcp, udp or sctp');
  // Sorted and merged, so the same set of ports is the same rule.
  ranges.sort((a, b) => a.first - b.first);
  const ports: PortRange[] = [];
  for (const r of ranges) {
    const last = ports[ports.length - 1];
    if (last && r.first <= last.last + 1) last.last = Math.max(last.last, r.last);
    else ports.push({ ...r });
  }
  const body = { action, from, to, protocol, ports };
  const id = input.id || ruleContentId(body);
  if (!ID_RE.test(id)) throw badRequest(`rule id '${id}' is not valid: use letters, digits and _.:@-`);
  return { id, ...body, description: input.description ?? '' };
}

export function sameRule(a: Rule, b: Rule): boolean {
  return ruleContentId(a) === ruleContentId(b) && a.id === b.id && a.description === b.description;
}

export function describeRule(rule: Rule): string {
  const ports = rule.ports.map((p) => (p.first === p.last ? `${p.first}` : `${p.first}-${p.last}`)).join(',');
  const traffic = rule.protocol === 'any' ? 'any traffic' : `${rule.protocol}${ports ? `/${ports}` : ''}`;
  return `${rule.action} ${rule.from} -> ${rule.to} ${traffic}`;
}
