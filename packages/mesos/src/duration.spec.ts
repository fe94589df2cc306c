import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDuration } from './duration.js';

describe('durations', () => {
  it('parses Mesos duration flags', () => {
    assert.equal(parseDuration('15secs'), 15_000);
    assert.equal(parseDuration('100ms'), 100);
    assert.equal(parseDuration('1.5mins'), 90_000);
    assert.throws(() => parseDuration('15'), /number and a unit/);
    assert.throws(() => parseDuration('5 parsecs'), { code: 'DURATION_INVALID', message: /Invalid duration/ });
  });
});
