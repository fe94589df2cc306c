import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isIppcError } from '@ippc/core';
import { CniPluginError } from '../errors.js';
import { createFakeInvoker, failing, fakeBridge, passThrough } from '../testing/fakes.js';
import { createDirectoryCache, createMemoryCache } from './cache.js';
import { parseNetworkConfig } from './config.js';
import { createCniRuntime } from './runtime.js';

const chain = (cniVersion = '1.0.0', extra: Record<string, unknown> = {}) =>
  parseNetworkConfig(
    JSON.stringify({
      cniVersion,
      name: 'blue',
      ...extra,
      plugins: [{ type: 'bridge', ipam: { type: 'host-local' } }, { type: 'portmap', capabilities: { portMappings: true } }, { type: 'firewall' }],
    }),
  );
const rt = {
  containerId: 'c1',
  netns: '/run/netns/c1',
  ifName: 'eth0',
  capabilityArgs: { portMappings: [{ hostPort: 33001, containerPort: 80, protocol: 'tcp' }] },
};

function setup(plugins = { bridge: fakeBridge('10.220.7'), portmap: passThrough, firewall: passThrough }) {
  const invoker = createFakeInvoker(plugins, ['host-local']);
  const cache = createMemoryCache();
  const runtime = createCniRuntime({ pluginDirs: ['/fake/cni', '/other'], invoker, cache, path: '/usr/sbin:/usr/bin' });
  return { invoker, cache, runtime };
}

describe('CniRuntime ADD', () => {
  it('runs the chain in order, each plugin getting the previous result, and caches the final one', async () => {
    const { invoker, cache, runtime } = setup();
    const { result, raw } = await runtime.addNetworkList(chain(), rt);
    assert.deepEqual(
      invoker.calls.map((c) => `${c.command} ${c.type}`),
      ['ADD bridge', 'ADD portmap', 'ADD firewall'],
    );
    assert.equal(invoker.calls[0]!.request.prevResult, undefined);
    assert.deepEqual((invoker.calls[1]!.request.prevResult as { ips: unknown[] }).ips, [{ interface: 2, address: '10.220.7.2/24', gateway: '10.220.7.1' }]);
    assert.deepEqual(invoker.calls[1]!.request.runtimeConfig, { portMappings: rt.capabilityArgs.portMappings });
    assert.equal(result.ips[0]!.address, '10.220.7.2/24');
    assert.equal(JSON.parse(raw).cniVersion, '1.0.0');
    assert.equal(await cache.read({ networkName: 'blue', containerId: 'c1', ifName: 'eth0' }), raw);
  });

  it('gives plugins exactly the CNI environment (no CNI_ARGS unless asked, nothing of the caller)', async () => {
    const { invoker, runtime } = setup();
    await runtime.addNetworkList(chain(), rt);
    assert.deepEqual(invoker.calls[0]!.env, {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'c1',
      CNI_IFNAME: 'eth0',
      CNI_NETNS: '/run/netns/c1',
      CNI_PATH: '/fake/cni:/other',
      PATH: '/usr/sbin:/usr/bin',
    });
    await runtime.addNetworkList(chain(), {
      ...rt,
      containerId: 'c2',
      args: [
        ['IP', '10.0.0.1'],
        ['K', 'v'],
      ],
    });
    assert.equal(invoker.calls.at(-1)!.env.CNI_ARGS, 'IP=10.0.0.1;K=v');
  });

  it('stops at the first failing plugin, keeps its stdout and stderr, and caches nothing', async () => {
    const { invoker, cache, runtime } = setup({ bridge: fakeBridge('10.220.7'), portmap: failing(['ADD'], 'no iptables'), firewall: passThrough });
    await assert.rejects(runtime.addNetworkList(chain(), rt), (err) => {
      assert.ok(err instanceof CniPluginError);
      assert.equal(err.plugin, '/fake/cni/portmap');
      assert.equal(err.command, 'ADD');
      assert.equal(err.cniCode, 7);
      assert.match(err.stdout, /no iptables/);
      assert.equal(err.stderr, 'ADD failed\n');
      assert.equal(err.message, 'plugin portmap failed (add): no iptables');
      return true;
    });
    assert.deepEqual(
      invoker.calls.map((c) => c.type),
      ['bridge', 'portmap'],
    );
    assert.equal(cache.entries.size, 0);
  });

  it('refuses a missing plugin before running anything of it, and bad names before running anything', async () => {
    const { invoker, runtime } = setup();
    const list = parseNetworkConfig('{"cniVersion":"1.0.0","name":"x","plugins":[{"type":"bridge"},{"type":"tuning"}]}');
    await assert.rejects(runtime.addNetworkList(list, rt), (err) => isIppcError(err, 'CNI_PLUGIN_NOT_FOUND') && /"tuning"/.test((err as Error).message));
    await assert.rejects(runtime.validateNetworkList(list), (err) => isIppcError(err, 'CNI_PLUGIN_NOT_FOUND'));
    const before = invoker.calls.length;
    await assert.rejects(runtime.addNetworkList(chain(), { ...rt, containerId: '-bad' }), (err) => isIppcError(err, 'CNI_INVALID_REQUEST'));
    await assert.rejects(runtime.addNetworkList(chain(), { ...rt, ifName: 'an-interface-name-too-long' }), (err) => isIppcError(err, 'CNI_INVALID_REQUEST'));
    assert.equal(invoker.calls.length, before);
  });

  it('reports output that is not a result as CNI_INVALID_RESULT', async () => {
    const { runtime } = setup({ bridge: () => ({ exitCode: 0, stdout: 'hello', stderr: '' }), portmap: passThrough, firewall: passThrough });
    await assert.rejects(
      runtime.addNetworkList(chain(), rt),
      (err) => isIppcError(err, 'CNI_INVALID_RESULT') && /Failed to parse the output of the CNI plugin '\/fake\/cni\/bridge'/.test((err as Error).message),
    );
  });
});

describe('CniRuntime DEL', () => {
  it('runs plugins in reverse order with the cached final result, then drops the cache entry', async () => {
    const { invoker, cache, runtime } = setup();
    await runtime.addNetworkList(chain(), rt);
    invoker.calls.length = 0;
    await runtime.delNetworkList(chain(), rt);
    assert.deepEqual(
      invoker.calls.map((c) => `${c.command} ${c.type}`),
      ['DEL firewall', 'DEL portmap', 'DEL bridge'],
    );
    for (const c of invoker.calls) assert.equal((c.request.prevResult as { ips: Array<{ address: string }> }).ips[0]!.address, '10.220.7.2/24');
    assert.equal(cache.entries.size, 0);
  });

  it('still runs every plugin after a failed ADD, without prevResult', async () => {
    const { invoker, runtime } = setup({ bridge: fakeBridge('10.220.7'), portmap: failing(['ADD']), firewall: passThrough });
    await assert.rejects(runtime.addNetworkList(chain(), rt));
    invoker.calls.length = 0;
    await runtime.delNetworkList(chain(), rt);
    assert.deepEqual(
      invoker.calls.map((c) => c.type),
      ['firewall', 'portmap', 'bridge'],
    );
    for (const c of invoker.calls) assert.equal(c.request.prevResult, undefined);
  });

  it('leaves CNI_NETNS out when the namespace is gone', async () => {
    const { invoker, runtime } = setup();
    await runtime.addNetworkList(chain(), rt);
    await runtime.delNetworkList(chain(), { containerId: 'c1', ifName: 'eth0' });
    const del = invoker.calls.filter((c) => c.command === 'DEL');
    assert.equal(del.length, 3);
    for (const c of del) assert.equal('CNI_NETNS' in c.env, false);
  });

  it('passes no prevResult on DEL before CNI 0.4.0 (libcni does the same)', async () => {
    const { invoker, runtime } = setup();
    await runtime.addNetworkList(chain('0.3.1'), rt);
    await runtime.delNetworkList(chain('0.3.1'), rt);
    for (const c of invoker.calls.filter((x) => x.command === 'DEL')) assert.equal(c.request.prevResult, undefined);
    // ...but chaining on ADD converts each result to the list's version.
    const portmapAdd = invoker.calls.find((c) => c.command === 'ADD' && c.type === 'portmap')!;
    assert.deepEqual((portmapAdd.request.prevResult as { cniVersion: string; ips: Array<{ version: string }> }).ips[0]!.version, '4');
  });

  it('stops at a failing DEL and keeps the cache entry for the retry', async () => {
    const { cache, runtime } = setup({ bridge: fakeBridge('10.220.7'), portmap: failing(['DEL']), firewall: passThrough });
    await runtime.addNetworkList(chain(), rt);
    await assert.rejects(runtime.delNetworkList(chain(), rt), (err) => err instanceof CniPluginError && err.command === 'DEL');
    assert.equal(cache.entries.size, 1);
  });
});

describe('CniRuntime CHECK', () => {
  it('runs every plugin in order with the cached result', async () => {
    const { invoker, runtime } = setup();
    await runtime.addNetworkList(chain('0.4.0'), rt);
    invoker.calls.length = 0;
    await runtime.checkNetworkList(chain('0.4.0'), rt);
    assert.deepEqual(
      invoker.calls.map((c) => `${c.command} ${c.type}`),
      ['CHECK bridge', 'CHECK portmap', 'CHECK firewall'],
    );
    assert.ok(invoker.calls.every((c) => c.request.prevResult !== undefined));
  });

  it('needs 0.4.0, a cached result, and does nothing with disableCheck', async () => {
    const { invoker, runtime } = setup();
    await assert.rejects(runtime.checkNetworkList(chain('0.3.1'), rt), (err) => isIppcError(err, 'CNI_INCOMPATIBLE_VERSION'));
    await assert.rejects(runtime.checkNetworkList(chain('1.0.0'), rt), (err) => isIppcError(err, 'CNI_NO_CACHED_RESULT'));
    await runtime.checkNetworkList(chain('1.0.0', { disableCheck: true }), rt);
    assert.equal(invoker.calls.length, 0);
  });

  it('reports a plugin that finds the attachment broken', async () => {
    const { runtime } = setup({ bridge: fakeBridge('10.220.7'), portmap: passThrough, firewall: failing(['CHECK'], 'rule missing') });
    await runtime.addNetworkList(chain(), rt);
    await assert.rejects(
      runtime.checkNetworkList(chain(), rt),
      (err) => err instanceof CniPluginError && err.message === 'plugin firewall failed (check): rule missing',
    );
  });
});

describe('createDirectoryCache', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it("writes libcni's cniCacheV1 files and reads them back", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cni-cache-'));
    dirs.push(dir);
    const cache = createDirectoryCache(dir);
    const key = { networkName: 'blue', containerId: 'c1', ifName: 'eth0' };
    const raw = JSON.stringify({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }] });
    await cache.write(key, { rawResult: raw, config: { name: 'blue' }, netns: '/run/netns/c1' });
    const doc = JSON.parse(await readFile(join(dir, 'results', 'blue-c1-eth0'), 'utf8'));
    assert.equal(doc.kind, 'cniCacheV1');
    assert.equal(Buffer.from(doc.config, 'base64').toString(), '{"name":"blue"}');
    assert.equal(doc.netns, '/run/netns/c1');
    assert.deepEqual(JSON.parse((await cache.read(key))!), JSON.parse(raw));
    await cache.remove(key);
    assert.equal(await cache.read(key), undefined);
  });
});
