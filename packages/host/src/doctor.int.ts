// `doctor` on this (bootstrapped) host: every check runs, and a prepared host is ready.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diagnose } from './doctor.js';

describe('doctor on a prepared host', () => {
  it('runs every check, changes nothing, and finds the host ready', async () => {
    const d = await diagnose();
    const ids = d.checks.map((c) => c.id);
    for (const id of ['node', 'root', 'dockerd', 'cni-plugins', 'images', 'netns', 'links', 'nftables', 'ipv6'])
      assert.ok(ids.includes(id), `check ${id} missing: ${ids.join(',')}`);
    const bad = d.checks.filter((c) => c.status === 'fail' || c.status === 'missing');
    assert.deepEqual(bad, []);
    assert.equal(d.ready, true);
  });
});
