import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { processAlive } from './process.js';

describe('processAlive', () => {
  it('is true for a running process and false for one that has exited and been reaped', () => {
    assert.equal(processAlive(process.pid), true);
    const done = spawnSync(process.execPath, ['-e', '0']);
    assert.equal(processAlive(done.pid!), false);
  });
});
