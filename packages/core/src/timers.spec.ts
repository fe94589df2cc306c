import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sleep, within } from './timers.js';

describe('sleep', () => {
  it('resolves after the time, or at once when its signal aborts', async () => {
    let t = performance.now();
    await sleep(30);
    assert.ok(performance.now() - t >= 25, 'waited');
    const abort = new AbortController();
    t = performance.now();
    setTimeout(() => abort.abort(), 10);
    await sleep(5_000, abort.signal);
    assert.ok(performance.now() - t < 2_000, 'cut short by the abort');
  });
});

describe('within', () => {
  it("gives the promise's value in time, undefined after the bound, and passes a rejection on", async () => {
    assert.equal(await within(Promise.resolve(7), 1_000), 7);
    assert.equal(await within(new Promise<number>(() => undefined), 20), undefined);
    await assert.rejects(within(Promise.reject(new Error('boom')), 1_000), /boom/);
  });
});
