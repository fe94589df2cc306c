// The compiled ruleset and the enforcer's convergence logic, with a fake command runner (the real
// kernel is in enforcer.int.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isIppcError } from '@ippc/core';
import { normalizeAgent, normalizeMember, normalizeRule, type PolicyState } from '../model.js';
import { createEnforcer } from './enforcer.js';
import { compileRuleset, groupSlug, renderDelta, renderFull, renderFullLine } from './ruleset.js';
import type { CommandResult, CommandRunner } from './runner.js';

const agents = [
  {
    ...normalizeAgent({ id: 'a1', nodeAddresses: ['10.240.0.11'], subnets: ['10.240.1.0/24'] }),
    appliedRevision: 0,
    appliedEpoch: '',
    connected: true,
    lastError: '',
    lastSeenMs: 0,
  },
  {
    ...normalizeAgent({ id: 'a2', nodeAddresses: ['10.240.0.12'], subnets: ['10.240.2.0/24'] }),
    appliedRevision: 0,
    appliedEpoch: '',
    connected: true,
    lastError: '',
    lastSeenMs: 0,
  },
];
const m = (agentId: string, containerId: string, addresses: string[], groups: string[]) =>
  normalizeMember({ agentId, containerId, addresses, groups, attachedAtMs: 1 });

function state(revision: number, members: ReturnType<typeof m>[], rules = [normalizeRule({ from: 'web', to: 'db', ports: [5432] })]): PolicyState {
  return { epoch: 'e1', revision, agents, members, rules };
}

describe('ruleset compiler', () => {
  const s = state(1, [
    m('a1', 'c1', ['10.240.1.2', 'fd10:240:0:1::2'], ['web']),
    m('a1', 'c2', ['10.240.1.3'], ['db', 'public']),
    m('a2', 'c3', ['10.240.2.2'], ['web']),
    m('a2', 'c4', ['10.240.2.3'], []),
  ]);
  const rs = compileRuleset(s, 'a1', 'ippc_iso_t');

  it('has a source set per group (all agents) and a destination set per group (this agent)', () => {
    assert.deepEqual(rs.sets.get('m_web_v4')?.elements, ['10.240.1.2', '10.240.2.2']);
    assert.deepEqual(rs.sets.get('l_web_v4')?.elements, ['10.240.1.2']);
    assert.deepEqual(rs.sets.get('l_web_v6')?.elements, ['fd10:240:0:1::2']);
    assert.deepEqual(rs.sets.get('local_v4')?.elements, ['10.240.1.2', '10.240.1.3']);
    assert.deepEqual(rs.sets.get('l_public_v4')?.elements, ['10.240.1.3']);
    // The ungrouped container is in no set at all.
    assert.ok([...rs.sets.values()].every((x) => !x.elements.includes('10.240.2.3')));
  });

  it('orders ingress: deny, public, same group, allow, drop', () => {
    const s2 = { ...s, rules: [...s.rules, normalizeRule({ id: 'no-udp', action: 'deny', from: '*', to: 'db', protocol: 'udp' })] };
    const lines = compileRuleset(s2, 'a1', 't').ingress;
    assert.equal(lines[0], 'ip daddr @l_db_v4 meta l4proto udp counter drop comment "rule no-udp"');
    assert.match(lines[2]!, /^ip daddr @l_public_v4 counter accept/);
    assert.ok(lines.includes('ip saddr @m_web_v4 ip daddr @l_web_v4 counter accept comment "group web"'));
    assert.ok(lines.some((l) => /^ip saddr @m_web_v4 ip daddr @l_db_v4 tcp dport \{ 5432 \} counter accept/.test(l)));
    assert.equal(lines[lines.length - 1], 'counter drop comment "isolated: no rule admits this source"');
  });

  it('hashes group names nft cannot take verbatim', () => {
    assert.equal(groupSlug('web_1'), 'web_1');
    assert.match(groupSlug('team/payments'), /^x[0-9a-f]{16}$/);
    assert.notEqual(groupSlug('a-b'), groupSlug('a_b'));
    const text = renderFull(compileRuleset(state(1, [m('a1', 'c1', ['10.240.1.2'], ['team "x"'])], []), 'a1', 't'));
    assert.match(text, /comment "members of group team 'x'"/);
  });

  it('a container joining a known group is a set element change; a new group or rule is a rebuild', () => {
    const base = compileRuleset(state(1, [m('a1', 'c1', ['10.240.1.2'], ['web'])]), 'a1', 't');
    const joined = compileRuleset(state(2, [m('a1', 'c1', ['10.240.1.2'], ['web']), m('a1', 'c5', ['10.240.1.9'], ['web'])]), 'a1', 't');
    const delta = renderDelta(base, joined)!.trim().split('\n').sort();
    assert.deepEqual(delta, [
      'add element inet t l_web_v4 { 10.240.1.9 }',
      'add element inet t local_v4 { 10.240.1.9 }',
      'add element inet t m_web_v4 { 10.240.1.9 }',
    ]);
    assert.equal(renderDelta(joined, joined), '');
    assert.deepEqual(renderDelta(joined, base)!.trim().split('\n').sort(), [
      'delete element inet t l_web_v4 { 10.240.1.9 }',
      'delete element inet t local_v4 { 10.240.1.9 }',
      'delete element inet t m_web_v4 { 10.240.1.9 }',
    ]);
    const newGroup = compileRuleset(state(3, [m('a1', 'c1', ['10.240.1.2'], ['web']), m('a1', 'c6', ['10.240.1.10'], ['ops'])]), 'a1', 't');
    assert.equal(renderDelta(base, newGroup), undefined);
    const newRule = compileRuleset(state(3, [m('a1', 'c1', ['10.240.1.2'], ['web'])], []), 'a1', 't');
    assert.equal(renderDelta(base, newRule), undefined);
  });

  it('renders one atomic replace of the table', () => {
    const text = renderFull(rs);
    assert.ok(text.startsWith('add table inet ippc_iso_t\ndelete table inet ippc_iso_t\ntable inet ippc_iso_t {\n'));
    assert.match(text, /set m_web_v4 \{ type ipv4_addr; comment "members of group web"; elements = \{ 10\.240\.1\.2, 10\.240\.2\.2 \}; \}/);
    assert.match(
      text,
      /type filter hook forward priority filter; policy accept;\n {4}ct state established,related accept\n {4}ip daddr @local_v4 jump ingress/,
    );
  });

  it('renders the same replace on one line for the nft session', () => {
    const line = renderFullLine(rs);
    assert.ok(!line.includes('\n'));
    assert.ok(line.startsWith('add table inet ippc_iso_t; delete table inet ippc_iso_t; table inet ippc_iso_t { set '), line.slice(0, 120));
    assert.match(
      line,
      /chain forward \{ type filter hook forward priority filter; policy accept;; ct state established,related accept; ip daddr @local_v4 jump ingress; /,
    );
    // Every statement of the multi-line form is there, in order.
    const statements = renderFull(rs)
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    let at = 0;
    for (const st of statements) {
      const found = line.indexOf(st, at);
      assert.ok(found >= at, `missing or out of order: ${st}`);
      at = found + st.length;
    }
  });
});

/** Records commands; answers like the kernel would for the few reads the enforcer makes. */
function fakeRunner(overrides: { sysctl?: string; failDelta?: boolean; routes?: string } = {}) {
  const calls: { command: string; args: string[]; input?: string }[] = [];
  let failNextDelta = overrides.failDelta ?? false;
  const runner: CommandRunner = {
    async run(command, args, input): Promise<CommandResult> {
      calls.push({ command, args: [...args], input });
      if (command === 'cat')
        return overrides.sysctl === undefined
          ? { stdout: '1\n', stderr: '', code: 0 }
          : { stdout: overrides.sysctl, stderr: overrides.sysctl ? '' : 'No such file', code: overrides.sysctl ? 0 : 1 };
      if (command === 'sysctl') return { stdout: '', stderr: 'read-only file system', code: 1 };
      if (command === 'ip' && args[0] === '-j') return { stdout: args[1] === '-4' ? (overrides.routes ?? '[]') : '[]', stderr: '', code: 0 };
      if (command === 'nft' && input && !input.startsWith('add table') && failNextDelta) {
        failNextDelta = false;
        return { stdout: '', stderr: 'Error: No such file or directory', code: 1 };
      }
      return { stdout: '', stderr: '', code: 0 };
    },
  };
  return { runner, calls };
}

describe('enforcer convergence (fake kernel)', () => {
  const s1 = state(1, [m('a1', 'c1', ['10.240.1.2'], ['web'])]);
  const s2 = state(2, [m('a1', 'c1', ['10.240.1.2'], ['web']), m('a2', 'c2', ['10.240.2.2'], ['web'])]);

  it('first apply replaces the table and installs routes; the same state again runs nothing', async () => {
    const { runner, calls } = fakeRunner({ routes: '[{"dst":"10.240.9.0/24","gateway":"10.240.0.99"}]' });
    const e = createEnforcer({ agentId: 'a1', table: 'ippc_iso_t', runner });
    const r1 = await e.apply(s1);
    assert.equal(r1.mode, 'full');
    assert.deepEqual([r1.routesAdded, r1.routesRemoved], [1, 1]);
    const batch = calls.find((c) => c.args[0] === '-batch');
    assert.equal(batch?.input, 'route del 10.240.9.0/24 proto 241\nroute replace 10.240.2.0/24 via 10.240.0.12 proto 241\n');
    const n = calls.length;
    const again = await e.apply({ ...s1, revision: 5 });
    assert.equal(again.mode, 'none');
    assert.equal(calls.length, n, 'no command for an unchanged state');
    assert.deepEqual(e.applied, { epoch: 'e1', revision: 5 });
    const r2 = await e.apply(s2);
    assert.equal(r2.mode, 'delta');
    assert.equal(calls[calls.length - 1]?.input, 'add element inet ippc_iso_t m_web_v4 { 10.240.2.2 }\n');
  });

  it('serializes concurrent applies and lands on the newest state', async () => {
    const { runner, calls } = fakeRunner();
    const e = createEnforcer({ agentId: 'a1', table: 't', runner });
    const [r1, r2] = await Promise.all([e.apply(s1), e.apply(s2)]);
    assert.equal(r1.revision, 2, 'the queued call already saw the newest state');
    assert.equal(r2.mode, 'none');
    assert.equal(calls.filter((c) => c.command === 'nft').length, 1);
  });

  it('falls back to a full replace when the kernel lost an element', async () => {
    const { runner, calls } = fakeRunner();
    const e = createEnforcer({ agentId: 'a1', table: 't', runner });
    await e.apply(s1);
    const { runner: r2 } = fakeRunner({ failDelta: true });
    Object.assign(runner, { run: r2.run });
    const res = await e.apply(s2);
    assert.equal(res.mode, 'full');
    assert.ok(calls.length > 0);
  });

  it('refuses to run where bridged traffic bypasses netfilter, saying how to fix it', async () => {
    const off = createEnforcer({ agentId: 'a1', runner: fakeRunner({ sysctl: '0\n' }).runner });
    await assert.rejects(
      off.apply(s1),
      (e) => isIppcError(e, 'ISOLATION_BRIDGE_NETFILTER') && /--sysctl net\.bridge\.bridge-nf-call-iptables=1/.test(e.message),
    );
    const missing = createEnforcer({ agentId: 'a1', runner: fakeRunner({ sysctl: '' }).runner });
    await assert.rejects(missing.apply(s1), (e) => isIppcError(e, 'ISOLATION_BRIDGE_NETFILTER') && /modprobe br_netfilter/.test(e.message));
    assert.throws(() => createEnforcer({ agentId: 'a1', table: 'bad-name' }), /table name 'bad-name'/);
  });
});
