import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderTable } from './table.js';

describe('renderTable', () => {
  it('aligns columns with two spaces and leaves the last column unpadded', () => {
    assert.equal(
      renderTable([
        ['NAME', 'IP', 'STATE'],
        ['web-1', '10.240.1.2', 'TASK_RUNNING'],
        ['db', '10.240.2.10', 'TASK_STAGING'],
      ]),
      'NAME   IP           STATE\nweb-1  10.240.1.2   TASK_RUNNING\ndb     10.240.2.10  TASK_STAGING',
    );
    assert.equal(renderTable([]), '');
  });

  it("aligns columns and leaves the last one unpadded (the ippc CLI's case)", () => {
    assert.equal(
      renderTable([
        ['A', 'BB', 'C'],
        ['long', 'x', 'tail'],
      ]),
      'A     BB  C\nlong  x   tail',
    );
  });
});
