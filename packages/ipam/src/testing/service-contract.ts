import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { isIpamError, type IpamErrorCode } from '../errors.js';
import { createIpamService, type IpamService, type IpamServiceOptions } from '../service.js';
import type { IpamStore } from '../store/store.js';
import type { Handle } from '../types.js';

/** Gives the suite stores: fresh data, or (same = true) the data of the last store again. */
export interface ServiceFixture {
  store(same?: boolean): Promise<IpamStore>;
  cleanup(): Promise<void>;
}

export async function rejectsWith(p: Promise<unknown>, code: IpamErrorCode, message?: RegExp): Promise<Error> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  assert.ok(
    isIpamError(caught, code),
    `expected ${code}, got ${caught instanceof Error ? `${(caught as { code?: string }).code}: ${caught.message}` : String(caught)}`,
  );
  if (message) assert.match((caught as Error).message, message);
  return caught as Error;
}

const h = (containerId: string, network = 'blue', ifName = 'eth0'): Handle => ({ network, containerId, ifName });

/**
 * The behaviour every IPAM deployment must show, whatever the store: the same suite runs on the
 * embedded store (unit tier) and on etcd (integration tier).
 */
export function describeIpamContract(name: string, fixture: () => Promise<ServiceFixture>): void {
  describe(`IPAM contract: ${name}`, () => {
    let fx: ServiceFixture;
    const open: IpamService[] = [];
    let clock = 1_700_000_000_000;
    const now = () => clock;
    async function make(opts: Partial<IpamServiceOptions> = {}, same = false): Promise<IpamService> {
      const svc = createIpamService({ store: await fx.store(same), now, cooldownMs: 30_000, resyncIntervalMs: 0, ...opts });
      open.push(svc);
      await svc.ready();
      return svc;
    }
    before(async () => {
      fx = await fixture();
    });
    afterEach(async () => {
      await Promise.all(open.splice(0).map((s) => s.close()));
    });
    after(async () => fx?.cleanup());

    it('ensures pools idempotently and refuses conflicting or overlapping ones', async () => {
      const svc = await make();
      const first = await svc.ensurePool({ network: 'blue', ranges: [{ subnet: '10.210.1.0/24' }] });
      assert.equal(first.created, true);
      assert.equal(first.pool.spec.id, '10.210.1.0/24');
      assert.equal(first.pool.size, 253n); // .1 gateway, .0 network, .255 broadcast
      const again = await svc.ensurePool({ network: 'blue', ranges: [{ subnet: '10.210.1.0/24', gateway: '10.210.1.1' }] });
      assert.equal(again.created, false);
      await rejectsWith(
        svc.ensurePool({ network: 'blue', id: '10.210.1.0/24', ranges: [{ subnet: '10.210.1.0/25' }] }),
        'IPAM_POOL_CONFLICT',
        /another definition/,
      );
      await rejectsWith(svc.ensurePool({ network: 'blue', ranges: [{ subnet: '10.210.1.128/25' }] }), 'IPAM_POOL_CONFLICT', /overlaps pool '10.210.1.0\/24'/);
      await rejectsWith(svc.ensurePool({ network: 'blue', ranges: [{ subnet: '10.210.1.0/31' }] }), 'IPAM_BAD_REQUEST', /too small/);
      await rejectsWith(svc.ensurePool({ network: 'blue', ranges: [{ subnet: 'nope' }] }), 'IPAM_BAD_REQUEST', /not a CIDR/);
      await rejectsWith(svc.ensurePool({ network: 'b/ad', ranges: [{ subnet: '10.210.9.0/24' }] }), 'IPAM_BAD_REQUEST', /network name/);
      await rejectsWith(
        svc.ensurePool({ network: 'blue', ranges: [{ subnet: '10.210.9.0/24' }, { subnet: 'fd10:210::/64' }] }),
        'IPAM_BAD_REQUEST',
        /mixes IPv4 and IPv6/,
      );
      // Rejected specs leave nothing behind.
      assert.deepEqual(
        (await svc.listPools('blue')).map((p) => p.spec.id),
        ['10.210.1.0/24'],
      );
    });

    it('assigns the first free address after the gateway, one per family, and is idempotent per handle', async () => {
      const svc = await make();
      await svc.ensurePool({ network: 'blue', ranges: [{ subnet: '10.210.1.0/24' }] });
      await svc.ensurePool({ network: 'blue', ranges: [{ subnet: 'fd10:210:1::/64' }] });
      const a = await svc.allocate({ handle: h('c1'), node: 'n1', groups: ['web'], labels: [{ key: 'app', value: 'x' }] });
      assert.equal(a.existing, false);
      assert.deepEqual(
        a.lease.addresses.map((x) => [x.family, x.address, x.prefixLength, x.gateway]),
        [
          [4, '10.210.1.2', 24, '10.210.1.1'],
          [6, 'fd10:210:1::2', 64, 'fd10:210:1::1'],
        ],
      );
      assert.equal(a.lease.owner, 'n1', 'owner defaults to the node');
      assert.deepEqual(a.lease.groups, ['web']);
      const again = await svc.allocate({ handle: h('c1'), node: 'n1' });
      assert.equal(again.existing, true);
      assert.deepEqual(again.lease, a.lease);
      const b = await svc.allocate({ handle: h('c1', 'blue', 'eth1') });
      assert.equal(b.lease.addresses[0]!.address, '10.210.1.3', 'another interface of the same container is another handle');
      assert.ok(b.lease.epoch > a.lease.epoch);
      assert.deepEqual(await svc.getLease(h('c1')), a.lease);
      await rejectsWith(svc.getLease(h('nobody')), 'IPAM_LEASE_NOT_FOUND');
    });

    it('assigns a requested address, refuses a taken one and one outside the pool with distinct codes', async () => {
      const svc = await make();
      await svc.ensurePool({
        network: 'blue',
        ranges: [{ subnet: '10.210.2.0/24', rangeStart: '10.210.2.10', rangeEnd: '10.210.2.20' }],
        exclude: ['10.210.2.15'],
      });
      const a = await svc.allocate({ handle: h('c1'), requests: [{ address: '10.210.2.12' }] });
      assert.equal(a.lease.addresses[0]!.address, '10.210.2.12');
      await rejectsWith(svc.allocate({ handle: h('c2'), requests: [{ address: '10.210.2.12' }] }), 'IPAM_ADDRESS_TAKEN', /already assigned to blue\/c1\/eth0/);
      await rejectsWith(
        svc.allocate({ handle: h('c2'), requests: [{ address: '10.210.3.1' }] }),
        'IPAM_ADDRESS_OUTSIDE_POOL',
        /within 10\.210\.2\.0\/24: 10\.210\.2\.10-10\.210\.2\.14, 10\.210\.2\.16-10\.210\.2\.20$/,
      );
      await rejectsWith(svc.allocate({ handle: h('c2'), requests: [{ address: '10.210.2.30' }] }), 'IPAM_ADDRESS_OUTSIDE_POOL');
      await rejectsWith(
        svc.allocate({ handle: h('c2'), requests: [{ address: '10.210.2.15' }] }),
        'IPAM_ADDRESS_OUTSIDE_POOL',
        /reserved .*; request another address within 10\.210\.2\.10-10\.210\.2\.14, 10\.210\.2\.16-10\.210\.2\.20$/,
      );
      await rejectsWith(svc.allocate({ handle: h('c2', 'green') }), 'IPAM_UNKNOWN_NETWORK', /no address pools/);
      await rejectsWith(svc.allocate({ handle: h('c2'), requests: [{ address: 'not-an-ip' }] }), 'IPAM_BAD_REQUEST');
      await rejectsWith(svc.allocate({ handle: { network: 'blue', containerId: '-bad', ifName: 'eth0' } }), 'IPAM_BAD_REQUEST', /container id/);
      await rejectsWith(svc.allocate({ handle: { network: 'blue', containerId: 'c2', ifName: 'x/y' } }), 'IPAM_BAD_REQUEST', /interface name/);
      await rejectsWith(svc.allocate({ handle: h('c1'), requests: [{ address: '10.210.2.13' }] }), 'IPAM_BAD_REQUEST', /already holds 10\.210\.2\.12/);
      // None of the refused requests left anything behind.
      assert.deepEqual(
        (await svc.listLeases()).map((l) => l.handle.containerId),
        ['c1'],
      );
      assert.equal((await svc.listPools('blue'))[0]!.used, 1);
    });

    it('offers in its messages only addresses it can assign (never the network, gateway, broadcast or an excluded one)', async () => {
      const svc = await make();
      await svc.ensurePool({ network: 'msg', ranges: [{ subnet: '10.210.12.0/24' }] });
      const gw = await rejectsWith(svc.allocate({ handle: h('g', 'msg'), requests: [{ address: '10.210.12.1' }] }), 'IPAM_ADDRESS_OUTSIDE_POOL');
      assert.match(gw.message, /^10\.210\.12\.1 is the gateway of pool '10\.210\.12\.0\/24'/);
      assert.match(gw.message, /request another address within 10\.210\.12\.2-10\.210\.12\.254$/);
      const bcast = await rejectsWith(svc.allocate({ handle: h('b', 'msg'), requests: [{ address: '10.210.12.255' }] }), 'IPAM_ADDRESS_OUTSIDE_POOL');
      assert.match(bcast.message, /within 10\.210\.12\.0\/24: 10\.210\.12\.2-10\.210\.12\.254$/);
      const outside = await rejectsWith(svc.allocate({ handle: h('o', 'msg'), requests: [{ address: '10.210.13.9' }] }), 'IPAM_ADDRESS_OUTSIDE_POOL');
      assert.match(outside.message, /request an address within 10\.210\.12\.0\/24: 10\.210\.12\.2-10\.210\.12\.254$/);
      // Many excluded addresses: the first stretches and how many more.
      await svc.ensurePool({
        network: 'holes',
        ranges: [{ subnet: '10.210.14.0/24' }],
        exclude: ['10.210.14.10', '10.210.14.20', '10.210.14.30', '10.210.14.40', '10.210.14.50'],
      });
      const holes = await rejectsWith(svc.allocate({ handle: h('x', 'holes'), requests: [{ address: '10.210.14.20' }] }), 'IPAM_ADDRESS_OUTSIDE_POOL');
      assert.match(
        holes.message,
        /within 10\.210\.14\.2-10\.210\.14\.9, 10\.210\.14\.11-10\.210\.14\.19, 10\.210\.14\.21-10\.210\.14\.29, 10\.210\.14\.31-10\.210\.14\.39 and 2 more$/,
      );
      // An exhausted pool names what it hands out.
      await svc.ensurePool({ network: 'two', ranges: [{ subnet: '10.210.15.0/30' }] }); // .1 gateway, .2 the only address
      await svc.allocate({ handle: h('a', 'two') });
      await rejectsWith(svc.allocate({ handle: h('b', 'two') }), 'IPAM_POOL_EXHAUSTED', /10\.210\.15\.0\/30 \(10\.210\.15\.2\): 1 assigned/);
    });

    it('assigns nothing when one address of a multi-address request fails (no half assignment)', async () => {
      const svc = await make();
      await svc.ensurePool({ network: 'blue', ranges: [{ subnet: '10.210.3.0/24' }] });
      await svc.ensurePool({ network: 'blue', ranges: [{ subnet: 'fd10:210:3::/64' }] });
      await svc.allocate({ handle: h('holder'), requests: [{ address: 'fd10:210:3::9' }] });
      await rejectsWith(svc.allocate({ handle: h('c1'), requests: [{ family: 4 }, { address: 'fd10:210:3::9' }] }), 'IPAM_ADDRESS_TAKEN');
      const pools = await svc.listPools('blue');
      assert.deepEqual(
        pools.map((p) => [p.spec.id, p.used]),
        [
          ['10.210.3.0/24', 0],
          ['fd10:210:3::/64', 1],
        ],
      );
      const ok = await svc.allocate({ handle: h('c1'), requests: [{ family: 4 }, { family: 4 }, { family: 6 }] });
      assert.deepEqual(
        ok.lease.addresses.map((a) => a.address),
        ['10.210.3.2', '10.210.3.3', 'fd10:210:3::2'],
      );
    });

    it('exhausts with a clear message, counts cooling addresses as unavailable, and reuses after the cool-down', async () => {
      const svc = await make({ cooldownMs: 10_000 });
      await svc.ensurePool({ network: 'tiny', ranges: [{ subnet: '10.210.4.0/29' }] }); // .2-.6: 5 addresses
      const leases = [];
      for (let i = 0; i < 5; i++) leases.push((await svc.allocate({ handle: h(`c${i}`, 'tiny') })).lease);
      await rejectsWith(svc.allocate({ handle: h('c5', 'tiny') }), 'IPAM_POOL_EXHAUSTED', /5 assigned, 0 cooling of 5; release leaked leases/);
      await svc.release(leases[0]!.handle);
      const err = await rejectsWith(svc.allocate({ handle: h('c5', 'tiny') }), 'IPAM_POOL_EXHAUSTED', /still cooling down \(the first is free again in 10 s\)/);
      assert.equal((err as { details?: { retryAfterMs?: number } }).details?.retryAfterMs, 10_000);
      assert.equal((await svc.listPools('tiny'))[0]!.cooling, 1);
      clock += 10_000;
      const reused = await svc.allocate({ handle: h('c5', 'tiny') });
      assert.equal(reused.lease.addresses[0]!.address, '10.210.4.2');
      assert.equal((await svc.listPools('tiny'))[0]!.cooling, 0);
    });

    it('gives a cooling address at once to a request that names it, fenced against late releases of the old lease', async () => {
      const svc = await make({ cooldownMs: 30_000 });
      await svc.ensurePool({ network: 'named', ranges: [{ subnet: '10.210.11.0/29' }] }); // .2-.6
      const old = (await svc.allocate({ handle: h('old', 'named'), requests: [{ address: '10.210.11.4' }] })).lease;
      await svc.release(old.handle, old.epoch);
      // An automatic pick never gets it while it cools...
      const others = [];
      for (let i = 0; i < 4; i++) others.push((await svc.allocate({ handle: h(`o${i}`, 'named') })).lease.addresses[0]!.address);
      assert.ok(!others.includes('10.210.11.4'), others.join());
      await rejectsWith(svc.allocate({ handle: h('auto', 'named') }), 'IPAM_POOL_EXHAUSTED', /1 cooling/);
      // ...but the restarted task that asks for it by name gets it straight back.
      const again = (await svc.allocate({ handle: h('new', 'named'), requests: [{ address: '10.210.11.4' }] })).lease;
      assert.equal(again.addresses[0]!.address, '10.210.11.4');
      assert.ok(again.epoch > old.epoch);
      assert.equal((await svc.listPools('named'))[0]!.cooling, 0);
      // A late or repeated release of the old lease frees nothing of the new one.
      assert.deepEqual(await svc.release(old.handle, old.epoch), { released: [], stale: false });
      assert.deepEqual(await svc.release(old.handle), { released: [], stale: false });
      assert.equal((await svc.releaseAddress('named', '10.210.11.4', old.epoch)).stale, true);
      assert.deepEqual(await svc.getLease(h('new', 'named')), again);
      await rejectsWith(
        svc.allocate({ handle: h('third', 'named'), requests: [{ address: '10.210.11.4' }] }),
        'IPAM_ADDRESS_TAKEN',
        /already assigned to named\/new\/eth0/,
      );
      // Released again, the same handle asking again also gets it at once (a restart in place).
      await svc.release(again.handle, again.epoch);
      const same = (await svc.allocate({ handle: h('new', 'named'), requests: [{ address: '10.210.11.4' }] })).lease;
      assert.ok(same.epoch > again.epoch);
      assert.equal((await svc.release(again.handle, again.epoch)).stale, true, 'the earlier epoch of the same handle is fenced');
      assert.deepEqual(await svc.getLease(h('new', 'named')), same);
    });

    it('does not hand a released address out again before the ranges run through (round robin)', async () => {
      const svc = await make({ cooldownMs: 0 });
      await svc.ensurePool({ network: 'rr', ranges: [{ subnet: '10.210.5.0/24' }] });
      const a = await svc.allocate({ handle: h('a', 'rr') });
      await svc.release(a.lease.handle);
      const b = await svc.allocate({ handle: h('b', 'rr') });
      assert.equal(a.lease.addresses[0]!.address, '10.210.5.2');
      assert.equal(b.lease.addresses[0]!.address, '10.210.5.3');
    });

    it('asks the reuse guard before reusing a cooled address', async () => {
      let allow = false;
      const asked: string[] = [];
      const svc = await make({
        cooldownMs: 1_000,
        reuseGuard: (c) => {
          asked.push(`${c.address} from ${c.previousHolder}`);
          return allow;
        },
      });
      await svc.ensurePool({ network: 'g', ranges: [{ subnet: '10.210.6.0/30' }] }); // one address: .2
      const a = await svc.allocate({ handle: h('a', 'g') });
      await svc.release(a.lease.handle);
      clock += 1_000;
      await rejectsWith(svc.allocate({ handle: h('b', 'g') }), 'IPAM_POOL_EXHAUSTED');
      // A shared store re-reads once before refusing, so the guard may be asked twice.
      assert.ok(asked.length >= 1 && asked.every((x) => x === '10.210.6.2 from g/a/eth0'), asked.join());
      allow = true;
      assert.equal((await svc.allocate({ handle: h('b', 'g') })).lease.addresses[0]!.address, '10.210.6.2');
    });

    it('fences late releases by epoch: a stale release frees nothing', async () => {
      const svc = await make({ cooldownMs: 0 });
      await svc.ensurePool({ network: 'f', ranges: [{ subnet: '10.210.7.0/30' }] });
      const first = await svc.allocate({ handle: h('a', 'f') });
      await svc.release(first.lease.handle, first.lease.epoch);
      const second = await svc.allocate({ handle: h('a', 'f') }); // same handle, same (only) address, new epoch
      assert.equal(second.lease.addresses[0]!.address, first.lease.addresses[0]!.address);
      assert.ok(second.lease.epoch > first.lease.epoch);
      const late = await svc.release(first.lease.handle, first.lease.epoch);
      assert.deepEqual(late, { released: [], stale: true });
      const lateByAddress = await svc.releaseAddress('f', '10.210.7.2', first.lease.epoch);
      assert.equal(lateByAddress.stale, true);
      assert.deepEqual(await svc.getLease(h('a', 'f')), second.lease);
      const byAddress = await svc.releaseAddress('f', '10.210.7.2', second.lease.epoch);
      assert.equal(byAddress.released.length, 1);
      await rejectsWith(svc.releaseAddress('f', '10.210.7.2', 0), 'IPAM_BAD_REQUEST', /epoch is required/);
      assert.deepEqual(await svc.release(h('a', 'f')), { released: [], stale: false }, 'releasing nothing succeeds');
    });

    it('releases by owner across networks', async () => {
      const svc = await make();
      await svc.ensurePool({ network: 'o1', ranges: [{ subnet: '10.210.8.0/24' }] });
      await svc.ensurePool({ network: 'o2', ranges: [{ subnet: '10.210.9.0/24' }] });
      await svc.allocate({ handle: h('a', 'o1'), owner: 'agent-1' });
      await svc.allocate({ handle: h('a', 'o2'), owner: 'agent-1' });
      await svc.allocate({ handle: h('b', 'o1'), owner: 'agent-2' });
      const r = await svc.releaseByOwner('agent-1');
      assert.deepEqual(r.released.map((l) => `${l.handle.network}/${l.handle.containerId}`).sort(), ['o1/a', 'o2/a']);
      assert.deepEqual(
        (await svc.listLeases()).map((l) => l.owner),
        ['agent-2'],
      );
      await rejectsWith(svc.releaseByOwner(''), 'IPAM_BAD_REQUEST');
    });

    it('collects garbage only after two observations, scoped to a node, and never a valid handle', async () => {
      const svc = await make();
      await svc.ensurePool({ network: 'gc', ranges: [{ subnet: '10.210.10.0/24' }] });
      await svc.allocate({ handle: h('live', 'gc'), node: 'n1' });
      await svc.allocate({ handle: h('leak', 'gc'), node: 'n1' });
      await svc.allocate({ handle: h('other', 'gc'), node: 'n2' });
      const valid = [{ containerId: 'live', ifName: 'eth0' }];
      const first = await svc.garbageCollect({ network: 'gc', node: 'n1', valid });
      assert.deepEqual(first.reclaimed, []);
      assert.deepEqual(
        first.suspected.map((l) => l.handle.containerId),
        ['leak'],
      );
      const second = await svc.garbageCollect({ network: 'gc', node: 'n1', valid });
      assert.deepEqual(
        second.reclaimed.map((l) => l.handle.containerId),
        ['leak'],
      );
      assert.deepEqual((await svc.listLeases({ network: 'gc' })).map((l) => l.handle.containerId).sort(), ['live', 'other']);
      // A suspect that comes back to life (valid again) is forgotten.
      await svc.garbageCollect({ network: 'gc', node: 'n2', valid: [] });
      await svc.garbageCollect({ network: 'gc', node: 'n2', valid: [{ containerId: 'other', ifName: 'eth0' }] });
      const third = await svc.garbageCollect({ network: 'gc', node: 'n2', valid: [] });
      assert.deepEqual(third.reclaimed, []);
      assert.deepEqual(
        third.suspected.map((l) => l.handle.containerId),
        ['other'],
      );
    });

    it('does not reclaim a handle that was re-assigned between the two observations (epoch fence)', async () => {
      const svc = await make({ cooldownMs: 0 });
      await svc.ensurePool({ network: 'gc2', ranges: [{ subnet: '10.210.11.0/24' }] });
      const a = await svc.allocate({ handle: h('x', 'gc2') });
      await svc.garbageCollect({ network: 'gc2', valid: [] });
      await svc.release(a.lease.handle);
      const b = await svc.allocate({ handle: h('x', 'gc2') });
      const r = await svc.garbageCollect({ network: 'gc2', valid: [] });
      assert.deepEqual(r.reclaimed, [], 'a new epoch is a new first observation');
      assert.deepEqual((await svc.getLease(h('x', 'gc2'))).epoch, b.lease.epoch);
    });

    it('draws from the pools of the asking node, and from shared pools otherwise', async () => {
      const svc = await make();
      await svc.ensurePool({ network: 'aff', node: 'n1', ranges: [{ subnet: '10.210.12.0/24' }] });
      await svc.ensurePool({ network: 'aff', node: 'n2', ranges: [{ subnet: '10.210.13.0/24' }] });
      assert.equal((await svc.allocate({ handle: h('a', 'aff'), node: 'n1' })).lease.addresses[0]!.address, '10.210.12.2');
      assert.equal((await svc.allocate({ handle: h('b', 'aff'), node: 'n2' })).lease.addresses[0]!.address, '10.210.13.2');
      await rejectsWith(svc.allocate({ handle: h('c', 'aff'), node: 'n3' }), 'IPAM_UNKNOWN_NETWORK', /no pool for node 'n3'/);
      assert.equal((await svc.allocate({ handle: h('d', 'aff'), requests: [{ pool: '10.210.13.0/24' }] })).lease.addresses[0]!.address, '10.210.13.3');
      await rejectsWith(svc.allocate({ handle: h('e', 'aff'), requests: [{ pool: 'nope' }] }), 'IPAM_UNKNOWN_NETWORK', /no pool 'nope'/);
    });

    it('walks several ranges in order, skipping gateways and exclusions', async () => {
      const svc = await make();
      await svc.ensurePool({
        network: 'multi',
        ranges: [
          { subnet: '10.210.14.0/24', rangeStart: '10.210.14.1', rangeEnd: '10.210.14.3' },
          { subnet: '10.210.15.0/24', rangeStart: '10.210.15.5', rangeEnd: '10.210.15.7', gateway: '10.210.15.6' },
        ],
        exclude: ['10.210.14.3/32'],
      });
      const got = [];
      for (let i = 0; i < 3; i++) got.push((await svc.allocate({ handle: h(`m${i}`, 'multi') })).lease.addresses[0]);
      assert.deepEqual(
        got.map((a) => [a!.address, a!.gateway, a!.prefixLength]),
        [
          ['10.210.14.2', '10.210.14.1', 24],
          ['10.210.15.5', '10.210.15.6', 24],
          ['10.210.15.7', '10.210.15.6', 24],
        ],
      );
      await rejectsWith(svc.allocate({ handle: h('m9', 'multi') }), 'IPAM_POOL_EXHAUSTED');
    });

    it('gives 64 concurrent allocations 64 distinct addresses, and one lease to 16 concurrent retries of one handle', async () => {
      const svc = await make();
      await svc.ensurePool({ network: 'conc', ranges: [{ subnet: '10.210.16.0/24' }] });
      await svc.ensurePool({ network: 'conc', ranges: [{ subnet: 'fd10:210:16::/120' }] });
      const results = await Promise.all(Array.from({ length: 64 }, (_, i) => svc.allocate({ handle: h(`c${i}`, 'conc') })));
      const all = results.flatMap((r) => r.lease.addresses.map((a) => a.address));
      assert.equal(all.length, 128);
      assert.equal(new Set(all).size, 128);
      const same = await Promise.all(Array.from({ length: 16 }, () => svc.allocate({ handle: h('dup', 'conc') })));
      assert.equal(new Set(same.map((r) => r.lease.epoch)).size, 1);
      assert.equal(same.filter((r) => !r.existing).length, 1);
    });

    it('allocates from a /8 as from a /24, and from IPv6 /64 pools', async () => {
      const svc = await make();
      await svc.ensurePool({ network: 'big', ranges: [{ subnet: '10.0.0.0/8' }] });
      await svc.ensurePool({ network: 'big6', ranges: [{ subnet: 'fd10:210:ffff::/64' }] });
      const pools = await svc.listPools();
      assert.equal(pools.find((p) => p.spec.network === 'big')!.size, 16_777_213n);
      assert.equal(pools.find((p) => p.spec.network === 'big6')!.size, 2n ** 64n - 2n);
      assert.equal((await svc.allocate({ handle: h('a', 'big') })).lease.addresses[0]!.address, '10.0.0.2');
      assert.equal((await svc.allocate({ handle: h('a', 'big6') })).lease.addresses[0]!.address, 'fd10:210:ffff::2');
    });

    it('keeps leases, cooling addresses and epochs across a restart', async () => {
      let svc = await make({ cooldownMs: 60_000 });
      await svc.ensurePool({ network: 'p', ranges: [{ subnet: '10.210.17.0/29' }] });
      const a = await svc.allocate({ handle: h('a', 'p') });
      const b = await svc.allocate({ handle: h('b', 'p') });
      await svc.release(b.lease.handle);
      await svc.close();
      open.splice(open.indexOf(svc), 1);
      svc = await make({ cooldownMs: 60_000 }, true);
      assert.deepEqual(await svc.getLease(h('a', 'p')), a.lease);
      assert.equal((await svc.listPools('p'))[0]!.cooling, 1);
      const c = await svc.allocate({ handle: h('c', 'p') });
      assert.equal(c.lease.addresses[0]!.address, '10.210.17.4', 'neither the assigned .2 nor the cooling .3');
      assert.ok(c.lease.epoch > b.lease.epoch);
    });
  });
}
