import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeIpamContract } from '../testing/service-contract.js';
import { createEmbeddedStore } from './embedded-store.js';
import { describeStoreContract } from '../testing/store-contract.js';

function embeddedFixture() {
  const root = mkdtempSync(join(tmpdir(), 'ipam-'));
  let n = 0;
  return {
    store(same = false) {
      if (!same) n++;
      return Promise.resolve(createEmbeddedStore({ path: join(root, `db${n}`) }));
    },
    open() {
      return Promise.resolve(createEmbeddedStore({ path: join(root, 'db0') }));
    },
    async cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

describeStoreContract('embedded (LMDB)', async () => embeddedFixture());
describeIpamContract('embedded (LMDB)', async () => embeddedFixture());
