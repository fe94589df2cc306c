import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatIp, parseIp } from '@ippc/core';
import { compilePool } from '../pool.js';
import { addPool, PoolState, type NetworkState } from './pool-state.js';

const ip = (text: string) => parseIp(text)!.value;
const text = (v: bigint | undefined) => (v === undefined ? undefined : formatIp(4, v));

describe('pool state (the in-memory index)', () => {
  it('hands out fresh addresses round robin across ranges, skipping the gateway, exclusions and entries', () => {
    const ps = new PoolState(compilePool({ network: 'n', ranges: [{ subnet: '10.210.1.0/29' }, { subnet: '10.210.2.0/30' }], exclude: ['10.210.1.4'] }));
    ps.set(ip('10.210.1.3'), { state: 'assigned', rev: 1, holder: 'lease/n/x/eth0' });
    const take = () => {
      const v = ps.nextFree();
      if (v !== undefined) ps.set(v, { state: 'pending', rev: 0 });
      return text(v);
    };
    assert.equal(take(), '10.210.1.2');
    ps.set(ip('10.210.1.2'), undefined); // released at once
    assert.deepEqual([take(), take(), take()], ['10.210.1.5', '10.210.1.6', '10.210.2.2'], "not .2 again before the walk comes round (host-local's order)");
    assert.equal(take(), '10.210.1.2', 'the walk wraps to the first range');
    assert.equal(ps.freeCount(), 0n);
    assert.equal(take(), undefined);
  });

  it('keeps its counters and cooling queue in step with the entries', () => {
    const ps = new PoolState(compilePool({ network: 'n', ranges: [{ subnet: '10.210.1.0/28' }] }));
    assert.equal(ps.freeCount(), 13n);
    ps.set(ip('10.210.1.2'), { state: 'assigned', rev: 1 });
    ps.set(ip('10.210.1.3'), { state: 'cooling', rev: 2, releasedAtMs: 50, coolUntilMs: 150 });
    ps.set(ip('10.210.1.4'), { state: 'cooling', rev: 3, releasedAtMs: 100, coolUntilMs: 200 });
    ps.set(ip('10.210.1.5'), { state: 'pending', rev: 0 });
    assert.deepEqual([ps.assigned, ps.cooling, ps.pending, ps.freeCount()], [1, 2, 1, 9n]);
    assert.deepEqual(ps.coolingNow(120), { count: 2, nextFreeAtMs: 150 });
    assert.deepEqual(ps.coolingNow(160), { count: 1, nextFreeAtMs: 200 });
    assert.deepEqual(
      ps.reusable(160).map(([v]) => text(v)),
      ['10.210.1.3'],
    );
    assert.deepEqual(
      ps.reusable(300).map(([v]) => text(v)),
      ['10.210.1.3', '10.210.1.4'],
      'oldest release first',
    );
    ps.set(ip('10.210.1.3'), { state: 'assigned', rev: 4 });
    ps.set(ip('10.210.1.4'), undefined);
    assert.deepEqual([ps.assigned, ps.cooling, ps.pending, ps.freeCount()], [2, 0, 1, 10n]);
    assert.deepEqual(ps.reusable(300), []);
  });

  it('adds a pool to the index once', () => {
    const networks = new Map<string, NetworkState>();
    const pool = compilePool({ network: 'n', ranges: [{ subnet: '10.210.1.0/24' }] });
    const ps = addPool(networks, pool);
    assert.equal(addPool(networks, compilePool({ network: 'n', ranges: [{ subnet: '10.210.1.0/24' }] })), ps);
    assert.deepEqual([...networks.get('n')!.pools.keys()], ['10.210.1.0/24']);
  });
});
