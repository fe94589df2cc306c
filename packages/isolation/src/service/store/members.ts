import { IsolationError, badRequest } from '../../errors.js';
import { memberKeyString, normalizeMember, validateAgentId, type Change, type Member, type MemberKey } from '../../model.js';
import { requireAgent } from './agents.js';
import { commit } from './commit.js';
import { keyOf, unchanged, type StoreState } from './state.js';
import type { ChangeResult } from './store.js';

// Members: container interfaces attached and detached one by one, or an agent's whole list
// replaced at once; an address belongs to one member at a time.

const sameMember = (a: Member, b: Member): boolean =>
  a.network === b.network && a.addresses.join() === b.addresses.join() && a.groups.join('\u0000') === b.groups.join('\u0000');

/** Throws when an address of `m` is held by a member other than those in `replacing`. */
const checkAddresses = (s: StoreState, m: Member, replacing: Set<string>): void => {
  for (const addr of m.addresses) {
    const holder = s.holders.get(addr);
    if (holder && holder !== memberKeyString(m) && !replacing.has(holder)) {
      throw new IsolationError(
        'ISOLATION_ADDRESS_IN_USE',
        `address ${addr} is still attached to ${holder}: detach that container first (or deregister its agent if it is gone)`,
        { details: { address: addr, holder } },
      );
    }
  }
};

export function syncMembers(s: StoreState, agentId: string, list: Partial<Member>[]): ChangeResult {
  requireAgent(s, agentId);
  const wanted = new Map<string, Member>();
  for (const raw of list) {
    const m = normalizeMember({ ...raw, agentId });
    const key = memberKeyString(m);
    if (wanted.has(key)) throw badRequest(`member ${key} is listed twice`);
    wanted.set(key, m);
  }
  const mine = new Set([...s.members.values()].filter((m) => m.agentId === agentId).map(memberKeyString));
  const seen = new Map<string, string>();
  for (const m of wanted.values()) {
    checkAddresses(s, m, mine);
    for (const addr of m.addresses) {
      const other = seen.get(addr);
      if (other)
        throw new IsolationError('ISOLATION_ADDRESS_IN_USE', `address ${addr} is listed for both ${other} and ${memberKeyString(m)}`, {
          details: { address: addr },
        });
      seen.set(addr, memberKeyString(m));
    }
  }
  const changes: Change[] = [];
  for (const key of mine) if (!wanted.has(key)) changes.push({ kind: 'member-removed', key: keyOf(s.members.get(key)!) });
  for (const [key, m] of wanted) {
    const old = s.members.get(key);
    if (!old || !sameMember(old, m)) changes.push({ kind: 'member-upserted', member: old ? { ...m, attachedAtMs: old.attachedAtMs } : m });
  }
  // Removals first: an address may move between two members of this agent.
  return commit(s, changes);
}

export function attach(s: StoreState, input: Partial<Member>): ChangeResult {
  const m = normalizeMember(input);
  requireAgent(s, m.agentId);
  checkAddresses(s, m, new Set());
  const old = s.members.get(memberKeyString(m));
  if (old && sameMember(old, m)) return unchanged(s);
  return commit(s, [{ kind: 'member-upserted', member: old ? { ...m, attachedAtMs: old.attachedAtMs } : m }]);
}

export function detach(s: StoreState, input: Partial<MemberKey>): ChangeResult {
  const key = { agentId: validateAgentId(input.agentId), containerId: input.containerId ?? '', ifName: input.ifName || 'eth0' };
  if (!key.containerId) throw badRequest('detach needs a container id');
  if (!s.members.has(memberKeyString(key))) return unchanged(s);
  return commit(s, [{ kind: 'member-removed', key }]);
}
