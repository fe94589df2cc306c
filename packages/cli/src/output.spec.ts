import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { table } from './output.js';

describe('cli output', () => {
  it('aligns columns and leaves the last one unpadded', () => {
    assert.equal(table([['A', 'BB', 'C'], ['long', 'x', 'tail']]), 'A     BB  C\nlong  x   tail');
  });
});
