import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff } from './backoff.js';

describe('Backoff', () => {
  it('grows by the factor up to the maximum and starts over on reset', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0 });
    assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next()], [100, 200, 400, 800, 1000]);
    b.reset();
    assert.equal(b.next(), 100);
    const slow = new Backoff({ initialMs: 10, maxMs: 100, factor: 3, jitter: 0 });
    assert.deepEqual([slow.next(), slow.next(), slow.next()], [10, 30, 90]);
  });

  it('takes at most the jitter fraction off each delay', () => {
    const b = new Backoff({ initialMs: 1000, maxMs: 1000 });
    const delays = Array.from({ length: 200 }, () => b.next());
    assert.ok(
      delays.every((d) => d > 500 && d <= 1000),
      'equal jitter: between half and all of the delay',
    );
    assert.ok(new Set(delays).size > 100, 'the delays differ');
  });
});
