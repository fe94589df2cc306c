import type { RootDatabase } from 'lmdb';
import { IpamError } from '../errors.js';
import type { CommitResult, StoreCondition, StoreWrite } from './store.js';

/** A value as the embedded store keeps it in LMDB: the value and the revision that wrote it. */
export interface Stored {
  v: unknown;
  r: number;
}

/** The embedded store's database: keys to {@link Stored} values, and the store's revision under REVISION_KEY. */
export type EmbeddedDb = RootDatabase<Stored | number, string>;

const REVISION_KEY = '\x00revision';

/** The write path of the embedded store. */
export interface GroupCommit {
  /** Queues one commit for this event-loop turn's transaction; resolves once that transaction has committed. */
  commit(conditions: StoreCondition[], writes: StoreWrite[]): Promise<CommitResult>;
  /** Commits what is queued now, without waiting for the next turn (at close). */
  drain(): void;
}

/**
 * Group commit: every commit asked for in one event-loop turn goes into one synchronous LMDB
 * write transaction (one fsync), each still checked and applied on its own. Synchronous,
 * because lmdb-js's asynchronous transactions hop between threads several times per commit,
 * which costs milliseconds on a busy machine.
 */
export function createGroupCommit(db: EmbeddedDb, path: string): GroupCommit {
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
      const e = new IpamError('IPAM_UNAVAILABLE', `the embedded IPAM store at ${path} failed to commit: ${(err as Error).message}`, { cause: err });
      for (const p of batch) p.reject(e);
      return;
    }
    batch.forEach((p, i) => p.resolve(results[i]!));
  };
  return {
    commit(conditions: StoreCondition[], writes: StoreWrite[]): Promise<CommitResult> {
      return new Promise((resolve, reject) => {
        queue.push({ conditions, writes, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
    drain(): void {
      if (queue.length > 0) flush();
    },
  };
}
