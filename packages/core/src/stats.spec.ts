import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { percentile, summarize } from './stats.js';

describe('benchmark sample figures', () => {
  it('nearest-rank percentiles, whatever the order of the samples', () => {
    const xs = Array.from({ length: 20 }, (_, i) => 20 - i); // 20..1
    assert.equal(percentile(xs, 50), 10);
    assert.equal(percentile(xs, 95), 19);
    assert.equal(percentile(xs, 100), 20);
    assert.equal(percentile(xs, 0), 1);
    assert.equal(percentile([7], 95), 7);
    assert.ok(Number.isNaN(percentile([], 50)));
  });
  it('summarize: n, p50, p95, mean, min, max; none gives NaN figures', () => {
    assert.deepEqual(summarize([4, 1, 3, 2]), { n: 4, p50: 2, p95: 4, mean: 2.5, min: 1, max: 4 });
    const none = summarize([]);
    assert.equal(none.n, 0);
    assert.ok(Number.isNaN(none.p50) && Number.isNaN(none.mean));
  });
});
