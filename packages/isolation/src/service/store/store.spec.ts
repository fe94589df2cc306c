import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isIppcError } from '@ippc/core';
import type { Delta } from '../../model.js';
import { createPolicyStore } from './store.js';

const a1 = { id: 'a1', nodeAddresses: ['10.240.0.11'], subnets: ['10.240.1.0/24'] };
const a2 = { id: 'a2', nodeAddresses: ['10.240.0.12'], subnets: ['10.240.2.0/24'] };
const m = (agentId: string, containerId: string, address: string, groups: string[]) => ({
  agentId,
  containerId,
  ifName: 'eth0',
  network: 'n',
  addresses: [address],
  groups,
});

describe('policy store', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('bumps the revision once per change and not for a repeat', async () => {
    const s = await createPolicyStore();
    assert.equal(s.revision, 0);
    assert.equal(s.registerAgent(a1).revision, 1);
    assert.deepEqual(s.registerAgent(a1), { epoch: s.epoch, revision: 1, changed: false });
    const r = s.attach(m('a1', 'c1', '10.240.1.2', ['web']));
    assert.deepEqual([r.revision, r.changed], [2, true]);
    assert.equal(s.attach(m('a1', 'c1', '10.240.1.2', ['web'])).changed, false);
    assert.equal(s.attach(m('a1', 'c1', '10.240.1.2', ['web', 'db'])).revision, 3);
    assert.equal(s.detach({ agentId: 'a1', containerId: 'c1', ifName: 'eth0' }).revision, 4);
    assert.equal(s.detach({ agentId: 'a1', containerId: 'c1', ifName: 'eth0' }).changed, false);
  });

  it('refuses bad requests and leaves nothing behind', async () => {
    const s = await createPolicyStore();
    s.registerAgent(a1);
    const before = JSON.stringify(s.snapshot());
    assert.throws(
      () => s.attach(m('nope', 'c1', '10.240.1.2', ['web'])),
      (e) => isIppcError(e, 'ISOLATION_UNKNOWN_AGENT') && /start ippc-isolation-node/.test(e.message),
    );
    assert.throws(
      () => s.attach(m('a1', 'c1', 'not-an-ip', ['web'])),
      (e) => isIppcError(e, 'ISOLATION_BAD_REQUEST'),
    );
    assert.throws(
      () => s.registerAgent({ id: 'a2', nodeAddresses: ['10.240.0.12'], subnets: ['10.240.1.128/25'] }),
      (e) => isIppcError(e, 'ISOLATION_SUBNET_CONFLICT') && /overlaps 10\.240\.1\.0\/24 of agent 'a1'/.test(e.message),
    );
    assert.throws(
      () => s.registerAgent({ id: 'a2', nodeAddresses: ['10.240.0.11'], subnets: [] }),
      (e) => isIppcError(e, 'ISOLATION_ADDRESS_IN_USE'),
    );
    assert.throws(
      () => s.removeRule('r-none'),
      (e) => isIppcError(e, 'ISOLATION_UNKNOWN_RULE'),
    );
    s.attach(m('a1', 'c1', '10.240.1.2', ['web']));
    const withMember = JSON.stringify(s.snapshot());
    assert.throws(
      () => s.attach(m('a1', 'c2', '10.240.1.2', ['db'])),
      (e) => isIppcError(e, 'ISOLATION_ADDRESS_IN_USE') && /still attached to a1\/c1\/eth0/.test(e.message),
    );
    assert.throws(
      () => s.syncMembers('a1', [m('a1', 'c3', '10.240.1.9', []), m('a1', 'c4', '10.240.1.9', [])]),
      (e) => isIppcError(e, 'ISOLATION_ADDRESS_IN_USE'),
    );
    assert.equal(JSON.stringify(s.snapshot()), withMember);
    assert.notEqual(before, withMember);
  });

  it('watchers get the snapshot and then every delta in order', async () => {
    const s = await createPolicyStore();
    s.registerAgent(a1);
    const seen: Delta[] = [];
    const w = s.watch((d) => seen.push(d));
    assert.equal(w.snapshot.revision, 1);
    s.attach(m('a1', 'c1', '10.240.1.2', ['web']));
    s.addRule({ from: 'web', to: 'db' });
    w.unsubscribe();
    s.attach(m('a1', 'c2', '10.240.1.3', ['web']));
    assert.deepEqual(
      seen.map((d) => [d.revision, d.changes.map((c) => c.kind)]),
      [
        [2, ['member-upserted']],
        [3, ['rule-upserted']],
      ],
    );
  });

  it('rules: same content is one rule; an explicit id must not be reused', async () => {
    const s = await createPolicyStore();
    const first = s.addRule({ from: 'web', to: 'db', ports: [5432] });
    const again = s.addRule({ from: 'web', to: 'db', ports: ['5432/tcp'] });
    assert.equal(first.rule.id, again.rule.id);
    assert.equal(again.changed, false);
    s.addRule({ id: 'mine', from: 'a', to: 'b' });
    assert.throws(
      () => s.addRule({ id: 'mine', from: 'a', to: 'c' }),
      (e) => isIppcError(e, 'ISOLATION_RULE_CONFLICT'),
    );
    assert.equal(s.removeRule('mine').changed, true);
    assert.deepEqual(
      s.rules().map((r) => r.id),
      [first.rule.id],
    );
  });

  it('syncMembers replaces what an agent holds in one revision', async () => {
    const s = await createPolicyStore();
    s.registerAgent(a1);
    s.registerAgent(a2);
    s.attach(m('a1', 'c1', '10.240.1.2', ['web']));
    s.attach(m('a1', 'c2', '10.240.1.3', ['db']));
    s.attach(m('a2', 'c9', '10.240.2.2', ['db']));
    const rev = s.revision;
    // c1 is gone, c2 changed groups, c3 is new and took c1's address.
    const r = s.syncMembers('a1', [m('a1', 'c2', '10.240.1.3', ['web']), m('a1', 'c3', '10.240.1.2', ['cache'])]);
    assert.equal(r.revision, rev + 1);
    assert.deepEqual(
      s.members({ agentId: 'a1' }).map((x) => `${x.containerId}:${x.groups.join('+')}`),
      ['c2:web', 'c3:cache'],
    );
    assert.equal(s.members({ agentId: 'a2' }).length, 1);
    assert.equal(s.syncMembers('a1', [m('a1', 'c2', '10.240.1.3', ['web']), m('a1', 'c3', '10.240.1.2', ['cache'])]).changed, false);
    assert.throws(
      () => s.syncMembers('a1', [m('a1', 'c5', '10.240.2.2', [])]),
      (e) => isIppcError(e, 'ISOLATION_ADDRESS_IN_USE'),
    );
  });

  it('a released address drains until every agent applied the release, then is clear', async () => {
    const s = await createPolicyStore();
    s.registerAgent(a1);
    s.registerAgent(a2);
    s.attach(m('a1', 'c1', '10.240.1.2', ['web']));
    assert.deepEqual(s.checkAddresses(['10.240.1.2'])[0]?.state, 'in-use');
    assert.deepEqual(s.checkAddresses(['10.240.1.77'])[0]?.state, 'clear');
    const { revision } = s.detach({ agentId: 'a1', containerId: 'c1', ifName: 'eth0' });
    let st = s.checkAddresses(['10.240.1.2/24'])[0]!;
    assert.deepEqual([st.state, st.pendingAgents, st.releasedRevision], ['draining', ['a1', 'a2'], revision]);
    s.reportApplied('a1', s.epoch, revision);
    s.reportApplied('a2', 'another-epoch', revision);
    st = s.checkAddresses(['10.240.1.2'])[0]!;
    assert.deepEqual([st.state, st.pendingAgents], ['draining', ['a2']]);
    s.reportApplied('a2', s.epoch, revision - 1);
    assert.equal(s.checkAddresses(['10.240.1.2'])[0]?.state, 'draining');
    s.reportApplied('a2', s.epoch, revision);
    assert.equal(s.checkAddresses(['10.240.1.2'])[0]?.state, 'clear');
    // An agent registered after the release never had the address.
    s.attach(m('a1', 'c2', '10.240.1.3', ['web']));
    const rel = s.detach({ agentId: 'a1', containerId: 'c2', ifName: 'eth0' }).revision;
    s.reportApplied('a1', s.epoch, rel);
    s.reportApplied('a2', s.epoch, rel);
    s.registerAgent({ id: 'a3', nodeAddresses: ['10.240.0.13'], subnets: [] });
    assert.equal(s.checkAddresses(['10.240.1.3'])[0]?.state, 'clear');
    // Deregistering a dead agent unblocks what it held back.
    s.attach(m('a1', 'c4', '10.240.1.4', ['web']));
    const r4 = s.detach({ agentId: 'a1', containerId: 'c4', ifName: 'eth0' }).revision;
    s.reportApplied('a1', s.epoch, r4);
    s.reportApplied('a3', s.epoch, r4);
    assert.deepEqual(s.checkAddresses(['10.240.1.4'])[0]?.pendingAgents, ['a2']);
    s.deregisterAgent('a2');
    assert.equal(s.checkAddresses(['10.240.1.4'])[0]?.state, 'clear');
  });

  it('awaitApplied resolves when every agent acknowledged, or at the deadline', async () => {
    let clock = 1000;
    const s = await createPolicyStore({ now: () => clock });
    s.registerAgent(a1);
    s.registerAgent(a2);
    const latencies: number[] = [];
    s.onPropagated((_r, ms) => latencies.push(ms));
    const { revision } = s.addRule({ from: 'web', to: 'db' });
    const timedOut = await s.awaitApplied(revision, 20);
    assert.deepEqual([timedOut.allApplied, timedOut.agents.map((a) => a.applied)], [false, [false, false]]);
    const waiting = s.awaitApplied(revision, 5_000);
    clock += 7;
    s.reportApplied('a1', s.epoch, revision);
    clock += 5;
    s.reportApplied('a2', s.epoch, revision);
    const done = await waiting;
    assert.equal(done.allApplied, true);
    assert.deepEqual(
      done.agents.map((a) => [a.agentId, a.latencyMs]),
      [
        ['a1', 7],
        ['a2', 12],
      ],
    );
    // Revision 2 (a2 registered: a1 needed routes) was everywhere once a1 acknowledged at 7 ms.
    assert.deepEqual(latencies, [7, 12]);
  });

  it('keeps its state in a data file across a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iso-store-'));
    dirs.push(dir);
    const file = join(dir, 'state.json');
    const s = await createPolicyStore({ dataFile: file });
    s.registerAgent(a1);
    s.attach(m('a1', 'c1', '10.240.1.2', ['web']));
    s.addRule({ id: 'keep', from: 'web', to: 'db' });
    s.detach({ agentId: 'a1', containerId: 'c1', ifName: 'eth0' });
    await s.close();
    const again = await createPolicyStore({ dataFile: file });
    assert.equal(again.epoch, s.epoch);
    assert.equal(again.revision, 4);
    assert.deepEqual(
      again.rules().map((r) => r.id),
      ['keep'],
    );
    assert.equal(again.checkAddresses(['10.240.1.2'])[0]?.state, 'draining');
    await writeFile(file, '{not json');
    await assert.rejects(createPolicyStore({ dataFile: file }), /move the file away/);
  });
});
