import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createIpamClient, type IpamClient } from '../client.js';
import { netnsAdd, netnsDel, run, runPlugin, uniqueName } from '../testing/netns.js';
import { TEST_BRIDGE, TEST_NET as NET } from '../testing/resources.js';
import { startServerProcess, type ServerProcess } from '../testing/server-process.js';
import { CNI_ERROR_CODES } from './cni-errors.js';
import { createIpamNodeDaemon, type IpamNodeDaemon } from './node-daemon.js';
import { installIpamPlugin } from './plugin.js';

// The real thing: Debian's bridge and ptp plugins delegate to our `ippc-ipam` executable (found
// through CNI_PATH before /usr/lib/cni), which forwards to the node daemon, which calls the IPAM
// service process over gRPC. Everything runs inside a scratch "host" namespace of our own.

const TOKEN = 'plugin-int-token';
const esc = (text: string) => text.replace(/\./g, '\\.');

describe('ippc-ipam with the real bridge and ptp plugins in network namespaces', () => {
  let tmp: string;
  let server: ServerProcess;
  let ipam: IpamClient;
  let daemon: IpamNodeDaemon;
  let pluginDir: string;
  let shDir: string;
  let cniPath: string;
  let socket: string;
  const host = uniqueName('h');
  const namespaces: string[] = [];
  const listeners: ChildProcess[] = [];

  const container = () => {
    const name = uniqueName('c');
    namespaces.push(name);
    return { name, path: netnsAdd(name) };
  };

  const bridgeConf = (over: Record<string, unknown> = {}, ipam: Record<string, unknown> = {}) => ({
    cniVersion: '1.0.0',
    name: 'ipamnet',
    type: 'bridge',
    bridge: `${TEST_BRIDGE}0`,
    isGateway: true,
    ipMasq: false,
    ipam: { type: 'ippc-ipam', daemonSocket: socket, ranges: [[{ subnet: `${NET}.40.0/24` }]], routes: [{ dst: '0.0.0.0/0' }], ...ipam },
    ...over,
  });

  /** TCP from a container namespace to a listener in the host namespace: proves the address works. */
  async function reachable(fromNs: string, to: string): Promise<boolean> {
    const port = 17_000 + Math.floor(Math.random() * 1000);
    const srv = spawn(
      'ip',
      ['netns', 'exec', host, process.execPath, '-e', `require('net').createServer(s=>s.end('pong')).listen(${port},'${to}',()=>console.log('up'))`],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    listeners.push(srv);
    await new Promise<void>((resolve) => srv.stdout!.once('data', () => resolve()));
    try {
      const out = run('ip', ['netns', 'exec', fromNs, 'timeout', '3', 'bash', '-c', `exec 3<>/dev/tcp/${to}/${port}; cat <&3`]);
      return out === 'pong';
    } catch {
      return false;
    } finally {
      srv.kill('SIGKILL');
    }
  }

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'ipam-'));
    server = await startServerProcess([`--data_dir=${join(tmp, 'db')}`, '--http=off', '--cooldown=30secs'], { IPPC_TOKEN: TOKEN });
    ipam = createIpamClient({ address: server.address, auth: { token: TOKEN } });
    socket = join(tmp, 'ipam.sock');
    daemon = createIpamNodeDaemon({ ipam, socketPath: socket, node: 'agent-int' });
    await daemon.start();
    pluginDir = join(tmp, 'cni-bin');
    assert.equal(installIpamPlugin({ dir: pluginDir, flavor: 'native' }).flavor, 'native');
    shDir = join(tmp, 'cni-bin-sh');
    installIpamPlugin({ dir: shDir, flavor: 'sh' });
    cniPath = `${pluginDir}:/usr/lib/cni`;
    netnsAdd(host);
  });

  after(async () => {
    for (const l of listeners) l.kill('SIGKILL');
    for (const n of namespaces) netnsDel(n);
    netnsDel(host);
    await daemon?.close();
    ipam?.close();
    await server?.kill();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('bridge (CNI 1.0.0) gets its address from ippc-ipam, the container reaches the gateway, CHECK and DEL work', async () => {
    const c = container();
    const add = await runPlugin({
      plugin: '/usr/lib/cni/bridge',
      command: 'ADD',
      containerId: 'br1',
      netns: c.path,
      ifName: 'eth0',
      cniPath,
      config: bridgeConf(),
      hostNetns: host,
    });
    assert.equal(add.code, 0, add.stdout + add.stderr);
    const result = JSON.parse(add.stdout) as { ips: Array<{ address: string; gateway: string }>; interfaces: unknown[] };
    assert.deepEqual(
      result.ips.map((i) => [i.address, i.gateway]),
      [[`${NET}.40.2/24`, `${NET}.40.1`]],
    );
    assert.equal(result.interfaces.length, 3);
    assert.match(run('ip', ['-n', c.name, '-4', 'addr', 'show', 'eth0']), new RegExp(`inet ${esc(NET)}\\.40\\.2/24`));
    assert.ok(await reachable(c.name, `${NET}.40.1`), 'container reaches the bridge gateway over its assigned address');
    const lease = await ipam.getLease({ network: 'ipamnet', containerId: 'br1', ifName: 'eth0' });
    assert.equal(lease.node, 'agent-int');

    const check = await runPlugin({
      plugin: '/usr/lib/cni/bridge',
      command: 'CHECK',
      containerId: 'br1',
      netns: c.path,
      ifName: 'eth0',
      cniPath,
      config: bridgeConf({ prevResult: result }),
      hostNetns: host,
    });
    assert.equal(check.code, 0, check.stdout + check.stderr);

    const del = await runPlugin({
      plugin: '/usr/lib/cni/bridge',
      command: 'DEL',
      containerId: 'br1',
      netns: c.path,
      ifName: 'eth0',
      cniPath,
      config: bridgeConf({ prevResult: result }),
      hostNetns: host,
    });
    assert.equal(del.code, 0, del.stdout + del.stderr);
    assert.deepEqual(await ipam.listLeases({ network: 'ipamnet' }), []);
    const pools = await ipam.listPools('ipamnet');
    assert.equal(pools[0]!.cooling, 1, 'the released address cools down before reuse');
  });

  it('releases on DEL when the namespace is already gone (no CNI_NETNS)', async () => {
    const c = container();
    const add = await runPlugin({
      plugin: '/usr/lib/cni/bridge',
      command: 'ADD',
      containerId: 'gone1',
      netns: c.path,
      ifName: 'eth0',
      cniPath,
      config: bridgeConf(),
      hostNetns: host,
    });
    assert.equal(add.code, 0, add.stdout + add.stderr);
    netnsDel(c.name);
    const del = await runPlugin({
      plugin: '/usr/lib/cni/bridge',
      command: 'DEL',
      containerId: 'gone1',
      ifName: 'eth0',
      cniPath,
      config: bridgeConf(),
      hostNetns: host,
    });
    assert.equal(del.code, 0, del.stdout + del.stderr);
    await assert.rejects(ipam.getLease({ network: 'ipamnet', containerId: 'gone1', ifName: 'eth0' }), /holds no lease/);
  });

  it('ptp gets its address from ippc-ipam and reaches the host side', async () => {
    const c = container();
    const conf = {
      cniVersion: '0.4.0',
      name: 'ipamptp',
      type: 'ptp',
      ipMasq: false,
      ipam: { type: 'ippc-ipam', daemonSocket: socket, ranges: [[{ subnet: `${NET}.41.0/24` }]] },
    };
    const add = await runPlugin({
      plugin: '/usr/lib/cni/ptp',
      command: 'ADD',
      containerId: 'ptp1',
      netns: c.path,
      ifName: 'eth0',
      cniPath,
      config: conf,
      hostNetns: host,
    });
    assert.equal(add.code, 0, add.stdout + add.stderr);
    const result = JSON.parse(add.stdout) as { cniVersion: string; ips: Array<{ version: string; address: string; gateway: string }> };
    assert.equal(result.cniVersion, '0.4.0');
    assert.deepEqual(
      result.ips.map((i) => [i.version, i.address, i.gateway]),
      [['4', `${NET}.41.2/24`, `${NET}.41.1`]],
    );
    assert.match(run('ip', ['-n', c.name, '-4', 'addr', 'show', 'eth0']), new RegExp(`inet ${esc(NET)}\\.41\\.2/(24|32)`));
    assert.ok(await reachable(c.name, `${NET}.41.1`), 'container reaches the ptp host side');
    const del = await runPlugin({
      plugin: '/usr/lib/cni/ptp',
      command: 'DEL',
      containerId: 'ptp1',
      netns: c.path,
      ifName: 'eth0',
      cniPath,
      config: { ...conf, prevResult: result },
      hostNetns: host,
    });
    assert.equal(del.code, 0, del.stdout + del.stderr);
    assert.deepEqual(await ipam.listLeases({ network: 'ipamptp' }), []);
  });

  it('a Mesos-era 0.2.0 config with network_info gets the requested address back as ip4', async () => {
    const c = container();
    const conf = bridgeConf(
      {
        cniVersion: '0.2.0',
        args: {
          'org.apache.mesos': {
            network_info: {
              name: 'ipamnet',
              ip_addresses: [{ protocol: 'IPv4', ip_address: `${NET}.40.77` }],
              groups: ['web'],
              labels: { labels: [{ key: 'app', value: 'x' }] },
            },
          },
        },
      },
      {},
    );
    const add = await runPlugin({
      plugin: '/usr/lib/cni/bridge',
      command: 'ADD',
      containerId: 'mesos1',
      netns: c.path,
      ifName: 'eth0',
      cniPath,
      config: conf,
      hostNetns: host,
    });
    assert.equal(add.code, 0, add.stdout + add.stderr);
    const result = JSON.parse(add.stdout) as { cniVersion: string; ip4: { ip: string; gateway: string } };
    assert.equal(result.cniVersion, '0.2.0');
    assert.equal(result.ip4.ip, `${NET}.40.77/24`);
    assert.match(run('ip', ['-n', c.name, '-4', 'addr', 'show', 'eth0']), new RegExp(`inet ${esc(NET)}\\.40\\.77/24`));
    const lease = await ipam.getLease({ network: 'ipamnet', containerId: 'mesos1', ifName: 'eth0' });
    assert.deepEqual(lease.groups, ['web']);
    // The same address for another container: the plugin's error comes through bridge with our code.
    const c2 = container();
    const again = await runPlugin({
      plugin: '/usr/lib/cni/bridge',
      command: 'ADD',
      containerId: 'mesos2',
      netns: c2.path,
      ifName: 'eth0',
      cniPath,
      config: conf,
      hostNetns: host,
    });
    assert.notEqual(again.code, 0);
    assert.equal((JSON.parse(again.stdout) as { code: number }).code, CNI_ERROR_CODES.ADDRESS_TAKEN);
    await runPlugin({
      plugin: '/usr/lib/cni/bridge',
      command: 'DEL',
      containerId: 'mesos2',
      netns: c2.path,
      ifName: 'eth0',
      cniPath,
      config: conf,
      hostNetns: host,
    });
    assert.equal(run('ip', ['-n', c2.name, '-o', 'link']).includes('eth0'), false, 'bridge rolled back the failed ADD');
  });

  it('the sh + curl flavour of the plugin does the same job', async () => {
    const c = container();
    const add = await runPlugin({
      plugin: '/usr/lib/cni/bridge',
      command: 'ADD',
      containerId: 'sh1',
      netns: c.path,
      ifName: 'eth0',
      cniPath: `${shDir}:/usr/lib/cni`,
      config: bridgeConf(),
      hostNetns: host,
    });
    assert.equal(add.code, 0, add.stdout + add.stderr);
    assert.match((JSON.parse(add.stdout) as { ips: Array<{ address: string }> }).ips[0]!.address, new RegExp(`^${esc(NET)}\\.40\\.\\d+/24$`));
    const del = await runPlugin({
      plugin: '/usr/lib/cni/bridge',
      command: 'DEL',
      containerId: 'sh1',
      netns: c.path,
      ifName: 'eth0',
      cniPath: `${shDir}:/usr/lib/cni`,
      config: bridgeConf(),
      hostNetns: host,
    });
    assert.equal(del.code, 0, del.stdout + del.stderr);
  });

  it('run alone, the plugin prints CNI errors with distinct codes and exits 1; 11 when the daemon is down', async () => {
    const plugin = join(pluginDir, 'ippc-ipam');
    const tiny = { cniVersion: '1.0.0', name: 'ipamtiny', ipam: { type: 'ippc-ipam', daemonSocket: socket, ranges: [[{ subnet: `${NET}.42.0/30` }]] } };
    const ok = await runPlugin({ plugin, command: 'ADD', containerId: 't1', ifName: 'eth0', cniPath, config: tiny });
    assert.equal(ok.code, 0, ok.stdout);
    assert.deepEqual(JSON.parse(ok.stdout), { cniVersion: '1.0.0', ips: [{ address: `${NET}.42.2/30`, gateway: `${NET}.42.1` }], routes: [], dns: {} });
    const full = await runPlugin({ plugin, command: 'ADD', containerId: 't2', ifName: 'eth0', cniPath, config: tiny });
    assert.equal(full.code, 1);
    assert.equal((JSON.parse(full.stdout) as { code: number }).code, CNI_ERROR_CODES.POOL_EXHAUSTED);
    const outside = await runPlugin({
      plugin,
      command: 'ADD',
      containerId: 't3',
      ifName: 'eth0',
      cniPath,
      config: { ...tiny, runtimeConfig: { ips: [`${NET}.43.9`] } },
    });
    assert.equal((JSON.parse(outside.stdout) as { code: number }).code, CNI_ERROR_CODES.ADDRESS_OUTSIDE_POOL);
    const version = await runPlugin({ plugin, command: 'VERSION', cniPath, config: { cniVersion: '0.3.1' } });
    assert.equal((JSON.parse(version.stdout) as { cniVersion: string }).cniVersion, '0.3.1');
    for (const p of [plugin, join(shDir, 'ippc-ipam')]) {
      const down = await runPlugin({
        plugin: p,
        command: 'ADD',
        containerId: 't4',
        ifName: 'eth0',
        cniPath,
        config: { ...tiny, ipam: { ...tiny.ipam, daemonSocket: join(tmp, 'nobody.sock') } },
      });
      assert.equal(down.code, 1);
      assert.equal((JSON.parse(down.stdout) as { code: number }).code, CNI_ERROR_CODES.TRY_AGAIN_LATER);
    }
    await runPlugin({ plugin, command: 'DEL', containerId: 't1', ifName: 'eth0', cniPath, config: tiny });
  });
});
