import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isIppcError } from '@ippc/core';
import { ContainerInfo_Type, type NetworkInfo } from '@ippc/proto';
import { config, net, world } from '../testing/world.js';

describe('prepare', () => {
  it('names interfaces eth0, eth1, ... over the named NetworkInfos in request order and asks for net, uts and mnt', async () => {
    const w = await world();
    const launch = await w.isolator.prepare(config('c1', [net('green'), net(''), { ...net('blue') }]));
    assert.deepEqual(launch, { namespaces: ['net', 'uts', 'mnt'], environment: { LIBPROCESS_IP: '0.0.0.0' } });
    assert.deepEqual(w.isolator.containers(), ['c1']);
    assert.equal(existsSync(join(w.rootDir, 'c1')), false, 'prepare writes nothing');
    await w.isolator.isolate({ value: 'c1' }, 4242);
    assert.deepEqual(
      w.invoker.calls
        .filter((c) => c.command === 'ADD' && (c.type === 'ptp' || c.type === 'bridge'))
        .map((c) => `${c.type}:${c.env.CNI_IFNAME}`)
        .sort(),
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
    await assert.rejects(
      w.isolator.prepare(config('c', [bw])),
      (err) => isIppcError(err, 'CNI_INVALID_REQUEST') && /'fast'.*ingressRate/.test((err as Error).message),
    );
    await assert.rejects(w.isolator.prepare(config('c', [net('blue', { portMappings: [{ hostPort: 0, containerPort: 80 }] })])), /Invalid port mapping 0:80/);
    await assert.rejects(
      w.isolator.prepare(config('c', [net('blue', { portMappings: [{ hostPort: 33000, containerPort: 80, protocol: 'icmp' }] })])),
      /Invalid protocol 'icmp'/,
    );
    await assert.rejects(w.isolator.prepare(config('-c', [net('blue')])), (err) => isIppcError(err, 'CNI_INVALID_REQUEST'));
    await assert.rejects(w.isolator.prepare(config('c', [net('blue')], { hostname: 'h'.repeat(65) })), /at most 64 bytes/);
    assert.deepEqual(w.isolator.containers(), []);
  });

  it('refuses a NetworkInfo too large for a CNI request (its DEL would fail too and the checkpoint stay forever)', async () => {
    const w = await world();
    const big = net('blue', { labels: { labels: Array.from({ length: 300 }, (_, i) => ({ key: `k${i}`, value: 'v'.repeat(1024) })) } });
    await assert.rejects(
      w.isolator.prepare(config('c', [big])),
      (err) =>
        isIppcError(err, 'CNI_INVALID_REQUEST') &&
        /^The NetworkInfo of CNI network 'blue' is \d+ bytes; at most 262144 bytes fit in a CNI request: shorten its labels$/.test((err as Error).message),
    );
    assert.deepEqual(w.isolator.containers(), []);
    assert.equal(w.invoker.calls.length, 0);
    await w.isolator.prepare(config('c', [net('blue', { labels: { labels: [{ key: 'k', value: 'v'.repeat(1024) }] } })]));
  });

  it("refuses to start without the config folder, with Mesos's message", async () => {
    const w = await world();
    const iso = w.make({ configDir: join(w.base, 'nope') });
    await assert.rejects(
      iso.recover([], []),
      (err) =>
        isIppcError(err, 'CNI_BAD_OPTIONS') && (err as Error).message === `The CNI network configuration directory '${join(w.base, 'nope')}' does not exist`,
    );
  });
});
