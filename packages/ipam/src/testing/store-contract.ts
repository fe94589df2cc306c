import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IpamStore } from '../store/store.js';

/** How a contract suite gets a store: open (fresh data), reopen (same data), cleanup. */
export interface StoreFixture {
  open(): Promise<IpamStore>;
  cleanup(): Promise<void>;
}

/**
 * The IpamStore contract: every store (embedded, etcd) runs this same suite. The allocator's
 * uniqueness rests on `commit` being atomic and conditional, so most checks are about that.
 */
export function describeStoreContract(name: string, fixture: () => Promise<StoreFixture>): void {
  describe(`IpamStore contract: ${name}`, () => {
    let fx: StoreFixture;
    let store: IpamStore;
    before(async () => {
      fx = await fixture();
      store = await fx.open();
    });
    after(async () => {
      await store?.close();
      await fx?.cleanup();
    });

    it('creates a key only when it is absent, and reports the revision it carries', async () => {
      assert.equal(await store.get('t1/a'), undefined);
      const r = await store.commit([{ key: 't1/a', modRevision: 0 }], [{ key: 't1/a', value: { n: 1 } }]);
      assert.ok(r.ok && r.revision > 0);
      const e = await store.get<{ n: number }>('t1/a');
      assert.deepEqual(e, { key: 't1/a', value: { n: 1 }, modRevision: r.ok ? r.revision : -1 });
      const again = await store.commit([{ key: 't1/a', modRevision: 0 }], [{ key: 't1/a', value: { n: 2 } }]);
      assert.deepEqual(again, { ok: false });
      assert.deepEqual((await store.get('t1/a'))?.value, { n: 1 });
    });

    it('applies all writes of a commit or none of them', async () => {
      const r1 = await store.commit([], [{ key: 't2/x', value: 1 }]);
      assert.ok(r1.ok);
      const failed = await store.commit(
        [
          { key: 't2/x', modRevision: r1.ok ? r1.revision : 0 },
          { key: 't2/y', modRevision: 12345 },
        ],
        [
          { key: 't2/x', value: 2 },
          { key: 't2/z', value: 3 },
        ],
      );
      assert.deepEqual(failed, { ok: false });
      assert.equal((await store.get('t2/x'))?.value, 1);
      assert.equal(await store.get('t2/z'), undefined);
    });

    it('gives every key of one commit the same, strictly growing revision', async () => {
      const a = await store.commit(
        [],
        [
          { key: 't3/a', value: 'a' },
          { key: 't3/b', value: 'b' },
        ],
      );
      const b = await store.commit([], [{ key: 't3/c', value: 'c' }]);
      assert.ok(a.ok && b.ok && b.revision > a.revision);
      assert.equal((await store.get('t3/a'))?.modRevision, a.ok ? a.revision : 0);
      assert.equal((await store.get('t3/b'))?.modRevision, a.ok ? a.revision : 0);
    });

    it('compares on the mod revision of an existing key, and deletes', async () => {
      const r = await store.commit([], [{ key: 't4/k', value: 'v1' }]);
      assert.ok(r.ok);
      assert.deepEqual(await store.commit([{ key: 't4/k', modRevision: r.revision + 100 }], [{ key: 't4/k', delete: true }]), { ok: false });
      const d = await store.commit([{ key: 't4/k', modRevision: r.revision }], [{ key: 't4/k', delete: true }]);
      assert.ok(d.ok);
      assert.equal(await store.get('t4/k'), undefined);
      // Deleted keys compare as absent again.
      assert.ok((await store.commit([{ key: 't4/k', modRevision: 0 }], [{ key: 't4/k', value: 'v2' }])).ok);
    });

    it('lists a prefix in key order and nothing outside it', async () => {
      await store.commit(
        [],
        [
          { key: 't5/b', value: 2 },
          { key: 't5/a', value: 1 },
          { key: 't5/c/d', value: 3 },
          { key: 't50', value: 9 },
          { key: 't4z', value: 9 },
        ],
      );
      const l = await store.list('t5/');
      assert.deepEqual(
        l.map((e) => [e.key, e.value]),
        [
          ['t5/a', 1],
          ['t5/b', 2],
          ['t5/c/d', 3],
        ],
      );
    });

    it('lists more than fits one answer (5,000 values of 1 KiB: past the 4 MiB gRPC limit) completely and in order', async () => {
      const big = 'x'.repeat(1024);
      const keys = Array.from({ length: 5000 }, (_, i) => `t9/${String(i).padStart(5, '0')}`);
      // 100 writes per commit: etcd refuses transactions of more than 128 operations by default.
      for (let i = 0; i < keys.length; i += 100)
        assert.ok(
          (
            await store.commit(
              [],
              keys.slice(i, i + 100).map((key) => ({ key, value: big })),
            )
          ).ok,
        );
      const l = await store.list<string>('t9/');
      assert.equal(l.length, keys.length);
      assert.deepEqual(
        l.map((e) => e.key),
        keys,
      );
      assert.ok(l.every((e) => e.value === big));
    });

    it('lets exactly one of 64 concurrent writers create the same key', async () => {
      const results = await Promise.all(
        Array.from({ length: 64 }, (_, i) => store.commit([{ key: 't6/race', modRevision: 0 }], [{ key: 't6/race', value: i }])),
      );
      assert.equal(results.filter((r) => r.ok).length, 1);
    });

    it('keeps everything across close and reopen', async () => {
      const r = await store.commit([], [{ key: 't7/persist', value: { kept: true } }]);
      assert.ok(r.ok);
      await store.close();
      store = await fx.open();
      const e = await store.get('t7/persist');
      assert.deepEqual(e?.value, { kept: true });
      assert.equal(e?.modRevision, r.revision);
      const next = await store.commit([], [{ key: 't7/after', value: 1 }]);
      assert.ok(next.ok && next.revision > r.revision, 'revisions keep growing after a reopen');
    });
  });
}
