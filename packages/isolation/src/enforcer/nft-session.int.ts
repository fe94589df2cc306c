// The long-running nftables session the enforcer sends set element changes to, with both
// backends against real nftables in a scratch namespace: a transaction is applied when run()
// resolves, a failing one rejects with nft's message and applies nothing (one line = one atomic
// batch), and the session goes on afterwards. Prints the round trip of each backend (a figure,
// not an assertion).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TEST_NET } from '../testing/resources.js';
import { createScratch, type Scratch } from '../testing/scratch.js';
import { buildNftBatchHelper, createNftSession, type NftSessionBackend } from './nft-session.js';

describe('nft session (real nftables, scratch namespace)', () => {
  let s: Scratch;
  before(async () => {
    s = await createScratch();
    await s.addNs('n');
    await s.exec('n', 'nft', ['-f', '-'], { input: 'table inet t {\n set a { type ipv4_addr; }\n set b { type ipv4_addr; }\n}\n' });
  });
  after(async () => {
    await s?.cleanup();
  });

  const elements = async (set: string): Promise<string[]> =>
    [...((await s.sh('n', `nft -j list set inet t ${set}`)).match(/\d+\.\d+\.\d+\.\d+/g) ?? [])].sort();

  it('builds the libnftables helper where cc and libnftables are present (this machine)', async () => {
    assert.ok(await buildNftBatchHelper(), 'ippc-nft-batch did not build: is gcc installed, and libnftables.so.1 (nftables)?');
  });

  for (const backend of ['batch', 'interactive'] as NftSessionBackend[]) {
    it(`${backend}: applies each transaction before it resolves, atomically; a failing one rejects with nft's message, applies nothing, and the session goes on`, async () => {
      await buildNftBatchHelper();
      const session = createNftSession({ table: 't', netns: s.nsPath('n'), backend });
      const ip = (i: number) => `${TEST_NET}.${backend === 'batch' ? 5 : 6}.${i}`;
      try {
        await session.run([`add element inet t a { ${ip(1)} }`, `add element inet t b { ${ip(1)} }`]);
        assert.equal(session.backend, backend);
        assert.ok((await elements('a')).includes(ip(1)));
        assert.ok((await elements('b')).includes(ip(1)));
        // The second command fails: the first one must not apply either.
        await assert.rejects(session.run([`add element inet t a { ${ip(2)} }`, `add element inet t nosuch { ${ip(2)} }`]), /No such file or directory|nosuch/);
        assert.ok(!(await elements('a')).includes(ip(2)));
        const times: number[] = [];
        for (let i = 3; i < 23; i++) {
          const t0 = performance.now();
          await session.run([`add element inet t a { ${ip(i)} }`, `delete element inet t b { ${ip(1)} }`, `add element inet t b { ${ip(1)} }`]);
          times.push(performance.now() - t0);
        }
        await session.run([`delete element inet t a { ${ip(1)}, ${ip(3)} }`]);
        const a = await elements('a');
        assert.ok(!a.includes(ip(1)) && !a.includes(ip(3)) && a.includes(ip(22)));
        times.sort((x, y) => x - y);
        console.log(`  nft session ${backend}: p50 ${times[10]!.toFixed(2)} ms per transaction (n=20)`);
      } finally {
        session.close();
      }
    });
  }
});
