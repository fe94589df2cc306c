import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isIppcError } from '@ippc/core';
import { NetworkInfo_Protocol } from '@ippc/proto';
import { failing } from '../testing/fakes.js';
import { config, net, world } from '../testing/world.js';

describe('isolate', () => {
  it('checkpoints network.conf (with Mesos args, keys sorted) before ADD and network.info after', async () => {
    const w = await world();
    const blue = net('blue', { groups: ['web'], labels: { labels: [{ key: 'app', value: 'a' }] }, portMappings: [{ hostPort: 33001, containerPort: 80 }] });
    await w.isolator.prepare(config('c1', [blue]));
    await w.isolator.isolate({ value: 'c1' }, 100);
    const conf = await readFile(join(w.rootDir, 'c1', 'blue', 'network.conf'), 'utf8');
    assert.equal(w.seenConf[0], conf);
    const mesosArgs =
      '{"org.apache.mesos":{"network_info":{"groups":["web"],"labels":{"labels":[{"key":"app","value":"a"}]},"name":"blue","port_mappings":[{"container_port":80,"host_port":33001}]}}}';
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
      labels: {
        labels: [
          { key: 'org.ippc.bandwidth.egressRate', value: '1000000' },
          { key: 'org.ippc.bandwidth.egressBurst', value: '100000' },
        ],
      },
    });
    const green = net('green', {
      ipAddresses: [{ protocol: NetworkInfo_Protocol.IPv4, ipAddress: '10.220.8.77/24' }, { protocol: NetworkInfo_Protocol.IPv4 }],
    });
    await w.isolator.prepare(config('c2', [blue, green]));
    await w.isolator.isolate({ value: 'c2' }, 100);
    const bridge = w.invoker.calls.find((c) => c.type === 'bridge')!;
    assert.deepEqual(bridge.env, {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'c2',
      CNI_IFNAME: 'eth0',
      CNI_NETNS: join(w.rootDir, 'c2', 'ns'),
      CNI_PATH: '/fake/cni',
      PATH: process.env.PATH,
    });
    assert.equal(bridge.request.runtimeConfig, undefined);
    assert.deepEqual(w.invoker.calls.find((c) => c.type === 'portmap')!.request.runtimeConfig, {
      portMappings: [{ hostPort: 33002, containerPort: 8080, protocol: 'udp' }],
    });
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
    const w = await world(
      {},
      { defaultDns: { networks: { green: { nameservers: ['10.220.8.53'], domain: 'green.local' } }, default: { nameservers: ['9.9.9.9'] } } },
    );
    await w.isolator.prepare(config('d1', [net('red'), net('green'), net('blue')]));
    await w.isolator.isolate({ value: 'd1' }, 400);
    assert.equal(
      await readFile(join(w.rootDir, 'd1', 'resolv.conf'), 'utf8'),
      'domain green.local\nsearch mesos\nnameserver 10.220.9.53\nnameserver 10.220.8.53\nnameserver 9.9.9.9\n',
    );
    assert.deepEqual(w.host.setups.at(-1)!.setup, { binds: [{ source: join(w.rootDir, 'd1', 'resolv.conf'), target: '/etc/resolv.conf' }], loopbackUp: false });
    assert.equal(
      await readFile(join(w.rootDir, 'd1', 'hosts'), 'utf8'),
      '127.0.0.1 localhost\n10.220.9.2 d1\n',
      'the first network in request order names the host',
    );
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
      (err) =>
        isIppcError(err, 'CNI_RESERVED_ARGS') &&
        (err as Error).message === "'org.apache.mesos' in 'args' should not be set in CNI network configuration file. It is reserved by Mesos",
    );
    assert.equal(w.invoker.calls.length, 0);
    assert.equal(existsSync(join(w.rootDir, 'e1')), false);
  });

  it('cleans up after a failing setup inside the container too', async () => {
    const w = await world();
    w.host.failSetup = 'mount: permission denied';
    await w.isolator.prepare(config('s1', [net('blue')]));
    await assert.rejects(
      w.isolator.isolate({ value: 's1' }, 700),
      (err) => (err as Error).message === 'Failed to setup hostname and network files: mount: permission denied',
    );
    assert.equal(w.invoker.calls.filter((c) => c.command === 'DEL').length, 3);
    assert.equal(existsSync(join(w.rootDir, 's1')), false);
  });
});
