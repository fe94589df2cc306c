import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createIpamClient } from './client.js';
import { runCrashStorm } from './testing/crash-storm.js';
import { startEtcd, type TestEtcd } from './testing/etcd.js';
import { startServerProcess } from './testing/server-process.js';

// kill -9 the service process repeatedly during a 64-client allocation storm; after a restart
// every acknowledged handle still maps to its address and no address is held twice.

const TOKEN = 'crash-token';

async function ensurePool(address: string, network: string): Promise<void> {
  const c = createIpamClient({ address, auth: { token: TOKEN } });
  try {
    await c.ensurePool({ network, ranges: [{ subnet: '10.210.64.0/18' }] });
  } finally {
    c.close();
  }
}

describe('crash safety: kill -9 during a 64-client allocation storm', () => {
  let tmp: string;
  let etcd: TestEtcd;
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'ipam-'));
    etcd = await startEtcd();
  });
  after(async () => {
    await etcd?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  for (const kind of ['embedded', 'etcd'] as const) {
    it(`${kind} store: no lost assignment, no duplicate, after repeated kill -9`, async (t) => {
      const storeArgs = kind === 'embedded' ? [`--data_dir=${join(tmp, 'db')}`] : [`--etcd=${etcd.endpoint}`, `--etcd_prefix=/crash/${randomUUID()}/`];
      let first = true;
      const result = await runCrashStorm({
        token: TOKEN,
        network: 'storm',
        clients: 64,
        perClient: 20,
        kills: 6,
        killEveryMs: 500,
        start: async (port) => {
          const s = await startServerProcess([...storeArgs, `--listen=127.0.0.1:${port}`, '--http=off'], { IPPC_TOKEN: TOKEN });
          if (first) {
            await ensurePool(s.address, 'storm');
            first = false;
          }
          return s;
        },
      });
      t.diagnostic(`kills=${result.kills} acknowledged=${result.acknowledged} retried calls=${result.retriedCalls} leases=${result.leases} in ${result.ms} ms`);
      assert.deepEqual(result.duplicates, [], 'no address held twice');
      assert.deepEqual(result.lost, [], 'every acknowledged assignment survived');
      assert.deepEqual(result.changed, [], 'and kept its address and epoch');
      assert.equal(result.kills, 6);
      assert.ok(result.acknowledged >= 64 * 20);
      assert.equal(result.leases, result.acknowledged, 'one lease per handle, retries included');
    });
  }
});
