// The service and its typed client over real gRPC on loopback (and a unix socket): auth, typed
// errors, the watch stream with snapshot-then-deltas and reconnect, the IPAM seam, metrics.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { checkHealth, isIppcError } from '@ippc/core';
import { createIsolationClient } from '../client.js';
import type { Delta, PolicyState } from '../model.js';
import { createIsolationService, ISOLATION_SERVICE_NAME } from './service.js';

const auth = { token: 'secret-token' };
const a1 = { id: 'a1', nodeAddresses: ['10.240.0.11'], subnets: ['10.240.1.0/24'] };
const a2 = { id: 'a2', nodeAddresses: ['10.240.0.12'], subnets: ['10.240.2.0/24'] };
const member = (agentId: string, containerId: string, address: string, groups: string[]) => ({
  agentId,
  containerId,
  ifName: 'eth0',
  network: 'n',
  addresses: [address],
  groups,
  attachedAtMs: 0,
});

async function until(cond: () => boolean, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('isolation service over gRPC', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('refuses calls without the token; health is open', async () => {
    const service = await createIsolationService({ auth });
    cleanups.push(() => service.close());
    const port = await service.listen('127.0.0.1:0');
    assert.equal(await checkHealth(`127.0.0.1:${port}`, ISOLATION_SERVICE_NAME), 'SERVING');
    const anon = createIsolationClient({ address: `127.0.0.1:${port}`, auth: { token: 'wrong' } });
    cleanups.push(() => anon.close());
    await assert.rejects(anon.listRules(), (e) => isIppcError(e, 'UNAUTHENTICATED'));
  });

  it('rethrows typed errors and serves the operator views', async () => {
    const service = await createIsolationService({ auth });
    cleanups.push(() => service.close());
    const port = await service.listen('127.0.0.1:0');
    const client = createIsolationClient({ address: `127.0.0.1:${port}`, auth });
    cleanups.push(() => client.close());
    await client.registerAgent(a1);
    await client.registerAgent(a2);
    await assert.rejects(client.attach(member('ghost', 'c1', '10.240.1.2', ['web'])), (e) => isIppcError(e, 'ISOLATION_UNKNOWN_AGENT'));
    await assert.rejects(client.registerAgent({ id: 'a3', nodeAddresses: ['10.240.0.13'], subnets: ['10.240.2.0/23'] }), (e) =>
      isIppcError(e, 'ISOLATION_SUBNET_CONFLICT'),
    );
    await assert.rejects(client.addRule({ from: 'web', to: 'db', ports: ['99999'] }), (e) => isIppcError(e, 'ISOLATION_BAD_REQUEST'));
    await client.attach(member('a1', 'c1', '10.240.1.2', ['web']));
    await client.attach(member('a2', 'c2', '10.240.2.2', ['web', 'db']));
    const { rule } = await client.addRule({ from: 'web', to: 'cache', ports: ['6379'], description: 'web reads the cache' });
    assert.deepEqual([rule.protocol, rule.ports, rule.description], ['tcp', [{ first: 6379, last: 6379 }], 'web reads the cache']);
    const deny = await client.addRule({ action: 'deny', from: '*', to: 'db', ports: ['53/udp'] });
    assert.equal(deny.rule.protocol, 'udp');
    assert.deepEqual((await client.listRules()).map((r) => r.id).sort(), [rule.id, deny.rule.id].sort());
    const groups = await client.listGroups();
    assert.deepEqual(
      groups.map((g) => [g.name, g.members.length, g.ruleIds.length]),
      [
        ['cache', 0, 1],
        ['db', 1, 1],
        ['web', 2, 1],
      ],
    );
    assert.deepEqual(
      (await client.listMembers({ group: 'db' })).map((m) => m.containerId),
      ['c2'],
    );
    assert.deepEqual(
      (await client.listRoutes('a1')).map((r) => `${r.destination} via ${r.via}`),
      ['10.240.2.0/24 via 10.240.0.12'],
    );
    assert.equal((await client.listRoutes()).length, 2);
    await assert.rejects(client.removeRule('nope'), (e) => isIppcError(e, 'ISOLATION_UNKNOWN_RULE'));
    const metrics = await service.metrics.metrics();
    assert.match(metrics, /ippc_isolation_group_members\{group="web",component="isolation"\} 2/);
    assert.match(metrics, /ippc_isolation_requests_total\{method="Attach",code="ISOLATION_UNKNOWN_AGENT",component="isolation"\} 1/);
  });

  it('watch: snapshot then deltas; acknowledgements drive awaitApplied and the IPAM check', async () => {
    const service = await createIsolationService({ auth });
    cleanups.push(() => service.close());
    const port = await service.listen('127.0.0.1:0');
    const client = createIsolationClient({ address: `127.0.0.1:${port}`, auth });
    cleanups.push(() => client.close());
    await client.registerAgent(a1);
    await client.registerAgent(a2);
    await client.attach(member('a1', 'c1', '10.240.1.2', ['web']));
    const states: PolicyState[] = [];
    const deltas: Delta[] = [];
    const watch = client.watch({ agentId: 'a1', onSnapshot: (s) => states.push(s), onDelta: (d) => deltas.push(d) });
    cleanups.push(() => watch.close());
    await until(() => states.length === 1, 'the snapshot');
    assert.equal(states[0]!.members.length, 1);
    assert.equal((await client.listAgents()).agents.find((a) => a.id === 'a1')?.connected, true);
    const detached = await client.detach({ agentId: 'a1', containerId: 'c1', ifName: 'eth0' });
    await until(() => deltas.length === 1, 'the delta');
    assert.deepEqual(deltas[0], {
      epoch: detached.epoch,
      revision: detached.revision,
      changes: [{ kind: 'member-removed', key: { agentId: 'a1', containerId: 'c1', ifName: 'eth0' } }],
    });
    const [draining] = await client.checkAddresses(['10.240.1.2']);
    assert.deepEqual([draining?.state, draining?.pendingAgents], ['draining', ['a1', 'a2']]);
    const waiting = client.awaitApplied(detached.revision, 5_000);
    await client.reportApplied('a1', detached.epoch, detached.revision);
    await client.reportApplied('a2', detached.epoch, detached.revision);
    const done = await waiting;
    assert.equal(done.allApplied, true);
    assert.equal((await client.checkAddresses(['10.240.1.2']))[0]?.state, 'clear');
    const late = await client.awaitApplied(undefined, 50);
    assert.equal(late.allApplied, true);
  });

  it('drops a watcher that falls behind; it reconnects and gets the state as a new snapshot', async () => {
    const service = await createIsolationService({ auth, maxWatchBacklogBytes: 0 });
    cleanups.push(() => service.close());
    const port = await service.listen('127.0.0.1:0');
    const client = createIsolationClient({ address: `127.0.0.1:${port}`, auth });
    cleanups.push(() => client.close());
    service.store.registerAgent(a1);
    const snapshots: PolicyState[] = [];
    const statuses: string[] = [];
    const watch = client.watch({
      onSnapshot: (st) => snapshots.push(st),
      onDelta: () => undefined,
      onStatus: (st) => statuses.push(st),
      backoff: { minMs: 10, maxMs: 50 },
    });
    cleanups.push(() => watch.close());
    await until(() => snapshots.length === 1, 'the first snapshot');
    // Many changes in one turn of the event loop: the stream cannot drain between writes.
    for (let i = 0; i < 50; i++) service.store.attach(member('a1', `c${i}`, `10.240.1.${i + 2}`, ['web']));
    await until(() => snapshots.length >= 2 && snapshots[snapshots.length - 1]!.revision === service.store.revision, 'a snapshot after the drop');
    assert.ok(statuses.includes('disconnected'));
    assert.equal(snapshots[snapshots.length - 1]!.members.length, 50);
  });

  it('a watcher reconnects to a restarted service and gets its new state as a snapshot', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iso-svc-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const address = `unix:${join(dir, 'isolation.sock')}`;
    const dataFile = join(dir, 'state.json');
    let service = await createIsolationService({ auth, dataFile });
    await service.listen(address);
    const client = createIsolationClient({ address, auth });
    cleanups.push(() => client.close());
    await client.registerAgent(a1);
    await client.addRule({ id: 'kept', from: 'web', to: 'db' });
    const states: PolicyState[] = [];
    const statuses: string[] = [];
    const watch = client.watch({
      onSnapshot: (s) => states.push(s),
      onDelta: () => undefined,
      onStatus: (s) => statuses.push(s),
      backoff: { minMs: 20, maxMs: 100 },
    });
    cleanups.push(() => watch.close());
    await until(() => states.length === 1, 'the first snapshot');
    await service.close();
    await until(() => statuses.includes('disconnected'), 'the disconnect');
    service = await createIsolationService({ auth, dataFile });
    cleanups.push(() => service.close());
    await service.listen(address);
    await until(() => states.length === 2, 'the snapshot after the restart');
    assert.equal(states[1]!.epoch, states[0]!.epoch);
    assert.deepEqual(
      states[1]!.rules.map((r) => r.id),
      ['kept'],
    );
  });
});
