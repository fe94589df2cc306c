import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { shellQuote } from './exec.js';

describe('exec helpers', () => {
  it('quotes words for sh, quotes included', () => {
    assert.equal(shellQuote("it's /tmp/a b"), `'it'\\''s /tmp/a b'`);
  });
});
