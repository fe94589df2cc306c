import { createHash } from 'node:crypto';
import type { IpFamily } from '@ippc/core';
import { ANY, PUBLIC_GROUP, type PolicyState, type Rule } from '../model.js';
import { groupsOf } from '../policy.js';

// Compiles the policy for one agent into one nftables table (family inet) of ippc's own:
//
//   set m_<g>_v4/_v6   every member of group g on any agent       (sources)
//   set l_<g>_v4/_v6   members of g on this agent                 (destinations)
//   set local_v4/_v6   isolated members on this agent
//   chain forward      hook forward: established/related accept; to a local isolated member -> ingress
//   chain ingress      deny rules, public, same group, allow rules, then drop
//
// A container that comes or goes changes set elements only; rules exist per group and per
// operator rule, never per container. Traffic the agent itself sends never crosses the forward
// hook, which is how "a member's own agent always reaches it" holds without a rule. Bridged
// traffic between containers on one bridge crosses it through br_netfilter (checked by the
// enforcer).

export interface NftSet {
  name: string;
  family: IpFamily;
  comment: string;
  /** Sorted canonical addresses. */
  elements: string[];
}

export interface CompiledRuleset {
  table: string;
  /** By name, in a stable order. */
  sets: Map<string, NftSet>;
  /** The ingress chain's rule lines, in order. */
  ingress: string[];
}

/** nft identifiers: a group name is used as is when it is a plain word, else hashed. */
export function groupSlug(group: string): string {
  if (/^[A-Za-z0-9_]{1,32}$/.test(group)) return group;
  return `x${createHash('sha256').update(group).digest('hex').slice(0, 16)}`;
}

function setName(prefix: 'm' | 'l', group: string, family: IpFamily): string {
  return `${prefix}_${groupSlug(group)}_v${family}`;
}

/** Text safe inside an nft double-quoted comment. */
function comment(text: string): string {
  return text.replace(/["\\\n\r]/g, "'").slice(0, 120);
}

const FAMILIES: IpFamily[] = [4, 6];
const L3: Record<IpFamily, string> = { 4: 'ip', 6: 'ip6' };

function ruleLines(rule: Rule, family: IpFamily, verdict: 'accept' | 'drop'): string[] {
  const parts: string[] = [];
  if (rule.from !== ANY) parts.push(`${L3[family]} saddr @${setName('m', rule.from, family)}`);
  parts.push(`${L3[family]} daddr @${rule.to === ANY ? `local_v${family}` : setName('l', rule.to, family)}`);
  if (rule.protocol !== 'any') {
    if (rule.ports.length === 0) parts.push(`meta l4proto ${rule.protocol}`);
    else parts.push(`${rule.protocol} dport { ${rule.ports.map((p) => (p.first === p.last ? `${p.first}` : `${p.first}-${p.last}`)).join(', ')} }`);
  }
  return [`${parts.join(' ')} counter ${verdict} comment "rule ${comment(rule.id)}"`];
}

/** The table `agentId` needs for `state`. */
export function compileRuleset(state: Pick<PolicyState, 'members' | 'rules'>, agentId: string, table: string): CompiledRuleset {
  const groups = groupsOf(state);
  const sets = new Map<string, NftSet>();
  const add = (name: string, family: IpFamily, text: string) => sets.set(name, { name, family, comment: comment(text), elements: [] });
  for (const f of FAMILIES) add(`local_v${f}`, f, 'isolated members on this agent');
  for (const g of groups) {
    for (const f of FAMILIES) {
      add(setName('m', g, f), f, `members of group ${g}`);
      add(setName('l', g, f), f, `members of group ${g} on this agent`);
    }
  }
  // Runs on every membership change (the enforcer diffs two compiled rulesets), so the loop below
  // avoids per-element parsing: members hold canonical addresses, where a ':' means IPv6.
  const byGroup = new Map(
    groups.map((g) => [
      g,
      { m: [sets.get(setName('m', g, 4))!, sets.get(setName('m', g, 6))!], l: [sets.get(setName('l', g, 4))!, sets.get(setName('l', g, 6))!] },
    ]),
  );
  const localSets = [sets.get('local_v4')!, sets.get('local_v6')!];
  for (const m of state.members) {
    if (m.groups.length === 0) continue;
    const local = m.agentId === agentId;
    for (const addr of m.addresses) {
      const v6 = addr.includes(':') ? 1 : 0;
      for (const g of m.groups) {
        const gs = byGroup.get(g)!;
        gs.m[v6]!.elements.push(addr);
        if (local) gs.l[v6]!.elements.push(addr);
      }
      if (local) localSets[v6]!.elements.push(addr);
    }
  }
  for (const s of sets.values()) s.elements = [...new Set(s.elements)].sort();

  const ingress: string[] = [];
  for (const f of FAMILIES) for (const r of state.rules) if (r.action === 'deny') ingress.push(...ruleLines(r, f, 'drop'));
  if (groups.includes(PUBLIC_GROUP))
    for (const f of FAMILIES) ingress.push(`${L3[f]} daddr @${setName('l', PUBLIC_GROUP, f)} counter accept comment "public group"`);
  for (const g of groups) {
    for (const f of FAMILIES)
      ingress.push(`${L3[f]} saddr @${setName('m', g, f)} ${L3[f]} daddr @${setName('l', g, f)} counter accept comment "group ${comment(g)}"`);
  }
  for (const f of FAMILIES) for (const r of state.rules) if (r.action === 'allow') ingress.push(...ruleLines(r, f, 'accept'));
  ingress.push('counter drop comment "isolated: no rule admits this source"');
  return { table, sets, ingress };
}

function renderSet(s: NftSet): string {
  const type = s.family === 4 ? 'ipv4_addr' : 'ipv6_addr';
  const elements = s.elements.length > 0 ? ` elements = { ${s.elements.join(', ')} };` : '';
  return `  set ${s.name} { type ${type}; comment "${s.comment}";${elements} }`;
}

/**
 * An nft script that replaces the whole table atomically (one transaction: create if missing,
 * delete, define again), so a rebuild never opens a window without rules.
 */
export function renderFull(rs: CompiledRuleset): string {
  return [
    `add table inet ${rs.table}`,
    `delete table inet ${rs.table}`,
    `table inet ${rs.table} {`,
    ...[...rs.sets.values()].map(renderSet),
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    '    ct state established,related accept',
    '    ip daddr @local_v4 jump ingress',
    '    ip6 daddr @local_v6 jump ingress',
    '  }',
    '  chain ingress {',
    ...rs.ingress.map((l) => `    ${l}`),
    '  }',
    '}',
    '',
  ].join('\n');
}

/**
 * renderFull as ONE line (statements joined by `; `, a block's first statement after its `{`), the
 * form the long-running nft session takes a transaction in. nft parses both the same way.
 */
export function renderFullLine(rs: CompiledRuleset): string {
  let out = '';
  for (const raw of renderFull(rs).split('\n')) {
    const l = raw.trim();
    if (l === '') continue;
    out = out === '' ? l : out.endsWith('{') ? `${out} ${l}` : `${out}; ${l}`;
  }
  return out;
}

/**
 * The smallest change from `prev` to `next`: element adds and deletes when only membership
 * changed (`''` when nothing did), or undefined when sets or rules changed (then use renderFull).
 */
export function renderDelta(prev: CompiledRuleset, next: CompiledRuleset): string | undefined {
  if (prev.table !== next.table) return undefined;
  if (prev.ingress.length !== next.ingress.length || prev.ingress.some((l, i) => l !== next.ingress[i])) return undefined;
  if (prev.sets.size !== next.sets.size) return undefined;
  const lines: string[] = [];
  for (const [name, n] of next.sets) {
    const p = prev.sets.get(name);
    if (!p || p.family !== n.family) return undefined;
    const before = new Set(p.elements);
    const after = new Set(n.elements);
    const removed = p.elements.filter((e) => !after.has(e));
    const added = n.elements.filter((e) => !before.has(e));
    if (removed.length > 0) lines.push(`delete element inet ${next.table} ${name} { ${removed.join(', ')} }`);
    if (added.length > 0) lines.push(`add element inet ${next.table} ${name} { ${added.join(', ')} }`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
