import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isIppcError } from '@ippc/core';
import { normalizeAgent, normalizeMember, normalizeRule } from './model.js';
import { decide, routesFor, type Peer } from './policy.js';

const tcp80 = { protocol: 'tcp' as const, port: 80 };
const member = (agentId: string, ...groups: string[]): Peer => ({ kind: 'member', agentId, groups });
const host = (agentId: string): Peer => ({ kind: 'host', agentId, groups: [] });

describe('policy: the default model', () => {
  it('same group reaches, different groups do not, on one agent and across agents', () => {
    assert.equal(decide([], member('a1', 'web'), member('a1', 'web'), tcp80).allowed, true);
    assert.equal(decide([], member('a1', 'web'), member('a2', 'web'), tcp80).allowed, true);
    assert.equal(decide([], member('a1', 'web'), member('a1', 'db'), tcp80).allowed, false);
    assert.equal(decide([], member('a2', 'db'), member('a1', 'web'), tcp80).allowed, false);
  });

  it('several groups are the union', () => {
    const both = member('a1', 'db', 'web');
    assert.equal(decide([], both, member('a2', 'web'), tcp80).allowed, true);
    assert.equal(decide([], both, member('a2', 'db'), tcp80).allowed, true);
    assert.equal(decide([], member('a2', 'web'), both, tcp80).allowed, true);
    assert.equal(decide([], member('a2', 'cache'), both, tcp80).allowed, false);
  });

  it('public is open to all; its members get no extra reach themselves', () => {
    assert.equal(decide([], member('a2', 'db'), member('a1', 'public'), tcp80).allowed, true);
    assert.equal(decide([], host('a3'), member('a1', 'public'), tcp80).allowed, true);
    assert.equal(decide([], member('a1', 'public'), member('a1', 'db'), tcp80).allowed, false);
  });

  it('the own agent always reaches its members; other agents only by policy', () => {
    const v = decide([], host('a1'), member('a1', 'db'), tcp80);
    assert.deepEqual(v, { allowed: true, reason: 'own agent' });
    assert.equal(decide([], host('a2'), member('a1', 'db'), tcp80).allowed, false);
  });

  it('hosts and containers without groups are untouched (not isolated)', () => {
    assert.equal(decide([], member('a1', 'db'), host('a2'), tcp80).allowed, true);
    assert.equal(decide([], member('a1', 'db'), member('a2'), tcp80).allowed, true);
    // A container without groups reaches only open destinations.
    assert.equal(decide([], member('a2'), member('a1', 'db'), tcp80).allowed, false);
  });
});

describe('policy: operator rules', () => {
  const allowWebCache = normalizeRule({ from: 'web', to: 'cache', ports: ['6379-6380'] });
  const denyDbPublic = normalizeRule({ action: 'deny', from: 'db', to: 'public' });
  const denyAnyDbUdp = normalizeRule({ action: 'deny', from: '*', to: 'db', protocol: 'udp' });
  const allowAnyToWeb = normalizeRule({ from: '*', to: 'web', ports: [443] });
  const rules = [allowWebCache, denyDbPublic, denyAnyDbUdp, allowAnyToWeb];

  it('allow rules admit only their ports and protocol', () => {
    assert.deepEqual(decide(rules, member('a1', 'web'), member('a2', 'cache'), { protocol: 'tcp', port: 6380 }), {
      allowed: true,
      reason: `allow rule ${allowWebCache.id}`,
      ruleId: allowWebCache.id,
    });
    assert.equal(decide(rules, member('a1', 'web'), member('a2', 'cache'), { protocol: 'tcp', port: 6381 }).allowed, false);
    assert.equal(decide(rules, member('a1', 'web'), member('a2', 'cache'), { protocol: 'udp', port: 6379 }).allowed, false);
    // Direction matters.
    assert.equal(decide(rules, member('a1', 'cache'), member('a2', 'web'), { protocol: 'tcp', port: 6379 }).allowed, false);
  });

  it('deny beats public and same group; never the own agent', () => {
    assert.equal(decide(rules, member('a1', 'db'), member('a2', 'public'), tcp80).reason, `deny rule ${denyDbPublic.id}`);
    assert.equal(decide(rules, member('a1', 'db'), member('a2', 'db'), { protocol: 'udp', port: 53 }).allowed, false);
    assert.equal(decide(rules, member('a1', 'db'), member('a2', 'db'), tcp80).allowed, true);
    assert.equal(decide(rules, host('a2'), member('a2', 'db'), { protocol: 'udp', port: 53 }).allowed, true);
  });

  it("'*' as source admits hosts and ungrouped containers too", () => {
    assert.equal(decide(rules, host('a3'), member('a1', 'web'), { protocol: 'tcp', port: 443 }).allowed, true);
    assert.equal(decide(rules, member('a3'), member('a1', 'web'), { protocol: 'tcp', port: 443 }).allowed, true);
    assert.equal(decide(rules, host('a3'), member('a1', 'web'), tcp80).allowed, false);
  });
});

describe('rules are normalized and validated', () => {
  it('gets a content id, merges ports, infers tcp, keeps udp from the port', () => {
    const a = normalizeRule({ from: 'web', to: 'db', ports: [5432, '5433', '5000-5431'] });
    const b = normalizeRule({ from: 'web', to: 'db', ports: ['5000-5433/tcp'] });
    assert.equal(a.id, b.id);
    assert.deepEqual(a.ports, [{ first: 5000, last: 5433 }]);
    assert.equal(a.protocol, 'tcp');
    assert.equal(normalizeRule({ from: 'a', to: 'b', ports: ['53/udp'] }).protocol, 'udp');
    assert.notEqual(normalizeRule({ from: 'a', to: 'b' }).id, normalizeRule({ action: 'deny', from: 'a', to: 'b' }).id);
  });

  it('refuses bad rules with a message that says what to write', () => {
    const bad = (input: Parameters<typeof normalizeRule>[0], re: RegExp) =>
      assert.throws(
        () => normalizeRule(input),
        (e) => isIppcError(e, 'ISOLATION_BAD_REQUEST') && re.test(e.message),
      );
    bad({ from: 'a', to: 'b', ports: ['70000'] }, /1 to 65535/);
    bad({ from: 'a', to: 'b', ports: ['x'] }, /write 80, 8000-8080 or 53\/udp/);
    bad({ from: 'a', to: 'b', protocol: 'any', ports: [80] }, /ports need a protocol/);
    bad({ from: 'a', to: 'b', protocol: 'tcp', ports: ['53/udp'] }, /one protocol per rule/);
    bad({ from: '', to: 'b' }, /group '' is not valid/);
    bad({ from: 'a', to: 'b', action: 'maybe' as never }, /allow or deny/);
  });
});

describe('members and agents are normalized', () => {
  it('strips prefixes, canonicalizes, sorts groups', () => {
    const m = normalizeMember({ agentId: 'a1', containerId: 'c1', addresses: ['10.240.1.5/24', 'FD10:240:0:1::5/64'], groups: ['web', 'db', 'web'] });
    assert.deepEqual(m.addresses, ['10.240.1.5', 'fd10:240:0:1::5']);
    assert.deepEqual(m.groups, ['db', 'web']);
    assert.equal(m.ifName, 'eth0');
  });

  it('refuses members without addresses or with bad ids', () => {
    assert.throws(() => normalizeMember({ agentId: 'a1', containerId: 'c1', addresses: [] }), /has no address/);
    assert.throws(() => normalizeMember({ agentId: 'a1', containerId: '-bad', addresses: ['10.0.0.1'] }), /container id '-bad' is not valid/);
    assert.throws(() => normalizeMember({ agentId: '', containerId: 'c', addresses: ['10.0.0.1'] }), /agent id '' is not valid/);
    assert.throws(() => normalizeMember({ agentId: 'a', containerId: 'c', addresses: ['10.0.0.1'], groups: ['*'] }), /'\*' is not a group name/);
  });

  it('agents need a node address per routed family', () => {
    assert.throws(() => normalizeAgent({ id: 'a1', nodeAddresses: [], subnets: [] }), /needs a node address/);
    assert.throws(() => normalizeAgent({ id: 'a1', nodeAddresses: ['10.240.0.11'], subnets: ['fd10:240:0:1::/64'] }), /no IPv6 node address/);
  });
});

describe('routes between agents', () => {
  it('every agent routes every other agent subnet via that agent, per family', () => {
    const agents = [
      normalizeAgent({ id: 'a1', nodeAddresses: ['10.240.0.11', 'fd10:240::11'], subnets: ['10.240.1.0/24', 'fd10:240:0:1::/64'] }),
      normalizeAgent({ id: 'a2', nodeAddresses: ['10.240.0.12'], subnets: ['10.240.2.0/24'] }),
      normalizeAgent({ id: 'a3', nodeAddresses: ['10.240.0.13', 'fd10:240::13'], subnets: ['10.240.3.0/24', '10.240.4.0/24', 'fd10:240:0:3::/64'] }),
    ];
    assert.deepEqual(
      routesFor(agents, 'a2').map((r) => `${r.destination} via ${r.via} (${r.owner})`),
      [
        '10.240.1.0/24 via 10.240.0.11 (a1)',
        '10.240.3.0/24 via 10.240.0.13 (a3)',
        '10.240.4.0/24 via 10.240.0.13 (a3)',
        'fd10:240:0:1::/64 via fd10:240::11 (a1)',
        'fd10:240:0:3::/64 via fd10:240::13 (a3)',
      ],
    );
    assert.ok(routesFor(agents, 'a1').every((r) => r.owner !== 'a1'));
  });
});
