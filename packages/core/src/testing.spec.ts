import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { packageBin, sh } from './testing.js';

describe('packageBin', () => {
  it("finds an executable from its package's bin entry, and names the ones there are otherwise", () => {
    const path = packageBin('@ippc/host', 'ippc-host');
    assert.match(path, /packages\/host\/src\/bin\/ippc-host\.ts$/);
    assert.ok(existsSync(path));
    assert.throws(() => packageBin('@ippc/host', 'ippc-nothing'), /@ippc\/host has no executable 'ippc-nothing' \(its bin entries: ippc-host\)/);
    assert.throws(() => packageBin('@ippc/proto', 'x'), /its bin entries: none/);
  });
});

describe('sh', () => {
  it('returns what a command printed, and throws with the command and its stderr when it fails', async () => {
    assert.equal(await sh('sh', ['-c', 'echo out; echo err >&2']), 'out\n');
    await assert.rejects(sh('sh', ['-c', 'echo broken >&2; exit 3']), (err: Error) => err.message === 'sh -c echo broken >&2; exit 3: broken');
  });
});
