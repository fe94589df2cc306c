import { mkdirSync } from 'node:fs';
import { open } from 'lmdb';
import { IpamError } from '../errors.js';
import { createGroupCommit, type EmbeddedDb, type Stored } from './embedded-commit.js';
import { PREFIX_END, type CommitResult, type IpamStore, type StoreCondition, type StoreEntry, type StoreWrite } from './store.js';

export interface EmbeddedStoreOptions {
  /** Directory of the database (created if missing). */
  path: string;
  /**
   * Wait for fsync before a commit resolves. Default true: an acknowledged assignment survives a
   * crash of the machine, not only of the process. With false, a process crash (kill -9) still
   * loses nothing (the commit is in the kernel's page cache), a power loss may lose the last ones.
   */
  sync?: boolean;
  /** Maximum database size. Default 1 GiB (about 4 million leases); the file grows on demand. */
  mapSizeBytes?: number;
}

/**
 * The default store: LMDB (a copy-on-write B+tree with ACID transactions) in a local directory.
 * A commit is one LMDB write transaction, so a crash at any point leaves either the whole commit
 * or none of it; concurrent commits are batched by lmdb-js into one transaction and one fsync.
 */
export function createEmbeddedStore(options: EmbeddedStoreOptions): IpamStore {
  mkdirSync(options.path, { recursive: true });
  let db: EmbeddedDb;
  try {
    db = open<Stored | number, string>({
      path: options.path,
      encoding: 'json',
      // Resolve commits only when they are on disk (see `sync`); overlapping sync would resolve
      // earlier and flush later.
      overlappingSync: false,
      noSync: options.sync === false,
      mapSize: options.mapSizeBytes ?? 1024 ** 3,
    });
  } catch (err) {
    throw new IpamError(
      'IPAM_UNAVAILABLE',
      `cannot open the embedded IPAM store at ${options.path}: ${(err as Error).message}; check the path and its permissions`,
      { cause: err },
    );
  }
  let closed = false;
  const group = createGroupCommit(db, options.path);
  const check = () => {
    if (closed) throw new IpamError('IPAM_UNAVAILABLE', 'the embedded IPAM store is closed');
  };
  return {
    kind: 'embedded',
    shared: false,
    async get<T>(key: string) {
      check();
      const s = db.get(key) as Stored | undefined;
      return s === undefined ? undefined : ({ key, value: s.v as T, modRevision: s.r } satisfies StoreEntry<T>);
    },
    async list<T>(prefix: string) {
      check();
      const out: Array<StoreEntry<T>> = [];
      for (const { key, value } of db.getRange({ start: prefix, end: prefix + PREFIX_END })) {
        const s = value as Stored;
        out.push({ key, value: s.v as T, modRevision: s.r });
      }
      return out;
    },
    commit(conditions: StoreCondition[], writes: StoreWrite[]): Promise<CommitResult> {
      check();
      return group.commit(conditions, writes);
    },
    async close() {
      if (closed) return;
      closed = true;
      group.drain();
      await db.close();
    },
  };
}
