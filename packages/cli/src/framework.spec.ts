import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { lockFramework } from './framework.js';

describe('one ippc task command per cluster at a time', () => {
  it('a second command waits until the first releases the framework', async () => {
    const cluster = `spec-${randomBytes(4).toString('hex')}`;
    const release = await lockFramework(cluster);
    let second = false;
    const waiting = lockFramework(cluster).then((r) => ((second = true), r));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(second, false, 'still waiting while the first holds it');
    await release();
    const release2 = await waiting;
    assert.equal(second, true);
    await release2();
  });

  it('takes over the lock of a command that died, and gives up on a live holder after the timeout', async () => {
    const cluster = `spec-${randomBytes(4).toString('hex')}`;
    const path = join(tmpdir(), `ippc-cli-${cluster}.lock`);
    await writeFile(path, '999999999'); // no such process
    const release = await lockFramework(cluster, 1000);
    assert.equal(await readFile(path, 'utf8'), String(process.pid));
    await assert.rejects(lockFramework(cluster, 200), { code: 'CLI_UNAVAILABLE' });
    await release();
  });
});
