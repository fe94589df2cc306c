/**
 * The persistence seam of the IPAM: a tiny versioned key-value store with an atomic
 * compare-and-commit, the model of etcd's transactions. All allocation logic lives above it, once;
 * a store only has to make `commit` atomic. Uniqueness of addresses is enforced here, not in
 * memory: an address is assigned by creating its key on the condition that the key is unchanged
 * since it was read, so two writers (two requests, two service instances on one etcd, a service
 * that restarted with a stale view) can never both succeed.
 */
export interface StoreEntry<T = unknown> {
  key: string;
  value: T;
  /** Revision of the commit that last wrote the key; grows with every commit of the store. */
  modRevision: number;
}

/** Holds when the key's current modRevision equals `modRevision` (0 = the key is absent). */
export interface StoreCondition {
  key: string;
  modRevision: number;
}

export type StoreWrite = { key: string; value: unknown } | { key: string; delete: true };

export type CommitResult = { ok: true; revision: number } | { ok: false };

export interface IpamStore {
  /** 'embedded' or 'etcd'. */
  readonly kind: string;
  /** Whether other processes may write the same data (the service then re-reads before giving up). */
  readonly shared: boolean;
  get<T = unknown>(key: string): Promise<StoreEntry<T> | undefined>;
  /** Every entry whose key starts with `prefix`, in key order. */
  list<T = unknown>(prefix: string): Promise<Array<StoreEntry<T>>>;
  /**
   * Atomically: when every condition holds, applies every write and returns the new revision
   * (which every written key now carries); otherwise writes nothing and returns `{ ok: false }`.
   * Resolves only once the commit is durable. Throws IPAM_UNAVAILABLE when the store cannot be
   * reached; the commit may then have happened or not.
   */
  commit(conditions: StoreCondition[], writes: StoreWrite[]): Promise<CommitResult>;
  close(): Promise<void>;
}

/** Keys are ASCII: every segment is URI-encoded so names with '/' cannot collide. */
export function key(...segments: string[]): string {
  return segments.map((s) => encodeURIComponent(s)).join('/');
}

/** The upper bound for a prefix scan (encoded keys never contain 0x7f). */
export const PREFIX_END = '\x7f';
