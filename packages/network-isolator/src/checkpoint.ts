import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CniResultCache } from './cni/cache.js';

// Mesos's checkpoint layout (isolators/network/cni/paths.hpp):
//   <root>/<containerId>/ns                                 bind mount of /proc/<pid>/ns/net
//   <root>/<containerId>/{hosts,hostname,resolv.conf}        files bound into the container
//   <root>/<containerId>/<network>/network.conf              config sent to the plugins (with args)
//   <root>/<containerId>/<network>/<ifName>/network.info     the final ADD result, verbatim

export const paths = {
  container: (root: string, cid: string) => join(root, cid),
  netns: (root: string, cid: string) => join(root, cid, 'ns'),
  hosts: (root: string, cid: string) => join(root, cid, 'hosts'),
  hostname: (root: string, cid: string) => join(root, cid, 'hostname'),
  resolvConf: (root: string, cid: string) => join(root, cid, 'resolv.conf'),
  network: (root: string, cid: string, net: string) => join(root, cid, net),
  networkConfig: (root: string, cid: string, net: string) => join(root, cid, net, 'network.conf'),
  iface: (root: string, cid: string, net: string, ifName: string) => join(root, cid, net, ifName),
  networkInfo: (root: string, cid: string, net: string, ifName: string) => join(root, cid, net, ifName, 'network.info'),
};

/** Writes a checkpoint file atomically (temp file + rename), so a crash never leaves half a file. */
export async function checkpoint(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  await writeFile(tmp, content);
  await rename(tmp, path);
}

/** {@link checkpoint}, blocking: for the few small files on the launch path. */
export function checkpointSync(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

/**
 * The CNI runtime's result cache kept where Mesos keeps it: `network.info` under the interface
 * folder; a successful DEL removes the interface folder, as Mesos's `_detach` does.
 */
export function createCheckpointCache(root: string): CniResultCache {
  return {
    async read(k) {
      try {
        return await readFile(paths.networkInfo(root, k.containerId, k.networkName, k.ifName), 'utf8');
      } catch {
        return undefined;
      }
    },
    async write(k, entry) {
      checkpointSync(paths.networkInfo(root, k.containerId, k.networkName, k.ifName), entry.rawResult);
    },
    async remove(k) {
      await rm(paths.iface(root, k.containerId, k.networkName, k.ifName), { recursive: true, force: true });
    },
  };
}
