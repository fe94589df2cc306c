import { mkdirSync } from 'node:fs';
import { open, type RootDatabase } from 'lmdb';
import { IpamError } from '../errors.js';
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

interface Stored {
  v: unknown;
  r: number;
}

const REVISION_KEY = '\x00revision';

/**
 * The default store: LMDB (a copy-on-write B+tree with ACID transactions) in a local directory.
 * A commit is one LMDB write transaction, so a crash at any point leaves either the whole commit
 * or none of it; concurrent commits are batched by lmdb-js into one transaction and one fsync.
 */
export function createEmbeddedStore(options: EmbeddedStoreOptions): IpamStore {
  mkdirSync(options.path, { recursive: true });
  let db: RootDatabase<Stored | number, string>;
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
    throw new IpamError('IPAM_UNAVAILABLE', `cannot open the embedded IPAM store at ${options.path}: ${(err as Error).message}; check the path and its permissions`, { cause: err });
  }
  let closed = false;
  // Group commit: every commit asked for in one event-loop turn goes into one synchronous LMDB
  // write transaction (one fsync), each still checked and applied on its own. Synchronous,
  // because lmdb-js's asynchronous transactions hop between threads several times per commit,
  // which costs milliseconds on a busy machine.
  interface Pending {
    conditions: StoreCondition[];
    writes: StoreWrite[];
    resolve(r: CommitResult): void;
    reject(err: unknown): void;
  }
  let queue: Pending[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const batch = queue;
    queue = [];
    let results: CommitResult[];
    try {
      results = db.transactionSync(() => {
        let revision = (db.get(REVISION_KEY) as number | undefined) ?? 0;
        const out: CommitResult[] = [];
        for (const p of batch) {
          if (p.conditions.some((c) => ((db.get(c.key) as Stored | undefined)?.r ?? 0) !== c.modRevision)) {
            out.push({ ok: false });
            continue;
          }
          revision++;
          for (const w of p.writes) {
            if ('delete' in w) db.removeSync(w.key);
            else db.putSync(w.key, { v: w.value, r: revision });
          }
          out.push({ ok: true, revision });
        }
        db.putSync(REVISION_KEY, revision);
        return out;
      });
    } catch (err) {
      const e = new IpamError('IPAM_UNAVAILABLE', `the embedded IPAM store at ${options.path} failed to commit: ${(err as Error).message}`, { cause: err });
      for (const p of batch) p.reject(e);
      return;
    }
    batch.forEach((p, i) => p.resolve(results[i]!));
  };
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
      return new Promise((resolve, reject) => {
        queue.push({ conditions, writes, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      if (queue.length > 0) flush();
      await db.close();
    },
  };
}
