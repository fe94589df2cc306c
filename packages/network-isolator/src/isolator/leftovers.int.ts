import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ContainerConfig } from '@ippc/core';
import { ContainerInfo_Type, type ContainerID, type ExecutorInfo, type NetworkInfo } from '@ippc/proto';
import { createNetworkIsolator, type NetworkIsolator } from './isolator.js';
import { captureLogger } from '../testing/fakes.js';
import { createScratch, sh, type ContainerProcess, type Scratch } from '../testing/scratch.js';

// Nothing may stay behind: namespaces, veths, addresses in host-local's store, checkpoints,
// iptables rules, mounts — counted before and after many launches, failures included.

let s: Scratch;
let iso: NetworkIsolator;
const procs = new Map<string, ContainerProcess>();

const net = (name: string, extra: Partial<NetworkInfo> = {}): NetworkInfo => ({ name, ipAddresses: [], groups: [], portMappings: [], ...extra });
const config = (id: string, networkInfos: NetworkInfo[]): ContainerConfig => ({
  containerId: { value: id },
  executor: { resources: [], container: { type: ContainerInfo_Type.MESOS, networkInfos } } as unknown as ExecutorInfo,
  sandboxDirectory: '/tmp',
});

async function launch(id: string, networks: NetworkInfo[], propagation: 'slave' | 'private' = 'slave'): Promise<ContainerID> {
  const cid = { value: id };
  const li = await iso.prepare(config(id, networks));
  const proc = await s.spawnContainer({ env: li!.environment, propagation });
  procs.set(id, proc);
  try {
    await iso.isolate(cid, proc.pid);
  } catch (err) {
    await stop(cid);
    throw err;
  }
  proc.release();
  return cid;
}

async function stop(cid: ContainerID): Promise<void> {
  await procs.get(cid.value!)?.kill();
  procs.delete(cid.value!);
  await iso.cleanup(cid);
}

before(async () => {
  s = await createScratch({ subnet: '10.220.220' });
  const br = (x: string) => `cnibr${s.id.slice(0, 4)}${x}`;
  await s.writeConfig('blue.conflist', {
    cniVersion: '1.0.0',
    name: 'blue',
    plugins: [{ type: 'bridge', bridge: br('b'), isGateway: true, ipMasq: false, ipam: { type: 'host-local', dataDir: s.dataDir, subnet: '10.220.221.0/24' } }],
  });
  await s.writeConfig('chain.conflist', {
    cniVersion: '1.0.0',
    name: 'chain',
    plugins: [
      { type: 'bridge', bridge: br('c'), isGateway: true, ipMasq: false, ipam: { type: 'host-local', dataDir: s.dataDir, subnet: '10.220.222.0/24' } },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      { type: 'firewall' },
    ],
  });
  await s.writeConfig('green.conf', {
    cniVersion: '0.3.1',
    name: 'green',
    type: 'ptp',
    ipMasq: false,
    ipam: { type: 'host-local', dataDir: s.dataDir, subnet: '10.220.223.0/24' },
  });
  await s.writePlugin('cni-fail', '#!/bin/sh\ncat >/dev/null\n[ "$CNI_COMMAND" = ADD ] && { echo "Plugin failed"; exit 1; }\nexit 0\n');
  await s.writeConfig('fails.conf', { cniVersion: '1.0.0', name: 'fails', type: 'cni-fail' });
  iso = createNetworkIsolator({
    configDir: s.configDir,
    rootDir: s.rootDir,
    pluginDirs: s.pluginDirs,
    pluginNetns: s.hostNsPath,
    logger: captureLogger().logger,
  });
  await iso.recover([], []);
  // Plugins' permanent top-level chains (portmap, firewall) exist after their first use.
  await stop(await launch(`warm-${s.id}`, [net('chain', { portMappings: [{ hostPort: 33030, containerPort: 80 }] })]));
});

after(async () => {
  for (const id of [...procs.keys()]) await stop({ value: id }).catch(() => undefined);
  await s?.dispose();
});

describe('leftovers', () => {
  it('zero leftovers after 120 launch/cleanup cycles (batches of 4, failures and port mappings mixed in)', async () => {
    const before = await s.census();
    let failed = 0;
    for (let batch = 0; batch < 30; batch++) {
      await Promise.all(
        [0, 1, 2, 3].map(async (k) => {
          const n = batch * 4 + k;
          const id = `cyc${n}-${s.id}`;
          const networks =
            n % 10 === 3
              ? [net('blue'), net('chain', { portMappings: [{ hostPort: 33031 + k, containerPort: 80 }] }), net('fails')]
              : n % 4 === 1
                ? [net('chain', { portMappings: [{ hostPort: 33040 + k, containerPort: 80, protocol: 'udp' }] })]
                : n % 4 === 2
                  ? [net('green'), net('blue')]
                  : [net('blue')];
          try {
            const cid = await launch(id, networks);
            await stop(cid);
          } catch (err) {
            assert.match((err as Error).message, /failed to attach container .* to CNI network 'fails'/);
            failed++;
          }
        }),
      );
    }
    assert.equal(failed, 12);
    assert.deepEqual(await s.census(), before);
    assert.deepEqual(iso.containers(), []);
    assert.deepEqual(await readdir(s.rootDir), []);
  });

  it('20 parallel attachments get 20 unique addresses, all reachable, then all go', async () => {
    const before = await s.census();
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => launch(`par${i}-${s.id}`, [net('blue')])));
    const ips = await Promise.all(ids.map(async (id) => (await iso.status(id)).networkInfos[0]!.ipAddresses[0]!.ipAddress!));
    assert.equal(new Set(ips).size, 20);
    const veths = (await s.census()).veths - before.veths;
    assert.equal(veths, 20);
    // Each address answers from its own container: after a connection attempt from the agent, the
    // agent's neighbour entry for the address carries that container's eth0 MAC (from its result).
    for (const [i, ip] of ips.entries()) {
      const result = JSON.parse(await readFile(join(s.rootDir, ids[i]!.value!, 'blue', 'eth0', 'network.info'), 'utf8')) as {
        interfaces: Array<{ mac: string; sandbox?: string }>;
      };
      const mac = result.interfaces.find((x) => x.sandbox)!.mac;
      await s.inNetns(s.hostNs, 'curl', ['-s', '-m', '2', `http://${ip}:1/`]).catch(() => undefined); // refused: fine
      assert.match(await s.inNetns(s.hostNs, 'ip', ['neigh', 'show', ip]), new RegExp(`lladdr ${mac}`), `${ip} answered from its container`);
    }
    await Promise.all(ids.map((id) => stop(id)));
    assert.deepEqual(await s.census(), before);
  });

  it("a container's mount namespace does not keep another container's network namespace alive", async () => {
    const before = await s.census();
    const a = await launch(`pinA-${s.id}`, [net('blue')]);
    const b = await launch(`pinB-${s.id}`, [net('blue')]); // B's mount namespace is a copy made after A's handle was mounted
    const [ipA, ipB] = await Promise.all([a, b].map(async (id) => (await iso.status(id)).networkInfos[0]!.ipAddresses[0]!.ipAddress!));
    const bMounts = await sh('nsenter', [`--target=${procs.get(b.value!)!.pid}`, '--mount', '--', 'cat', '/proc/self/mountinfo']);
    assert.match(bMounts, new RegExp(`${a.value}/ns`), "B's copy of the root holds A's handle while A runs");
    await stop(a);
    const after = await s.census();
    assert.equal(after.veths, before.veths + 1, "A's veth is gone while B still runs");
    assert.doesNotMatch(
      await sh('nsenter', [`--target=${procs.get(b.value!)!.pid}`, '--mount', '--', 'cat', '/proc/self/mountinfo']),
      new RegExp(`${a.value}/ns`),
    );
    assert.doesNotMatch(await s.inNetns(s.hostNs, 'ip', ['neigh', 'show']), new RegExp(`${ipA!.replace(/\./g, '\\.')} .*PERMANENT`));
    assert.ok(ipB);
    await stop(b);
    assert.deepEqual(await s.census(), before);
  });
});
