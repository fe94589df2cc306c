import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isIppcError } from '@ippc/core';
import { CniPluginError } from '../errors.js';
import { createScratch, type Scratch } from '../testing/scratch.js';
import { createDirectoryCache } from './cache.js';
import { parseNetworkConfig } from './config.js';
import { createExecInvoker } from './invoker.js';
import { formatResult } from './result.js';
import { createCniRuntime, type CniRuntime } from './runtime.js';

// The CNI runtime against Debian's real plugins (1.1.1), in a scratch agent namespace.

let s: Scratch;
let runtime: CniRuntime;
before(async () => {
  s = await createScratch({ subnet: '10.220.240' });
  runtime = createCniRuntime({
    pluginDirs: s.pluginDirs,
    invoker: createExecInvoker({ netns: s.hostNsPath }),
    cache: createDirectoryCache(join(s.dir, 'cache')),
  });
});
after(async () => {
  await s?.dispose();
});

async function addressesIn(netns: string, dev: string): Promise<string[]> {
  const out = JSON.parse(await s.inNetns(netns, 'ip', ['-j', 'addr', 'show', 'dev', dev])) as Array<{
    addr_info: Array<{ local: string; prefixlen: number; scope: string }>;
  }>;
  return out[0]!.addr_info.filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`);
}

const bridgeConf = (cniVersion: string | undefined, subnet: string, extra: Record<string, unknown> = {}) => ({
  ...(cniVersion ? { cniVersion } : {}),
  name: `v${(cniVersion ?? 'none').replace(/\./g, '')}`,
  type: 'bridge',
  bridge: `cnibr${s.id.slice(0, 4)}v`,
  isGateway: true,
  ipMasq: false,
  ipam: { type: 'host-local', dataDir: s.dataDir, subnet, routes: [{ dst: '0.0.0.0/0' }] },
  ...extra,
});

describe('CNI runtime on real plugins', () => {
  it('attaches with bridge + host-local in every spec version from 0.1.0 to 1.0.0 and reads each result', async () => {
    const versions = [undefined, '0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0'];
    for (const [i, v] of versions.entries()) {
      const netns = await s.addNetns(`v${i}`);
      const list = parseNetworkConfig(JSON.stringify(bridgeConf(v, '10.220.241.0/24')));
      const rt = { containerId: `ver${i}`, netns, ifName: 'eth0' };
      const { result, raw } = await runtime.addNetworkList(list, rt);
      const printed = JSON.parse(raw) as Record<string, unknown>;
      assert.equal(printed.cniVersion, v ?? '0.1.0', 'the plugin answered in the config version');
      assert.equal('ip4' in printed, v === undefined || v === '0.1.0' || v === '0.2.0', `shape of ${v}`);
      assert.equal(result.ips.length, 1);
      assert.deepEqual(await addressesIn(netns, 'eth0'), [result.ips[0]!.address], `${v}: the address is on eth0`);
      await runtime.delNetworkList(list, rt);
      assert.equal(existsSync(join(s.dataDir, list.name, result.ips[0]!.address.split('/')[0]!)), false, `${v}: DEL released the address`);
      await s.delNetns(netns);
    }
  });

  it('chains bridge → portmap → firewall → bandwidth with prevResult and runtimeConfig, CHECKs, and DELs it all in reverse', async () => {
    const list = parseNetworkConfig(
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'chain',
        plugins: [
          {
            type: 'bridge',
            bridge: `cnibr${s.id.slice(0, 4)}c`,
            isGateway: true,
            ipMasq: false,
            ipam: { type: 'host-local', dataDir: s.dataDir, subnet: '10.220.242.0/24' },
          },
          { type: 'portmap', capabilities: { portMappings: true }, snat: true },
          { type: 'firewall' },
          { type: 'bandwidth', capabilities: { bandwidth: true } },
        ],
      }),
    );
    const netns = await s.addNetns('chain');
    const rt = {
      containerId: 'chain1',
      netns,
      ifName: 'eth0',
      capabilityArgs: {
        portMappings: [{ hostPort: 33010, containerPort: 8080, protocol: 'tcp' }],
        bandwidth: { ingressRate: 8_000_000, ingressBurst: 80_000, egressRate: 8_000_000, egressBurst: 80_000 },
      },
    };
    const { result } = await runtime.addNetworkList(list, rt);
    const ip = result.ips[0]!.address.split('/')[0]!;
    const nat = await s.inNetns(s.hostNs, 'iptables', ['-t', 'nat', '-S']);
    assert.match(nat, new RegExp(`--dport 33010 -j DNAT --to-destination ${ip.replace(/\./g, '\\.')}:8080`), 'portmap got the port mapping');
    assert.match(
      await s.inNetns(s.hostNs, 'iptables', ['-S', 'CNI-FORWARD']),
      new RegExp(ip.replace(/\./g, '\\.')),
      'firewall opened FORWARD for the container',
    );
    const hostVeth = result.interfaces.find((i) => i.name.startsWith('veth'))!.name;
    assert.match(await s.inNetns(s.hostNs, 'tc', ['qdisc', 'show', 'dev', hostVeth]), /tbf/, 'bandwidth shaped the host veth');
    await runtime.delNetworkList(list, rt);
    assert.doesNotMatch(await s.inNetns(s.hostNs, 'iptables', ['-t', 'nat', '-S']), /--dport 33010/);
    assert.doesNotMatch(await s.inNetns(s.hostNs, 'iptables', ['-S', 'CNI-FORWARD']), new RegExp(ip.replace(/\./g, '\\.')));
    assert.doesNotMatch(await s.inNetns(s.hostNs, 'ip', ['-o', 'link']), new RegExp(hostVeth));
    assert.equal(existsSync(join(s.dataDir, 'chain', ip)), false);
    await s.delNetns(netns);
  });

  it('CHECKs a live attachment through every plugin, and notices when the firewall rule is gone', async () => {
    // Without portmap: Debian's portmap 1.1.1 fails CHECK for IPv4-only containers whenever
    // ip6tables exists ("could not check ipv6 dnat: chain ... not found"), a plugin bug.
    const list = parseNetworkConfig(
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'checked',
        plugins: [
          { type: 'bridge', bridge: `cnibr${s.id.slice(0, 4)}k`, ipam: { type: 'host-local', dataDir: s.dataDir, subnet: '10.220.247.0/24' } },
          { type: 'firewall' },
          { type: 'bandwidth', capabilities: { bandwidth: true } },
        ],
      }),
    );
    const netns = await s.addNetns('check');
    const rt = {
      containerId: 'check1',
      netns,
      ifName: 'eth0',
      capabilityArgs: { bandwidth: { ingressRate: 8_000_000, ingressBurst: 80_000, egressRate: 8_000_000, egressBurst: 80_000 } },
    };
    const { result } = await runtime.addNetworkList(list, rt);
    await runtime.checkNetworkList(list, rt);
    const ip = result.ips[0]!.address.split('/')[0]!;
    const rules = (await s.inNetns(s.hostNs, 'iptables', ['-S', 'CNI-FORWARD'])).split('\n').filter((l) => l.includes(ip));
    for (const rule of rules) await s.inNetns(s.hostNs, 'iptables', rule.replace(/^-A /, '-D ').split(' '));
    await assert.rejects(runtime.checkNetworkList(list, rt), (err) => err instanceof CniPluginError && err.command === 'CHECK' && /firewall/.test(err.message));
    await runtime.delNetworkList(list, rt);
    await assert.rejects(runtime.checkNetworkList(list, rt), (err) => isIppcError(err, 'CNI_NO_CACHED_RESULT'));
    await s.delNetns(netns);
  });

  it('gives a requested address through the ips capability (static IPAM)', async () => {
    const list = parseNetworkConfig(
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'static',
        plugins: [{ type: 'bridge', bridge: `cnibr${s.id.slice(0, 4)}s`, ipam: { type: 'static' }, capabilities: { ips: true } }],
      }),
    );
    const netns = await s.addNetns('static');
    const rt = { containerId: 'st1', netns, ifName: 'eth0', capabilityArgs: { ips: ['10.220.243.77/24'] } };
    const { result } = await runtime.addNetworkList(list, rt);
    assert.equal(result.ips[0]!.address, '10.220.243.77/24');
    assert.deepEqual(await addressesIn(netns, 'eth0'), ['10.220.243.77/24']);
    await runtime.delNetworkList(list, rt);
    await s.delNetns(netns);
  });

  it('returns IPv4 and IPv6 from a dual-stack host-local, and converts them for 0.2.0 readers', async () => {
    const netns = await s.addNetns('v6');
    await s.inNetns(netns, 'sysctl', ['-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
    const list = parseNetworkConfig(
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'dual',
        plugins: [
          {
            type: 'bridge',
            bridge: `cnibr${s.id.slice(0, 4)}6`,
            isGateway: true,
            ipam: { type: 'host-local', dataDir: s.dataDir, ranges: [[{ subnet: '10.220.244.0/24' }], [{ subnet: 'fd10:220:244::/64' }]] },
          },
        ],
      }),
    );
    const rt = { containerId: 'dual1', netns, ifName: 'eth0' };
    const { result } = await runtime.addNetworkList(list, rt);
    assert.deepEqual(
      result.ips.map((i) => (i.address.includes(':') ? 6 : 4)),
      [4, 6],
    );
    const old = formatResult(result, '0.2.0') as { ip4: { ip: string }; ip6: { ip: string } };
    assert.match(old.ip4.ip, /^10\.220\.244\./);
    assert.match(old.ip6.ip, /^fd10:220:244::/);
    await runtime.delNetworkList(list, rt);
    await s.delNetns(netns);
  });

  it('runs DEL without CNI_NETNS once the namespace is gone, and host-local still releases the address', async () => {
    const netns = await s.addNetns('gone');
    const list = parseNetworkConfig(JSON.stringify(bridgeConf('1.0.0', '10.220.245.0/24', { name: 'gone', bridge: `cnibr${s.id.slice(0, 4)}g` })));
    const { result } = await runtime.addNetworkList(list, { containerId: 'gone1', netns, ifName: 'eth0' });
    const ip = result.ips[0]!.address.split('/')[0]!;
    await s.delNetns(netns); // the container namespace vanished (reboot, crash)
    assert.equal(existsSync(join(s.dataDir, 'gone', ip)), true, 'the address leaks until DEL');
    await runtime.delNetworkList(list, { containerId: 'gone1', ifName: 'eth0' });
    assert.equal(existsSync(join(s.dataDir, 'gone', ip)), false);
  });

  it('keeps a failing plugin’s stdout and stderr, and a DEL after the failed ADD undoes the plugins that ran', async () => {
    await s.writePlugin(
      'cni-fail',
      `#!/bin/sh
cat > /dev/null
if [ "$CNI_COMMAND" = ADD ]; then echo '{"cniVersion":"1.0.0","code":11,"msg":"try again later"}'; echo "fail on $CNI_CONTAINERID" >&2; exit 1; fi
exit 0
`,
    );
    const list = parseNetworkConfig(
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'fails',
        plugins: [
          { type: 'bridge', bridge: `cnibr${s.id.slice(0, 4)}f`, ipam: { type: 'host-local', dataDir: s.dataDir, subnet: '10.220.246.0/24' } },
          { type: 'cni-fail' },
        ],
      }),
    );
    const netns = await s.addNetns('fail');
    const rt = { containerId: 'fail1', netns, ifName: 'eth0' };
    await assert.rejects(runtime.addNetworkList(list, rt), (err) => {
      assert.ok(err instanceof CniPluginError);
      assert.equal(err.plugin, join(s.pluginDir, 'cni-fail'));
      assert.equal(err.cniCode, 11);
      assert.equal(err.stderr, 'fail on fail1\n');
      return true;
    });
    assert.equal((await addressesIn(netns, 'eth0')).length, 1, 'bridge did attach before the chain failed');
    await runtime.delNetworkList(list, rt);
    assert.match(await s.inNetns(netns, 'ip', ['-o', 'link']).catch((e: Error) => e.message), /^(?!.*eth0)/s);
    assert.deepEqual(await s.census().then((c) => c.hostLocalAddresses), 0);
    await s.delNetns(netns);
  });
});
