import { createRequire } from 'node:module';
import type * as Etcd3Module from 'etcd3';
import type { IKeyValue } from 'etcd3';
import { IpamError } from '../errors.js';
import { PREFIX_END, type CommitResult, type IpamStore, type StoreCondition, type StoreEntry, type StoreWrite } from './store.js';

/** Keys per range request of list(). */
const LIST_PAGE = 2_000;

export interface EtcdStoreOptions {
  /** Client URLs, e.g. ["http://127.0.0.1:2379"]. */
  endpoints: string[];
  /** Key prefix of this IPAM's data; several IPAMs may share one etcd. Default "/ippc/ipam/". */
  prefix?: string;
  auth?: { username: string; password: string };
  /** Deadline of each etcd call. Default 5000 ms. */
  callTimeoutMs?: number;
  /** Connection timeout. Default 3000 ms. */
  dialTimeoutMs?: number;
}

/**
 * The shared store: etcd v3 (tested against Debian's etcd-server 3.4). A commit is one etcd
 * transaction comparing mod revisions, so several IPAM service instances (one per host) can share
 * the data; etcd's revision is the fencing epoch. Acknowledged commits are durable by etcd's raft log.
 */
export function createEtcdStore(options: EtcdStoreOptions): IpamStore {
  const prefix = options.prefix ?? '/ippc/ipam/';
  const timeout = options.callTimeoutMs ?? 5_000;
  // Loaded here, not at import: etcd3 parses its protos when loaded (a few hundred ms), which every
  // process importing @ippc/ipam (the agent, the IPAM on its embedded store) would pay otherwise.
  const { Etcd3 } = createRequire(import.meta.url)('etcd3') as typeof Etcd3Module;
  const client = new Etcd3({
    hosts: options.endpoints,
    auth: options.auth,
    dialTimeout: options.dialTimeoutMs ?? 3_000,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
  });
  const kv = client.kv;
  const full = (k: string) => Buffer.from(prefix + k);
  const unavailable = (err: unknown, what: string) =>
    new IpamError(
      'IPAM_UNAVAILABLE',
      `etcd ${what} failed at ${options.endpoints.join(',')}: ${(err as Error).message}; check that etcd runs and is reachable, then retry`,
      { cause: err },
    );
  const entry = <T>(kvp: IKeyValue): StoreEntry<T> => ({
    key: kvp.key.toString('utf8').slice(prefix.length),
    value: JSON.parse(kvp.value.toString('utf8')) as T,
    modRevision: Number(kvp.mod_revision),
  });
  return {
    kind: 'etcd',
    shared: true,
    async get<T>(key: string) {
      try {
        const res = await kv.range({ key: full(key) });
        return res.kvs[0] ? entry<T>(res.kvs[0]) : undefined;
      } catch (err) {
        throw unavailable(err, 'get');
      }
    },
    async list<T>(p: string) {
      try {
        return await listAtOneRevision(kv, full(p), full(p + PREFIX_END), entry<T>);
      } catch (err) {
        throw unavailable(err, 'list');
      }
    },
    async commit(conditions: StoreCondition[], writes: StoreWrite[]): Promise<CommitResult> {
      try {
        const res = await kv.txn({
          compare: conditions.map((c) => ({ key: full(c.key), target: 'Mod', result: 'Equal', mod_revision: c.modRevision })),
          success: writes.map((w) =>
            'delete' in w ? { request_delete_range: { key: full(w.key) } } : { request_put: { key: full(w.key), value: Buffer.from(JSON.stringify(w.value)) } },
          ),
          failure: [],
        });
        return res.succeeded ? { ok: true, revision: Number(res.header.revision) } : { ok: false };
      } catch (err) {
        throw unavailable(err, 'commit');
      }
    },
    async close() {
      client.close();
    },
  };
}

/**
 * Every key in [from, end), in pages, all at the revision of the first: one range over tens of
 * thousands of leases outgrows gRPC's 4 MiB message limit (seen at 15,000 leases), and a snapshot
 * keeps the pages consistent with each other.
 */
async function listAtOneRevision<T>(
  kv: Etcd3Module.Etcd3['kv'],
  start: Buffer,
  end: Buffer,
  entry: (kvp: IKeyValue) => StoreEntry<T>,
): Promise<StoreEntry<T>[]> {
  const out: StoreEntry<T>[] = [];
  let from = start;
  let revision: string | undefined;
  for (;;) {
    const res = await kv.range({
      key: from,
      range_end: end,
      sort_order: 'Ascend',
      sort_target: 'Key',
      limit: LIST_PAGE,
      ...(revision ? { revision } : {}),
    });
    revision ??= res.header.revision;
    for (const k of res.kvs) out.push(entry(k));
    const last = res.kvs.at(-1);
    if (!res.more || !last) return out;
    from = Buffer.concat([last.key, Buffer.from([0])]);
  }
}
