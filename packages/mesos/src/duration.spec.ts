import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, parseDuration } from './duration.js';

describe('durations', () => {
  it('parses Mesos duration flags', () => {
    assert.equal(parseDuration('15secs'), 15_000);
    assert.equal(parseDuration('100ms'), 100);
    assert.equal(parseDuration('1.5mins'), 90_000);
    assert.throws(() => parseDuration('15'), /number and a unit/);
    assert.throws(() => parseDuration('5 parsecs'), { code: 'DURATION_INVALID', message: /Invalid duration/ });
  });

  it('prints durations as stout does, in the largest unit unless one smaller gives a whole number', () => {
    const cases: [number, string][] = [
      [2000, '2secs'],
      [500, '500ms'],
      [900_000, '15mins'],
      [60_000, '1mins'],
      [1500, '1500ms'],
      [90_000, '90secs'],
      [90_500, '1.50833333333333mins'],
      [7_200_000, '2hrs'],
      [0.25, '250us'],
      [0, '0ns'],
    ];
    for (const [ms, text] of cases) assert.equal(formatDuration(ms), text, `${ms} ms`);
  });
});
