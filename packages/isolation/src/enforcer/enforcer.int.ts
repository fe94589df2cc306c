// The enforcer against the real kernel: nftables in scratch namespaces, bridged and routed traffic,
// routes between two "agents", IPv4 and IPv6, idempotence, rebuild after a restart, removal.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isIppcError } from '@ippc/core';
import { normalizeAgent, normalizeMember, normalizeRule, type Member, type PolicyState, type Rule } from '../model.js';
import { TEST_BRIDGE, TEST_NET as N4, TEST_NET6 as N6 } from '../testing/resources.js';
import { createScratch, tcpConnect, type Scratch } from '../testing/scratch.js';
import { createEnforcer, type Enforcer } from './enforcer.js';

const TABLE = 'ippc_iso_enf';

interface Ctr {
  ns: string;
  agent: 'a1' | 'a2';
  v4: string;
  v6?: string;
  groups: string[];
}

const CTRS: Record<string, Ctr> = {
  c1: { ns: 'c1', agent: 'a1', v4: `${N4}.1.11`, v6: `${N6}:0:1::11`, groups: ['web'] },
  c2: { ns: 'c2', agent: 'a1', v4: `${N4}.1.12`, v6: `${N6}:0:1::12`, groups: ['db'] },
  c3: { ns: 'c3', agent: 'a1', v4: `${N4}.1.13`, v6: `${N6}:0:1::13`, groups: ['web'] },
  c4: { ns: 'c4', agent: 'a1', v4: `${N4}.1.14`, groups: [] },
  d1: { ns: 'd1', agent: 'a2', v4: `${N4}.2.11`, groups: ['web'] },
};

function agentInfo(id: string, node4: string, node6: string, subnets: string[]) {
  return {
    ...normalizeAgent({ id, nodeAddresses: [node4, node6], subnets }),
    appliedRevision: 0,
    appliedEpoch: '',
    connected: true,
    lastError: '',
    lastSeenMs: 0,
  };
}

const AGENTS = [
  agentInfo('a1', `${N4}.0.11`, `${N6}::11`, [`${N4}.1.0/24`, `${N6}:0:1::/64`]),
  agentInfo('a2', `${N4}.0.12`, `${N6}::12`, [`${N4}.2.0/24`, `${N6}:0:2::/64`]),
];

function members(names: string[], override: Record<string, string[]> = {}): Member[] {
  return names.map((n) => {
    const c = CTRS[n]!;
    return normalizeMember({ agentId: c.agent, containerId: n, addresses: [c.v4, ...(c.v6 ? [c.v6] : [])], groups: override[n] ?? c.groups, attachedAtMs: 1 });
  });
}

let revision = 0;
function state(ms: Member[], rules: Rule[] = []): PolicyState {
  revision += 1;
  return { epoch: 'e', revision, agents: AGENTS, members: ms, rules };
}

describe('enforcer in real namespaces', () => {
  let s: Scratch;
  let e1: Enforcer;
  let e2: Enforcer;

  before(async () => {
    s = await createScratch();
    await Promise.all(['a1', 'a2', ...Object.keys(CTRS)].map((n) => s.addNs(n)));
    // Two agents joined by a veth (the "cluster network"), each with a bridge of containers.
    await s.sh(undefined, `ip link add isoc0 netns ${s.ns('a1')} type veth peer name isoc0 netns ${s.ns('a2')}`);
    for (const [agent, n] of [
      ['a1', 1],
      ['a2', 2],
    ] as const) {
      await s.sh(
        agent,
        [
          'sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0',
          `ip addr add ${N4}.0.1${n}/24 dev isoc0 && ip addr add ${N6}::1${n}/64 dev isoc0 nodad && ip link set isoc0 up`,
          `ip link add ${TEST_BRIDGE}${n} type bridge && ip addr add ${N4}.${n}.1/24 dev ${TEST_BRIDGE}${n} && ip addr add ${N6}:0:${n}::1/64 dev ${TEST_BRIDGE}${n} nodad && ip link set ${TEST_BRIDGE}${n} up`,
        ].join('\n'),
      );
    }
    for (const [name, c] of Object.entries(CTRS)) {
      const n = c.agent === 'a1' ? 1 : 2;
      await s.sh(c.agent, `ip link add v${name} type veth peer name eth0 netns ${s.ns(c.ns)} && ip link set v${name} master ${TEST_BRIDGE}${n} up`);
      await s.sh(
        c.ns,
        [
          'sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.eth0.accept_dad=0',
          `ip addr add ${c.v4}/24 dev eth0`,
          c.v6 ? `ip addr add ${c.v6}/64 dev eth0 nodad` : 'true',
          'ip link set eth0 up',
          `ip route add default via ${N4}.${n}.1`,
          c.v6 ? `ip -6 route add default via ${N6}:0:${n}::1` : 'true',
        ].join('\n'),
      );
    }
    e1 = createEnforcer({ agentId: 'a1', netns: s.nsPath('a1'), table: TABLE });
    e2 = createEnforcer({ agentId: 'a2', netns: s.nsPath('a2'), table: TABLE });
  });
  const extra: Enforcer[] = [];
  after(async () => {
    for (const e of [e1, e2, ...extra]) e?.close();
    await s?.cleanup();
  });

  const reach = async (from: string | undefined, to: string, port = 80): Promise<boolean> => (await tcpConnect(s, from, to, port)) !== 'timeout';

  it('isolates by group on one bridge, across agents, for IPv4 and IPv6, and installs routes', async () => {
    const st = state(members(Object.keys(CTRS)));
    const [r1, r2] = await Promise.all([e1.apply(st), e2.apply(st)]);
    assert.deepEqual([r1.mode, r2.mode, r1.routesAdded, r2.routesAdded, r1.routeErrors], ['full', 'full', 2, 2, []]);
    const view = await e1.inspect();
    assert.deepEqual(view.routes.map((r) => `${r.destination} via ${r.via}`).sort(), [`${N4}.2.0/24 via ${N4}.0.12`, `${N6}:0:2::/64 via ${N6}::12`]);
    assert.deepEqual(view.sets['m_web_v4'], [`${N4}.1.11`, `${N4}.1.13`, `${N4}.2.11`]);
    assert.deepEqual(view.sets['l_web_v4'], [`${N4}.1.11`, `${N4}.1.13`]);
    const checks: [string, string | undefined, string, boolean][] = [
      ['web -> web, same bridge', 'c1', CTRS.c3!.v4, true],
      ['db -> web, same bridge', 'c2', CTRS.c1!.v4, false],
      ['web -> db, same bridge', 'c1', CTRS.c2!.v4, false],
      ['no group -> web', 'c4', CTRS.c1!.v4, false],
      ['web -> no group (untouched)', 'c1', CTRS.c4!.v4, true],
      ['own agent -> db', 'a1', CTRS.c2!.v4, true],
      ['web on a2 -> web on a1 (routed)', 'd1', CTRS.c1!.v4, true],
      ['web on a2 -> db on a1', 'd1', CTRS.c2!.v4, false],
      ['agent a2 -> web on a1', 'a2', CTRS.c1!.v4, false],
      ['web on a1 -> agent a2 (untouched)', 'c1', `${N4}.0.12`, true],
      ['IPv6 web -> web', 'c1', CTRS.c3!.v6!, true],
      ['IPv6 db -> web', 'c2', CTRS.c3!.v6!, false],
    ];
    const got = await Promise.all(checks.map(([, from, to]) => reach(from, to)));
    assert.deepEqual(
      checks.map(([what], i) => `${what}: ${got[i]}`),
      checks.map(([what, , , want]) => `${what}: ${want}`),
    );
  });

  it('is idempotent: the same state changes nothing, a restart rebuilds the same table', async () => {
    const st = state(members(Object.keys(CTRS)));
    const listing = async () => (await s.exec('a1', 'nft', ['-s', 'list', 'table', 'inet', TABLE])).stdout;
    const before = await listing();
    assert.equal((await e1.apply(st)).mode, 'none');
    assert.equal(await listing(), before);
    // A new process (the daemon restarted) trusts nothing and rebuilds: same text.
    const fresh = createEnforcer({ agentId: 'a1', netns: s.nsPath('a1'), table: TABLE });
    extra.push(fresh);
    const r = await fresh.apply(st);
    assert.deepEqual([r.mode, r.routesAdded, r.routesRemoved], ['full', 0, 0]);
    assert.equal(await listing(), before);
  });

  it('a container joining or leaving changes set elements only; CHECK sees a lost element; rebuild restores it', async () => {
    // c4 named no group: it is in no set, so it leaving changes nothing.
    assert.equal((await e1.apply(state(members(['c1', 'c2', 'c3', 'd1'])))).mode, 'none');
    const r = await e1.apply(state(members(['c1', 'c2', 'c4', 'd1'])));
    assert.equal(r.mode, 'delta');
    let view = await e1.inspect();
    assert.ok(Object.values(view.sets).every((els) => !els.includes(CTRS.c3!.v4) && !els.includes(CTRS.c3!.v6!)));
    // c1 moves from web to db: a delta, and reachability follows at once.
    const moved = state(members(['c1', 'c2', 'c3', 'c4', 'd1'], { c1: ['db'] }));
    assert.equal((await e1.apply(moved)).mode, 'delta');
    await e2.apply(moved);
    assert.deepEqual(await Promise.all([reach('c2', CTRS.c1!.v4), reach('c3', CTRS.c1!.v4), reach('d1', CTRS.c1!.v4)]), [true, false, false]);
    const c1 = members(['c1'], { c1: ['db'] })[0]!;
    await e1.verifyMember(c1);
    await s.sh('a1', `nft delete element inet ${TABLE} l_db_v4 { ${CTRS.c1!.v4} }`);
    await assert.rejects(e1.verifyMember(c1), (err) => isIppcError(err, 'ISOLATION_CHECK_FAILED') && err.message.includes(`missing ${N4}.1.11 in l_db_v4`));
    await e1.rebuild(moved);
    await e1.verifyMember(c1);
    view = await e1.inspect();
    assert.deepEqual(view.sets['l_db_v4'], [CTRS.c1!.v4, CTRS.c2!.v4]);
  });

  it('element changes go through a long-running nft; a kernel that drifted falls back to a full replace', async () => {
    const base = state(members(Object.keys(CTRS)));
    await e1.apply(base);
    const t0 = performance.now();
    for (let i = 0; i < 10; i++) {
      const r = await e1.apply(state(members(Object.keys(CTRS), { c4: i % 2 === 0 ? ['web'] : [] })));
      assert.deepEqual([r.mode, r.via], ['delta', 'session']);
    }
    const perChange = (performance.now() - t0) / 10;
    assert.ok(perChange < 100, `a delta took ${perChange.toFixed(1)} ms`);
    // A new group changes sets and rules: the whole table is replaced, through the session too.
    const newGroup = await e1.apply(state(members(Object.keys(CTRS), { c4: ['ops'] })));
    assert.deepEqual([newGroup.mode, newGroup.via], ['full', 'session']);
    assert.deepEqual((await e1.inspect()).sets['l_ops_v4'], [CTRS.c4!.v4]);
    await e1.apply(base);
    // Someone removes an element behind our back; the next delta deletes it again and fails:
    // the enforcer replaces the table and ends up right.
    const withC4 = state(members(Object.keys(CTRS), { c4: ['web'] }));
    await e1.apply(withC4);
    await s.sh('a1', `nft delete element inet ${TABLE} l_web_v4 { ${CTRS.c4!.v4} }`);
    const r = await e1.apply(state(members(Object.keys(CTRS))));
    assert.equal(r.mode, 'full');
    const view = await e1.inspect();
    assert.ok(!view.sets['l_web_v4']?.includes(CTRS.c4!.v4));
  });

  it('operator rules: allow a port from one group to another; deny beats same group', async () => {
    const allow = normalizeRule({ from: 'web', to: 'db', ports: ['5432'] });
    const deny = normalizeRule({ action: 'deny', from: 'web', to: 'web', ports: ['8080'] });
    const st = state(members(Object.keys(CTRS)), [allow, deny]);
    assert.equal((await e1.apply(st)).mode, 'full');
    const got = await Promise.all([
      reach('c1', CTRS.c2!.v4, 5432),
      reach('c1', CTRS.c2!.v4, 80),
      reach('c3', CTRS.c1!.v4, 8080),
      reach('c3', CTRS.c1!.v4, 80),
      reach('c2', CTRS.c1!.v4, 5432),
    ]);
    assert.deepEqual(got, [true, false, false, true, false]);
  });

  it('remove() takes the table and the routes away (enforcement off)', async () => {
    await e1.remove();
    const view = await e1.inspect();
    assert.deepEqual([view.tablePresent, view.routes], [false, []]);
    assert.equal(await reach('c2', CTRS.c1!.v4), true);
  });
});
