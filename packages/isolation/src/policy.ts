import { parseAddress, parseCidr } from './ip.js';
import { ANY, PUBLIC_GROUP, type AgentSpec, type PolicyState, type RouteSpec, type Rule } from './model.js';

// The policy as a function: who may open a connection to whom. The enforcer compiles the same
// semantics to nftables; `ippc net check` uses this to compute the expected matrix.
//
// The model (cni-reference.md §4.5), for a new connection from `src` to `dst`:
//  1. Replies of allowed connections are always allowed (conntrack established/related).
//  2. A destination that is not an isolated member (a host, a host-network task, a container that
//     named no group) is untouched: everything reaches it.
//  3. A member's own agent (its host, and host-network tasks there) always reaches it.
//  4. DENY rules (first match) block; they beat everything below.
//  5. A member of `public` accepts anything; members of a shared group reach each other;
//     ALLOW rules admit more. Multi-group membership is the union.
//  6. Anything else to an isolated member is dropped. Egress is never filtered.

/** One side of a connection. */
export interface Peer {
  /** `member`: a container with its own address; `host`: an agent or a host-network task there. */
  kind: 'member' | 'host';
  /** The agent it runs on (a host: the agent itself). */
  agentId: string;
  /** Groups of a member; ignored for hosts. */
  groups: readonly string[];
}

export interface Traffic {
  protocol: 'tcp' | 'udp' | 'sctp';
  port: number;
}

export interface Verdict {
  allowed: boolean;
  /** Why, in words, for tables and logs. */
  reason: string;
  /** The rule that decided, if a rule did. */
  ruleId?: string;
}

function isolated(peer: Peer): boolean {
  return peer.kind === 'member' && peer.groups.length > 0;
}

function fromMatches(rule: Rule, src: Peer): boolean {
  return rule.from === ANY || (src.kind === 'member' && src.groups.includes(rule.from));
}

function toMatches(rule: Rule, dst: Peer): boolean {
  return rule.to === ANY || dst.groups.includes(rule.to);
}

function trafficMatches(rule: Rule, traffic: Traffic): boolean {
  if (rule.protocol !== 'any' && rule.protocol !== traffic.protocol) return false;
  return rule.ports.length === 0 || rule.ports.some((p) => traffic.port >= p.first && traffic.port <= p.last);
}

export function ruleMatches(rule: Rule, src: Peer, dst: Peer, traffic: Traffic): boolean {
  return fromMatches(rule, src) && toMatches(rule, dst) && trafficMatches(rule, traffic);
}

/** Decides whether `src` may open a connection to `dst` (see the model above). */
export function decide(rules: readonly Rule[], src: Peer, dst: Peer, traffic: Traffic): Verdict {
  if (!isolated(dst))
    return { allowed: true, reason: dst.kind === 'host' ? 'destination is a host (not isolated)' : 'destination named no group (not isolated)' };
  if (src.kind === 'host' && src.agentId === dst.agentId) return { allowed: true, reason: 'own agent' };
  const deny = rules.find((r) => r.action === 'deny' && ruleMatches(r, src, dst, traffic));
  if (deny) return { allowed: false, reason: `deny rule ${deny.id}`, ruleId: deny.id };
  if (dst.groups.includes(PUBLIC_GROUP)) return { allowed: true, reason: 'public group' };
  if (src.kind === 'member') {
    const shared = src.groups.find((g) => dst.groups.includes(g));
    if (shared !== undefined) return { allowed: true, reason: `shared group ${shared}` };
  }
  const allow = rules.find((r) => r.action === 'allow' && ruleMatches(r, src, dst, traffic));
  if (allow) return { allowed: true, reason: `allow rule ${allow.id}`, ruleId: allow.id };
  return {
    allowed: false,
    reason: `no rule admits ${src.kind === 'host' ? `host of ${src.agentId}` : `[${src.groups.join(',') || 'no group'}]`} -> [${dst.groups.join(',')}]`,
  };
}

/** Every group named by a member or a rule, sorted. */
export function groupsOf(state: Pick<PolicyState, 'members' | 'rules'>): string[] {
  const groups = new Set<string>();
  for (const m of state.members) for (const g of m.groups) groups.add(g);
  for (const r of state.rules) for (const g of [r.from, r.to]) if (g !== ANY) groups.add(g);
  return [...groups].sort();
}

/**
 * The routes `agentId` needs: every other agent's subnets via that agent's node address of the
 * same family. A subnet whose owner has no node address of its family is skipped (the service
 * refuses to register such an agent, so this only guards hand-built states).
 */
export function routesFor(agents: readonly AgentSpec[], agentId: string): RouteSpec[] {
  const routes: RouteSpec[] = [];
  for (const other of agents) {
    if (other.id === agentId) continue;
    for (const subnet of other.subnets) {
      const family = parseCidr(subnet).family;
      const via = other.nodeAddresses.find((a) => parseAddress(a).family === family);
      if (via) routes.push({ agentId, destination: subnet, via, owner: other.id });
    }
  }
  return routes.sort((a, b) => a.destination.localeCompare(b.destination));
}
