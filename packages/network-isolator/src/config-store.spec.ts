import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isIppcError } from '@ippc/core';
import { createNetworkConfigStore } from './config-store.js';
import { captureLogger, createFakeInvoker } from './testing/fakes.js';

describe('NetworkConfigStore', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cni-configs-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const invoker = createFakeInvoker({ bridge: () => undefined, portmap: () => undefined }, ['host-local']);

  it('finds a network by its JSON name whatever the file is called, and reads it again at every use', async () => {
    const d = join(dir, 'a');
    await mkdir(d);
    await writeFile(join(d, 'zz-anything.txt'), JSON.stringify({ name: 'blue', type: 'bridge', bridge: 'b1' }));
    const { logger } = captureLogger();
    const store = createNetworkConfigStore({ configDir: d, pluginDirs: ['/fake/cni'], invoker, logger });
    assert.equal((await store.get('blue')).list.raw.bridge, 'b1');
    await writeFile(join(d, 'zz-anything.txt'), JSON.stringify({ name: 'blue', type: 'bridge', bridge: 'b2' }));
    assert.equal((await store.get('blue')).list.raw.bridge, 'b2', 'a modified config applies to the next use');
  });

  it('scans again on a miss (added networks) and forgets deleted ones', async () => {
    const d = join(dir, 'b');
    await mkdir(d);
    const { logger } = captureLogger();
    const store = createNetworkConfigStore({ configDir: d, pluginDirs: ['/fake/cni'], invoker, logger });
    await assert.rejects(store.get('green'), (err) => isIppcError(err, 'CNI_UNKNOWN_NETWORK') && (err as Error).message === "Unknown CNI network 'green'");
    await writeFile(join(d, 'green.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'green', plugins: [{ type: 'bridge' }, { type: 'portmap' }] }));
    assert.equal((await store.get('green')).list.plugins.length, 2);
    await rm(join(d, 'green.conflist'));
    await assert.rejects(store.get('green'), (err) => isIppcError(err, 'CNI_UNKNOWN_NETWORK'));
  });

  it("skips unusable files with Mesos's log lines: unreadable JSON, duplicates, missing plugin or IPAM plugin", async () => {
    const d = join(dir, 'c');
    await mkdir(join(d, 'subdir'), { recursive: true });
    await writeFile(join(d, '1.conf'), JSON.stringify({ name: 'dup', type: 'bridge' }));
    await writeFile(join(d, '2.conf'), JSON.stringify({ name: 'dup', type: 'bridge', second: true }));
    await writeFile(join(d, '3.conf'), '{not json');
    await writeFile(join(d, '4.conf'), JSON.stringify({ name: 'noplugin', type: 'macvlan' }));
    await writeFile(join(d, '5.conf'), JSON.stringify({ name: 'noipam', type: 'bridge', ipam: { type: 'whereabouts' } }));
    await writeFile(join(d, '6.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'nochain', plugins: [{ type: 'bridge' }, { type: 'tuning' }] }));
    const { logger, lines } = captureLogger();
    const store = createNetworkConfigStore({ configDir: d, pluginDirs: ['/fake/cni'], invoker, logger });
    const found = await store.load();
    assert.deepEqual([...found.keys()], ['dup']);
    assert.equal(found.get('dup'), join(d, '1.conf'), 'the first file wins');
    const msgs = lines.filter((l) => l.level === 'error').map((l) => l.msg);
    assert.equal(
      msgs[0],
      `Multiple network configuration for a CNI network is not allowed. Skipping configuration file '${join(d, '2.conf')} since network dup already exists`,
    );
    assert.match(msgs[1]!, new RegExp(`^Failed to parse CNI network configuration file '${join(d, '3.conf')}': JSON parse failed: `));
    assert.deepEqual(msgs.slice(2), [
      `Skipping network 'noplugin' , from configuration file '${join(d, '4.conf')}', since we failed to find CNI plugin 'macvlan' used by this network.`,
      `Skipping network 'noipam' , from configuration file '${join(d, '5.conf')}', since we failed to find IPAM plugin 'whereabouts' used by this network.`,
      `Skipping network 'nochain' , from configuration file '${join(d, '6.conflist')}', since we failed to find CNI plugin 'tuning' used by this network.`,
    ]);
  });

  it('evicts a cached network whose file no longer matches its name, then looks again', async () => {
    const d = join(dir, 'd');
    await mkdir(d);
    await writeFile(join(d, 'x.conf'), JSON.stringify({ name: 'red', type: 'bridge' }));
    const { logger, lines } = captureLogger();
    const store = createNetworkConfigStore({ configDir: d, pluginDirs: ['/fake/cni'], invoker, logger });
    await store.get('red');
    await writeFile(join(d, 'x.conf'), JSON.stringify({ name: 'pink', type: 'bridge' }));
    await assert.rejects(store.get('red'), (err) => isIppcError(err, 'CNI_UNKNOWN_NETWORK'));
    assert.ok(
      lines.some(
        (l) =>
          l.level === 'warn' &&
          l.msg ===
            "Removing the network 'red' from cache due to failure to validate the configuration: The current CNI configuration network('pink') does not match the network name: 'red'",
      ),
    );
    assert.equal((await store.get('pink')).path, join(d, 'x.conf'));
  });

  it('says which folder it cannot list', async () => {
    const { logger } = captureLogger();
    const store = createNetworkConfigStore({ configDir: join(dir, 'missing'), pluginDirs: ['/fake/cni'], invoker, logger });
    await assert.rejects(
      store.get('x'),
      (err) =>
        isIppcError(err, 'CNI_INVALID_CONFIG') &&
        /^Encountered error while loading CNI config during a cache-miss for CNI network 'x': Unable to list the CNI network configuration directory/.test(
          (err as Error).message,
        ),
    );
  });
});
