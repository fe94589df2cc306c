import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isIppcError, type ContainerConfig } from '@ippc/core';
import { ContainerInfo_Type, NetworkInfo_Protocol, type ExecutorInfo, type NetworkInfo } from '@ippc/proto';
import { createNetworkIsolator, type NetworkIsolatorOptions } from './isolator.js';
import { captureLogger, createFakeHost, createFakeInvoker, failing, fakeBridge, passThrough, type FakeCall, type FakePlugin } from './testing/fakes.js';

const scratch: string[] = [];
after(async () => {
  for (const d of scratch) await rm(d, { recursive: true, force: true });
});

function net(name: string, extra: Partial<NetworkInfo> = {}): NetworkInfo {
  return { name, ipAddresses: [], groups: [], portMappings: [], ...extra };
}

function config(id: string, networkInfos: NetworkInfo[], extra: { hostname?: string; type?: ContainerInfo_Type } = {}): ContainerConfig {
  return {
    containerId: { value: id },
    executor: { resources: [] } as unknown as ExecutorInfo,
    containerInfo: { type: extra.type ?? ContainerInfo_Type.MESOS, networkInfos, ...(extra.hostname ? { hostname: extra.hostname } : {}) },
    sandboxDirectory: '/tmp',
  };
}

/** A world of fakes: config folder with blue (conflist), green (single 0.2.0-style) and red networks. */
async function world(plugins: Record<string, FakePlugin> = {}, options: Partial<NetworkIsolatorOptions> = {}) {
  const base = await mkdtemp(join(tmpdir(), 'cni-iso-'));
  scratch.push(base);
  const configDir = join(base, 'net.d');
  const rootDir = join(base, 'root');
  await mkdir(configDir);
  await writeFile(
    join(configDir, '10-blue.conflist'),
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'blue',
      plugins: [
        { type: 'bridge', ipam: { type: 'host-local' } },
        { type: 'portmap', capabilities: { portMappings: true } },
        { type: 'bandwidth', capabilities: { bandwidth: true } },
      ],
    }),
  );
  await writeFile(join(configDir, '20-green.json'), JSON.stringify({ name: 'green', type: 'ptp', ipam: { type: 'static' }, capabilities: { ips: true } }));
  await writeFile(join(configDir, '30-red.conf'), JSON.stringify({ cniVersion: '0.4.0', name: 'red', type: 'macvlan' }));
  const seenConf: string[] = [];
  // Every interface plugin checks that network.conf is on disk when its ADD runs (Mesos's order).
  const checkConf =
    (inner: FakePlugin, netName: string): FakePlugin =>
    (call: FakeCall) => {
      if (call.command === 'ADD') {
        const path = join(rootDir, call.env.CNI_CONTAINERID!, netName, 'network.conf');
        if (existsSync(path)) seenConf.push(readFileSync(path, 'utf8'));
        else throw new Error(`network.conf of ${netName} missing at ADD`);
      }
      return inner(call);
    };
  const invoker = createFakeInvoker(
    {
      bridge: checkConf(fakeBridge('10.220.7', { ipv6: 'fd10:220:7::' }), 'blue'),
      portmap: passThrough,
      bandwidth: passThrough,
      ptp: checkConf(fakeBridge('10.220.8'), 'green'),
      macvlan: checkConf(fakeBridge('10.220.9', { dns: { nameservers: ['10.220.9.53'], search: ['mesos'] } }), 'red'),
      ...plugins,
    },
    ['host-local', 'static'],
  );
  const host = createFakeHost();
  const { logger, lines } = captureLogger();
  const make = (extra: Partial<NetworkIsolatorOptions> = {}) =>
    createNetworkIsolator({ configDir, rootDir, pluginDirs: ['/fake/cni'], invoker, host, logger, ...options, ...extra });
  return { base, configDir, rootDir, invoker, host, lines, seenConf, isolator: make(), make };
}

describe('prepare', () => {
  it('names interfaces eth0, eth1, ... over the named NetworkInfos in request order and asks for net, uts and mnt', async () => {
    const w = await world();
    const launch = await w.isolator.prepare(config('c1', [net('green'), net(''), { ...net('blue') }]));
    assert.deepEqual(launch, { namespaces: ['net', 'uts', 'mnt'], environment: { LIBPROCESS_IP: '0.0.0.0' } });
    assert.deepEqual(w.isolator.containers(), ['c1']);
    assert.equal(existsSync(join(w.rootDir, 'c1')), false, 'prepare writes nothing');
    await w.isolator.isolate({ value: 'c1' }, 4242);
    assert.deepEqual(
      w.invoker.calls.filter((c) => c.command === 'ADD' && (c.type === 'ptp' || c.type === 'bridge')).map((c) => `${c.type}:${c.env.CNI_IFNAME}`).sort(),
      ['bridge:eth1', 'ptp:eth0'],
    );
  });

  it('leaves containers without named networks (host network) alone', async () => {
    const w = await world();
    assert.equal(await w.isolator.prepare(config('h1', [net('')])), undefined);
    assert.equal(await w.isolator.prepare(config('h2', [])), undefined);
    await w.isolator.isolate({ value: 'h1' }, 1);
    assert.deepEqual(await w.isolator.status({ value: 'h1' }), { networkInfos: [] });
    assert.equal(w.invoker.calls.length, 0);
  });

  it("fails with Mesos's messages, unknown network checked before duplicates, and keeps nothing", async () => {
    const w = await world();
    const cases: Array<[NetworkInfo[], string, string, Partial<{ type: ContainerInfo_Type }>?]> = [
      [[net('blue'), net('nope')], 'CNI_UNKNOWN_NETWORK', "Unknown CNI network 'nope'"],
      [[net('blue'), net('blue'), net('nope')], 'CNI_DUPLICATE_NETWORK', "Attempted to join CNI network 'blue' multiple times"],
      [[net('nope'), net('nope')], 'CNI_UNKNOWN_NETWORK', "Unknown CNI network 'nope'"],
      [[net('blue')], 'CNI_NOT_MESOS_CONTAINER', 'Can only prepare CNI networks for a MESOS container', { type: ContainerInfo_Type.DOCKER }],
    ];
    for (const [nets, code, msg, extra] of cases) {
      await assert.rejects(w.isolator.prepare(config('bad', nets, extra)), (err) => isIppcError(err, code) && (err as Error).message === msg, msg);
      assert.deepEqual(w.isolator.containers(), []);
    }
    await w.isolator.prepare(config('ok', [net('blue')]));
    await assert.rejects(w.isolator.prepare(config('ok', [net('blue')])), (err) => (err as Error).message === 'Container has already been prepared');
    assert.equal(w.invoker.calls.length, 0);
  });

  it('refuses bad request values up front: bandwidth labels, port mappings, container ids', async () => {
    const w = await world();
    const bw = net('blue', { labels: { labels: [{ key: 'org.ippc.bandwidth.ingressRate', value: 'fast' }] } });
    await assert.rejects(w.isolator.prepare(config('c', [bw])), (err) => isIppcError(err, 'CNI_INVALID_REQUEST') && /'fast'.*ingressRate/.test((err as Error).message));
    await assert.rejects(w.isolator.prepare(config('c', [net('blue', { portMappings: [{ hostPort: 0, containerPort: 80 }] })])), /Invalid port mapping 0:80/);
    await assert.rejects(w.isolator.prepare(config('c', [net('blue', { portMappings: [{ hostPort: 33000, containerPort: 80, protocol: 'icmp' }] })])), /Invalid protocol 'icmp'/);
    await assert.rejects(w.isolator.prepare(config('-c', [net('blue')])), (err) => isIppcError(err, 'CNI_INVALID_REQUEST'));
    await assert.rejects(w.isolator.prepare(config('c', [net('blue')], { hostname: 'h'.repeat(65) })), /at most 64 bytes/);
    assert.deepEqual(w.isolator.containers(), []);
  });

  it('refuses a NetworkInfo too large for a CNI request (its DEL would fail too and the checkpoint stay forever)', async () => {
    const w = await world();
    const big = net('blue', { labels: { labels: Array.from({ length: 300 }, (_, i) => ({ key: `k${i}`, value: 'v'.repeat(1024) })) } });
    await assert.rejects(w.isolator.prepare(config('c', [big])), (err) => isIppcError(err, 'CNI_INVALID_REQUEST') && /^The NetworkInfo of CNI network 'blue' is \d+ bytes; at most 262144 bytes fit in a CNI request: shorten its labels$/.test((err as Error).message));
    assert.deepEqual(w.isolator.containers(), []);
    assert.equal(w.invoker.calls.length, 0);
    await w.isolator.prepare(config('c', [net('blue', { labels: { labels: [{ key: 'k', value: 'v'.repeat(1024) }] } })]));
  });

  it("refuses to start without the config folder, with Mesos's message", async () => {
    const w = await world();
    const iso = w.make({ configDir: join(w.base, 'nope') });
    await assert.rejects(iso.recover([], []), (err) => isIppcError(err, 'CNI_BAD_OPTIONS') && (err as Error).message === `The CNI network configuration directory '${join(w.base, 'nope')}' does not exist`);
  });
});

describe('isolate', () => {
  it('checkpoints network.conf (with Mesos args, keys sorted) before ADD and network.info after', async () => {
    const w = await world();
    const blue = net('blue', { groups: ['web'], labels: { labels: [{ key: 'app', value: 'a' }] }, portMappings: [{ hostPort: 33001, containerPort: 80 }] });
    await w.isolator.prepare(config('c1', [blue]));
    await w.isolator.isolate({ value: 'c1' }, 100);
    const conf = await readFile(join(w.rootDir, 'c1', 'blue', 'network.conf'), 'utf8');
    assert.equal(w.seenConf[0], conf);
    const mesosArgs = '{"org.apache.mesos":{"network_info":{"groups":["web"],"labels":{"labels":[{"key":"app","value":"a"}]},"name":"blue","port_mappings":[{"container_port":80,"host_port":33001}]}}}';
    assert.equal(
      conf,
      `{"cniVersion":"1.0.0","name":"blue","plugins":[{"args":${mesosArgs},"ipam":{"type":"host-local"},"type":"bridge"},` +
        `{"args":${mesosArgs},"capabilities":{"portMappings":true},"type":"portmap"},{"args":${mesosArgs},"capabilities":{"bandwidth":true},"type":"bandwidth"}]}`,
    );
    const info = await readFile(join(w.rootDir, 'c1', 'blue', 'eth0', 'network.info'), 'utf8');
    const lastAdd = w.invoker.calls.filter((c) => c.command === 'ADD').at(-1)!;
    assert.equal(lastAdd.type, 'bandwidth');
    assert.deepEqual(JSON.parse(info), lastAdd.request.prevResult, 'network.info is the final result of the chain');
    assert.deepEqual(await readdir(join(w.rootDir, 'c1')), ['blue', 'hostname', 'hosts', 'ns'].sort());
  });

  it('sends the ADD environment Mesos does, and capability arguments only to plugins that declare them', async () => {
    const w = await world();
    const blue = net('blue', {
      portMappings: [{ hostPort: 33002, containerPort: 8080, protocol: 'UDP' }],
      labels: { labels: [{ key: 'org.ippc.bandwidth.egressRate', value: '1000000' }, { key: 'org.ippc.bandwidth.egressBurst', value: '100000' }] },
    });
    const green = net('green', { ipAddresses: [{ protocol: NetworkInfo_Protocol.IPv4, ipAddress: '10.220.8.77/24' }, { protocol: NetworkInfo_Protocol.IPv4 }] });
    await w.isolator.prepare(config('c2', [blue, green]));
    await w.isolator.isolate({ value: 'c2' }, 100);
    const bridge = w.invoker.calls.find((c) => c.type === 'bridge')!;
    assert.deepEqual(bridge.env, { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c2', CNI_IFNAME: 'eth0', CNI_NETNS: join(w.rootDir, 'c2', 'ns'), CNI_PATH: '/fake/cni', PATH: process.env.PATH });
    assert.equal(bridge.request.runtimeConfig, undefined);
    assert.deepEqual(w.invoker.calls.find((c) => c.type === 'portmap')!.request.runtimeConfig, { portMappings: [{ hostPort: 33002, containerPort: 8080, protocol: 'udp' }] });
    assert.deepEqual(w.invoker.calls.find((c) => c.type === 'bandwidth')!.request.runtimeConfig, { bandwidth: { egressRate: 1000000, egressBurst: 100000 } });
    const ptp = w.invoker.calls.find((c) => c.type === 'ptp')!;
    const greenConf = await readFile(join(w.rootDir, 'c2', 'green', 'network.conf'), 'utf8');
    const { runtimeConfig: _rc, ...sent } = ptp.request;
    assert.equal(JSON.stringify(sent), greenConf.replace(',"capabilities":{"ips":true}', ''), 'a single config goes to the plugin as checkpointed');
    assert.deepEqual(ptp.request.runtimeConfig, { ips: ['10.220.8.77/24'] });
    assert.equal(ptp.request.capabilities, undefined);
    assert.equal(ptp.env.CNI_IFNAME, 'eth1');
  });

  it('writes hostname (the container id, or ContainerInfo.hostname) and hosts, and sets them up inside the container', async () => {
    const w = await world();
    await w.isolator.prepare(config('c3', [net('blue'), net('green')]));
    await w.isolator.isolate({ value: 'c3' }, 300);
    assert.equal(await readFile(join(w.rootDir, 'c3', 'hostname'), 'utf8'), 'c3');
    assert.equal(await readFile(join(w.rootDir, 'c3', 'hosts'), 'utf8'), '127.0.0.1 localhost\n10.220.7.2 c3\n');
    assert.deepEqual(w.host.setups[0], {
      pid: 300,
      setup: {
        hostname: 'c3',
        loopbackUp: true,
        binds: [
          { source: join(w.rootDir, 'c3', 'hosts'), target: '/etc/hosts' },
          { source: join(w.rootDir, 'c3', 'hostname'), target: '/etc/hostname' },
        ],
      },
    });
    assert.equal(existsSync(join(w.rootDir, 'c3', 'resolv.conf')), false, 'no nameservers: the host resolv.conf stays');
    await w.isolator.prepare(config('c4', [net('green')], { hostname: 'web-1' }));
    await w.isolator.isolate({ value: 'c4' }, 301);
    assert.equal(await readFile(join(w.rootDir, 'c4', 'hostname'), 'utf8'), 'web-1');
    assert.equal(await readFile(join(w.rootDir, 'c4', 'hosts'), 'utf8'), '127.0.0.1 localhost\n10.220.8.3 web-1\n');
  });

  it('writes resolv.conf from the plugin DNS, else the default DNS for the network, and binds it', async () => {
    const w = await world({}, { defaultDns: { networks: { green: { nameservers: ['10.220.8.53'], domain: 'green.local' } }, default: { nameservers: ['9.9.9.9'] } } });
    await w.isolator.prepare(config('d1', [net('red'), net('green'), net('blue')]));
    await w.isolator.isolate({ value: 'd1' }, 400);
    assert.equal(await readFile(join(w.rootDir, 'd1', 'resolv.conf'), 'utf8'), 'domain green.local\nsearch mesos\nnameserver 10.220.9.53\nnameserver 10.220.8.53\nnameserver 9.9.9.9\n');
    assert.deepEqual(w.host.setups.at(-1)!.setup, { binds: [{ source: join(w.rootDir, 'd1', 'resolv.conf'), target: '/etc/resolv.conf' }], loopbackUp: false });
    assert.equal(await readFile(join(w.rootDir, 'd1', 'hosts'), 'utf8'), '127.0.0.1 localhost\n10.220.9.2 d1\n', 'the first network in request order names the host');
  });

  it("fails a plugin with Mesos's message, runs DEL for every network (also the failed one) and leaves nothing", async () => {
    const w = await world({ portmap: failing(['ADD'], 'port 33003 taken') });
    await w.isolator.prepare(config('f1', [net('green'), net('blue')]));
    await assert.rejects(w.isolator.isolate({ value: 'f1' }, 500), (err) => {
      assert.ok(isIppcError(err, 'CNI_ATTACH_FAILED'));
      assert.equal(
        (err as Error).message,
        `The CNI plugin '/fake/cni/portmap' failed to attach container f1 to CNI network 'blue': stdout='{"cniVersion":"1.0.0","code":7,"msg":"port 33003 taken"}', stderr='ADD failed\n'`,
      );
      return true;
    });
    const dels = w.invoker.calls.filter((c) => c.command === 'DEL').map((c) => `${c.type}:${c.env.CNI_IFNAME}`);
    assert.deepEqual(dels.sort(), ['bandwidth:eth1', 'bridge:eth1', 'portmap:eth1', 'ptp:eth0'].sort());
    assert.equal(existsSync(join(w.rootDir, 'f1')), false);
    assert.equal(w.host.held.size, 0);
    assert.deepEqual(w.isolator.containers(), []);
    await w.isolator.cleanup({ value: 'f1' }); // the containerizer's cleanup after the failure is a no-op
  });

  it('joins several failures with new lines, as Mesos does', async () => {
    const w = await world({ ptp: failing(['ADD'], 'ptp broke'), macvlan: failing(['ADD'], 'macvlan broke') });
    await w.isolator.prepare(config('f2', [net('green'), net('red')]));
    await assert.rejects(w.isolator.isolate({ value: 'f2' }, 501), (err) => {
      const one = (p: string, n: string, m: string) =>
        `The CNI plugin '/fake/cni/${p}' failed to attach container f2 to CNI network '${n}': stdout='{"cniVersion":"1.0.0","code":7,"msg":"${m}"}', stderr='ADD failed\n'`;
      assert.equal((err as Error).message, `${one('ptp', 'green', 'ptp broke')}\n${one('macvlan', 'red', 'macvlan broke')}`);
      return true;
    });
    assert.equal(existsSync(join(w.rootDir, 'f2')), false);
  });

  it("refuses a config that sets args['org.apache.mesos'] itself, before any ADD", async () => {
    const w = await world();
    await writeFile(join(w.configDir, '40-evil.conf'), JSON.stringify({ name: 'evil', type: 'ptp', args: { 'org.apache.mesos': { network_info: {} } } }));
    await w.isolator.prepare(config('e1', [net('evil')]));
    await assert.rejects(
      w.isolator.isolate({ value: 'e1' }, 600),
      (err) => isIppcError(err, 'CNI_RESERVED_ARGS') && (err as Error).message === "'org.apache.mesos' in 'args' should not be set in CNI network configuration file. It is reserved by Mesos",
    );
    assert.equal(w.invoker.calls.length, 0);
    assert.equal(existsSync(join(w.rootDir, 'e1')), false);
  });

  it('cleans up after a failing setup inside the container too', async () => {
    const w = await world();
    w.host.failSetup = 'mount: permission denied';
    await w.isolator.prepare(config('s1', [net('blue')]));
    await assert.rejects(w.isolator.isolate({ value: 's1' }, 700), (err) => (err as Error).message === 'Failed to setup hostname and network files: mount: permission denied');
    assert.equal(w.invoker.calls.filter((c) => c.command === 'DEL').length, 3);
    assert.equal(existsSync(join(w.rootDir, 's1')), false);
  });
});

describe('status, usage, check', () => {
  it('copies each requested NetworkInfo in request order with the addresses CNI returned (IPv4, then IPv6 as Mesos reports it)', async () => {
    const w = await world();
    const blue = net('blue', { groups: ['g'], labels: { labels: [{ key: 'k', value: 'v' }] }, ipAddresses: [{ protocol: NetworkInfo_Protocol.IPv6 }], portMappings: [{ hostPort: 33004, containerPort: 80 }] });
    await w.isolator.prepare(config('s2', [net('green'), blue]));
    assert.deepEqual(await w.isolator.status({ value: 's2' }), { networkInfos: [] }, 'nothing before isolate');
    await w.isolator.isolate({ value: 's2' }, 800);
    const status = await w.isolator.status({ value: 's2' });
    assert.deepEqual(status.networkInfos, [
      { ...net('green'), ipAddresses: [{ protocol: NetworkInfo_Protocol.IPv4, ipAddress: '10.220.8.2' }] },
      {
        ...blue,
        ipAddresses: [
          { protocol: NetworkInfo_Protocol.IPv4, ipAddress: '10.220.7.2' },
          { protocol: NetworkInfo_Protocol.IPv6, ipAddress: 'fd10:220:7::2/64' },
        ],
      },
    ]);
    w.host.running.add(800);
    const stripped = w.make({ stripIpv6Prefix: true });
    await stripped.recover([{ containerId: { value: 's2' }, config: config('s2', [net('green'), blue]), pid: 800 }], []);
    assert.equal((await stripped.status({ value: 's2' })).networkInfos[1]!.ipAddresses[1]!.ipAddress, 'fd10:220:7::2');
  });

  it('sums the counters of the container interfaces only, and gives them per network', async () => {
    const w = await world();
    await w.isolator.prepare(config('u1', [net('blue'), net('green')]));
    await w.isolator.isolate({ value: 'u1' }, 900);
    const c = (n: number) => ({ rxBytes: n, rxPackets: n, rxErrors: 0, rxDropped: 1, txBytes: 2 * n, txPackets: n, txErrors: 0, txDropped: 0 });
    w.host.counters.set('lo', c(1000)).set('eth0', c(10)).set('eth1', c(5));
    assert.deepEqual(await w.isolator.usage({ value: 'u1' }), {
      rxBytes: 15,
      rxPackets: 15,
      rxErrors: 0,
      rxDropped: 2,
      txBytes: 30,
      txPackets: 15,
      txErrors: 0,
      txDropped: 0,
      interfaces: [
        { ifName: 'eth0', network: 'blue', ...c(10) },
        { ifName: 'eth1', network: 'green', ...c(5) },
      ],
    });
    assert.equal(await w.isolator.usage({ value: 'unknown' }), undefined);
  });

  it('runs CNI CHECK for each network of the container', async () => {
    const w = await world();
    await w.isolator.prepare(config('k1', [net('blue')]));
    await w.isolator.isolate({ value: 'k1' }, 901);
    await w.isolator.check({ value: 'k1' });
    assert.deepEqual(w.invoker.calls.filter((c) => c.command === 'CHECK').map((c) => c.type), ['bridge', 'portmap', 'bandwidth']);
    await assert.rejects(w.isolator.check({ value: 'nope' }), (err) => isIppcError(err, 'CNI_CHECK_FAILED'));
  });
});

describe('cleanup', () => {
  it('runs DEL with the checkpointed config, unmounts the handle, removes the checkpoint; twice is fine', async () => {
    const w = await world();
    await w.isolator.prepare(config('x1', [net('blue', { portMappings: [{ hostPort: 33005, containerPort: 80 }] })]));
    await w.isolator.isolate({ value: 'x1' }, 1000);
    // The operator changes the config file: DEL must still use what ADD used.
    await writeFile(join(w.configDir, '10-blue.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'blue', plugins: [{ type: 'bridge', changed: true }] }));
    w.invoker.calls.length = 0;
    await w.isolator.cleanup({ value: 'x1' });
    assert.deepEqual(w.invoker.calls.map((c) => `${c.command} ${c.type}`), ['DEL bandwidth', 'DEL portmap', 'DEL bridge']);
    assert.equal(w.invoker.calls[2]!.request.changed, undefined);
    assert.deepEqual(w.invoker.calls[1]!.request.runtimeConfig, { portMappings: [{ hostPort: 33005, containerPort: 80, protocol: 'tcp' }] });
    assert.equal(w.invoker.calls[0]!.env.CNI_NETNS, join(w.rootDir, 'x1', 'ns'));
    assert.equal(existsSync(join(w.rootDir, 'x1')), false);
    assert.equal(w.host.held.size, 0);
    await w.isolator.cleanup({ value: 'x1' });
    assert.equal(w.invoker.calls.length, 3);
  });

  it('runs DEL without CNI_NETNS when the namespace handle is gone', async () => {
    const w = await world();
    await w.isolator.prepare(config('x2', [net('green')]));
    await w.isolator.isolate({ value: 'x2' }, 1001);
    w.host.held.clear(); // e.g. the host rebooted
    await w.isolator.cleanup({ value: 'x2' });
    const del = w.invoker.calls.find((c) => c.command === 'DEL')!;
    assert.equal('CNI_NETNS' in del.env, false);
    assert.equal(existsSync(join(w.rootDir, 'x2')), false);
  });

  it('keeps the checkpoint when DEL fails, and a later cleanup retries', async () => {
    let broken = true;
    const w = await world({ ptp: (call) => (call.command === 'DEL' && broken ? { exitCode: 1, stdout: 'busy', stderr: '' } : fakeBridge('10.220.8')(call)) });
    await w.isolator.prepare(config('x3', [net('green')]));
    await w.isolator.isolate({ value: 'x3' }, 1002);
    await assert.rejects(w.isolator.cleanup({ value: 'x3' }), (err) => (err as Error).message === `The CNI plugin '/fake/cni/ptp' failed to detach container x3 from CNI network 'green': stdout='busy', stderr=''`);
    assert.equal(existsSync(join(w.rootDir, 'x3', 'green', 'network.conf')), true);
    broken = false;
    await w.isolator.cleanup({ value: 'x3' });
    assert.equal(existsSync(join(w.rootDir, 'x3')), false);
  });

  it('tries a failed DEL again on its own, backing off, until it succeeds', async () => {
    let failures = 3;
    const dels: number[] = [];
    const w = await world({
      ptp: (call) => {
        if (call.command !== 'DEL') return fakeBridge('10.220.8')(call);
        dels.push(Date.now());
        return failures-- > 0 ? { exitCode: 1, stdout: 'ipam unreachable', stderr: '' } : fakeBridge('10.220.8')(call);
      },
    });
    const isolator = w.make({ cleanupRetry: { firstMs: 20, maxMs: 80 } });
    await isolator.prepare(config('x9', [net('green')]));
    await isolator.isolate({ value: 'x9' }, 1009);
    await assert.rejects(isolator.cleanup({ value: 'x9' }), /ipam unreachable/);
    for (let i = 0; i < 200 && existsSync(join(w.rootDir, 'x9')); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(existsSync(join(w.rootDir, 'x9')), false, 'the checkpoint went once a retried DEL succeeded');
    assert.equal(dels.length, 4, 'the failed DEL, two failed retries, one that succeeded');
    assert.ok(dels[3]! - dels[2]! >= dels[2]! - dels[1]!, 'backing off');
    assert.ok(w.lines.some((l) => l.msg === 'Cleaned up container x9 on retry 3'), JSON.stringify(w.lines.map((l) => l.msg)));
    assert.deepEqual(isolator.containers(), []);
  });
});

describe('recover', () => {
  it('keeps live containers as they were (no DEL), DELs vanished and unknown ones, leaves known orphans to cleanup', async () => {
    const w = await world();
    const blue = net('blue', { groups: ['web'] });
    for (const [id, pid] of [['live', 1], ['dead', 2], ['stray', 3], ['orphan', 4]] as const) {
      await w.isolator.prepare(config(id, [blue, net('green')]));
      await w.isolator.isolate({ value: id }, pid);
    }
    const before = await w.isolator.status({ value: 'live' });
    const liveFiles = await readFile(join(w.rootDir, 'live', 'blue', 'eth0', 'network.info'), 'utf8');
    w.host.running.add(1); // 'dead' (pid 2) died while the agent was down
    w.invoker.calls.length = 0;

    const agent2 = w.make();
    await agent2.recover(
      [
        { containerId: { value: 'live' }, config: config('live', [blue, net('green')]), pid: 1 },
        { containerId: { value: 'dead' }, config: config('dead', [blue, net('green')]), pid: 2 },
      ],
      [{ value: 'orphan' }],
    );
    const dels = w.invoker.calls.filter((c) => c.command === 'DEL');
    assert.deepEqual([...new Set(dels.map((c) => c.env.CNI_CONTAINERID))].sort(), ['dead', 'stray']);
    assert.deepEqual(await agent2.status({ value: 'live' }), before, 'same status after recovery');
    assert.equal(await readFile(join(w.rootDir, 'live', 'blue', 'eth0', 'network.info'), 'utf8'), liveFiles);
    assert.equal(existsSync(join(w.rootDir, 'dead')), false);
    assert.equal(existsSync(join(w.rootDir, 'stray')), false);
    assert.deepEqual(agent2.containers().sort(), ['live', 'orphan']);
    await agent2.cleanup({ value: 'orphan' });
    await agent2.cleanup({ value: 'live' });
    assert.deepEqual(await readdir(w.rootDir), []);
  });

  it("takes the requested NetworkInfo from the executor's ContainerInfo when the state has no other", async () => {
    const w = await world();
    const labelled = net('green', { labels: { labels: [{ key: 'team', value: 'a' }] } });
    const viaExecutor = (id: string, nets: NetworkInfo[]): ContainerConfig => ({
      containerId: { value: id },
      executor: { resources: [], container: { type: ContainerInfo_Type.MESOS, networkInfos: nets } } as unknown as ExecutorInfo,
      sandboxDirectory: '/tmp',
    });
    await w.isolator.prepare(viaExecutor('e1', [labelled]));
    await w.isolator.isolate({ value: 'e1' }, 77);
    // The agent's record differs from the checkpointed args: the agent's record wins, as in Mesos.
    const relabelled = net('green', { labels: { labels: [{ key: 'team', value: 'b' }] } });
    w.host.running.add(77);
    const agent2 = w.make();
    await agent2.recover([{ containerId: { value: 'e1' }, config: viaExecutor('e1', [relabelled]), pid: 77 }], []);
    assert.deepEqual((await agent2.status({ value: 'e1' })).networkInfos[0]!.labels, { labels: [{ key: 'team', value: 'b' }] });
  });

  it('says when a plugin was killed for running past the plugin timeout (its output alone is empty)', async () => {
    const w = await world({ ptp: (call: FakeCall) => (call.command === 'ADD' ? { exitCode: null, stdout: '', stderr: '', timedOut: true } : undefined) });
    await w.isolator.prepare(config('slow', [net('green')]));
    await assert.rejects(
      w.isolator.isolate({ value: 'slow' }, 4243),
      (err) => /^The CNI plugin '.*ptp' failed to attach container slow to CNI network 'green': stdout='', stderr=''; the plugin was killed after running past the plugin timeout \(the agent's --network_cni_plugin_timeout\)$/.test((err as Error).message),
    );
  });

  it("makes the interface folder before ADD (Mesos's order), so an agent killed during the ADD still DELs after recovery", async () => {
    const seen: boolean[] = [];
    const w = await world({
      ptp: (call: FakeCall) => {
        if (call.command === 'ADD') seen.push(existsSync(join(w.rootDir, call.env.CNI_CONTAINERID!, 'green', call.env.CNI_IFNAME!)));
        return fakeBridge('10.220.8')(call);
      },
    });
    await w.isolator.prepare(config('k9', [net('green')]));
    await w.isolator.isolate({ value: 'k9' }, 4242);
    assert.deepEqual(seen, [true]);
    // The state an agent killed mid-ADD leaves: network.conf and the interface folder, no network.info.
    await rm(join(w.rootDir, 'k9', 'green', 'eth0', 'network.info'), { force: true });
    const again = w.make();
    await again.recover([], [{ value: 'k9' }]);
    w.invoker.calls.length = 0;
    await again.cleanup({ value: 'k9' });
    assert.deepEqual(w.invoker.calls.map((c) => `${c.command} ${c.type} ${c.env.CNI_IFNAME}`), ['DEL ptp eth0']);
  });

  it('recovers a container whose ADD never finished (no network.info) so cleanup still runs DEL', async () => {
    const w = await world();
    await mkdir(join(w.rootDir, 'half', 'green', 'eth0'), { recursive: true });
    await writeFile(join(w.rootDir, 'half', 'green', 'network.conf'), JSON.stringify({ name: 'green', type: 'ptp' }));
    await w.isolator.recover([], [{ value: 'half' }]);
    assert.deepEqual(await w.isolator.status({ value: 'half' }), { networkInfos: [] });
    await w.isolator.cleanup({ value: 'half' });
    assert.deepEqual(w.invoker.calls.map((c) => `${c.command} ${c.type} ${c.env.CNI_IFNAME}`), ['DEL ptp eth0']);
    assert.ok(w.lines.some((l) => l.level === 'warn' && /network\.info/.test(l.msg)));
  });

  it("fails recovery on an unreadable network.info, with Mesos's message", async () => {
    const w = await world();
    await mkdir(join(w.rootDir, 'bad', 'green', 'eth0'), { recursive: true });
    await writeFile(join(w.rootDir, 'bad', 'green', 'eth0', 'network.info'), 'garbage');
    await assert.rejects(w.isolator.recover([], []), (err) => isIppcError(err, 'CNI_RECOVERY_FAILED') && /^Failed to parse CNI network information file '.*network\.info': /.test((err as Error).message));
  });
});
