import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { schedulerv1, type Offer } from '@ippc/proto';
import { Scheduler } from './client.js';
import type { SchedulerContext } from './context.js';
import { onEvent } from './subscription.js';

// What the client does with its offers when an ACCEPT or DECLINE call fails: the seam is `send`
// (the call to the master), replaced here; events go through the same handler the stream feeds
// (subscription.ts's onEvent).

const offer = (id: string): Offer => ({ id: { value: id }, agentId: { value: 'a1' }, hostname: 'h', resources: [] }) as unknown as Offer;

function scheduler(): Scheduler {
  const s = new Scheduler({ master: '127.0.0.1:9', auth: { disabled: true }, framework: { name: 'spec' }, reconnect: false } as never);
  s.offers.set('o1', offer('o1'));
  s.offers.set('o2', offer('o2'));
  return s;
}

describe('Scheduler offers around a failed call', () => {
  it('puts the offers back when ACCEPT fails, and spends them when it succeeds', async () => {
    const s = scheduler();
    s.send = async () => {
      throw new Error('UNAVAILABLE: no connection');
    };
    await assert.rejects(s.launch(['o1', 'o2'], []), /UNAVAILABLE/);
    assert.deepEqual([...s.offers.keys()].sort(), ['o1', 'o2']);
    await assert.rejects(s.decline(['o1']), /UNAVAILABLE/);
    assert.ok(s.offers.has('o1'));
    s.send = async () => undefined;
    await s.launch(['o1'], []);
    assert.deepEqual([...s.offers.keys()], ['o2']);
  });

  it('does not put back an offer the master rescinded while the call was out', async () => {
    const s = scheduler();
    s.send = async () => {
      onEvent((s as unknown as { ctx: SchedulerContext }).ctx, {
        type: schedulerv1.Event_Type.RESCIND,
        rescind: { offerId: { value: 'o1' } },
      } as schedulerv1.Event);
      throw new Error('DEADLINE_EXCEEDED');
    };
    await assert.rejects(s.launch(['o1', 'o2'], []));
    assert.deepEqual([...s.offers.keys()], ['o2']);
  });
});
