import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { exists, writeAtomic } from './files.js';

describe('writeAtomic', () => {
  it('replaces the file whole, from concurrent writers too, and leaves no temporary file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'core-files-'));
    try {
      const file = join(dir, 'state.json');
      await writeAtomic(file, 'first');
      assert.equal(readFileSync(file, 'utf8'), 'first');
      const texts = Array.from({ length: 20 }, (_, i) => `writer ${i} `.repeat(1000));
      await Promise.all(texts.map((t) => writeAtomic(file, t)));
      assert.ok(texts.includes(readFileSync(file, 'utf8')), 'one whole text');
      await writeAtomic(file, new Uint8Array([1, 2, 3]));
      assert.deepEqual([...readFileSync(file)], [1, 2, 3]);
      assert.deepEqual(readdirSync(dir), ['state.json']);
      assert.equal(await exists(file), true);
      assert.equal(await exists(dir), true);
      assert.equal(await exists(join(dir, 'nothing')), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
