import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Identity of one attachment (CNI: container id + interface name, within a network). */
export interface AttachmentKey {
  networkName: string;
  containerId: string;
  ifName: string;
}

/** What the runtime knows about an attachment when it caches its result. */
export interface CacheEntry {
  /** The final ADD result exactly as the last plugin printed it. */
  rawResult: string;
  /** The network configuration the ADD ran with. */
  config: Record<string, unknown>;
  netns?: string;
  capabilityArgs?: Record<string, unknown>;
  args?: Array<[string, string]>;
}

/**
 * Where the runtime keeps the final result of each successful ADD (SPEC: "the runtime must
 * persist the final result"), for CHECK and DEL (`prevResult`). Written only after the whole chain
 * succeeded; removed after a successful DEL.
 */
export interface CniResultCache {
  /** The cached raw result, or undefined when there is none (never added, or already deleted). */
  read(key: AttachmentKey): Promise<string | undefined>;
  write(key: AttachmentKey, entry: CacheEntry): Promise<void>;
  remove(key: AttachmentKey): Promise<void>;
}

/**
 * libcni's cache layout: `<dir>/results/<network>-<containerId>-<ifName>`, a `cniCacheV1` JSON
 * document (mode 0600, folder 0700), so tools that read libcni's cache read ours.
 */
export function createDirectoryCache(dir: string): CniResultCache {
  const file = (k: AttachmentKey) => join(dir, 'results', `${k.networkName}-${k.containerId}-${k.ifName}`);
  return {
    async read(key) {
      let text: string;
      try {
        text = await readFile(file(key), 'utf8');
      } catch {
        return undefined;
      }
      try {
        const doc = JSON.parse(text) as { kind?: string; result?: unknown };
        // A pre-cniCacheV1 cache file is the raw result itself.
        return doc.kind === 'cniCacheV1' ? JSON.stringify(doc.result) : text;
      } catch {
        return undefined;
      }
    },
    async write(key, entry) {
      await mkdir(join(dir, 'results'), { recursive: true, mode: 0o700 });
      const doc = {
        kind: 'cniCacheV1',
        containerId: key.containerId,
        config: Buffer.from(JSON.stringify(entry.config)).toString('base64'),
        ifName: key.ifName,
        networkName: key.networkName,
        netns: entry.netns ?? '',
        cniArgs: entry.args ?? [],
        capabilityArgs: entry.capabilityArgs ?? {},
        result: JSON.parse(entry.rawResult) as unknown,
      };
      await writeFile(file(key), JSON.stringify(doc), { mode: 0o600 });
      await chmod(file(key), 0o600);
    },
    async remove(key) {
      await rm(file(key), { force: true });
    },
  };
}

/** A cache in memory, for tests and short-lived tools. */
export function createMemoryCache(): CniResultCache & { entries: Map<string, CacheEntry> } {
  const entries = new Map<string, CacheEntry>();
  const id = (k: AttachmentKey) => `${k.networkName}-${k.containerId}-${k.ifName}`;
  return {
    entries,
    async read(key) {
      return entries.get(id(key))?.rawResult;
    },
    async write(key, entry) {
      entries.set(id(key), entry);
    },
    async remove(key) {
      entries.delete(id(key));
    },
  };
}
