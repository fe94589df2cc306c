import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isIppcError } from '@ippc/core';
import { NetworkInfo_Protocol } from '@ippc/proto';
import { config, net, world } from '../testing/world.js';

describe('status, usage, check', () => {
  it('copies each requested NetworkInfo in request order with the addresses CNI returned (IPv4, then IPv6 as Mesos reports it)', async () => {
    const w = await world();
    const blue = net('blue', {
      groups: ['g'],
      labels: { labels: [{ key: 'k', value: 'v' }] },
      ipAddresses: [{ protocol: NetworkInfo_Protocol.IPv6 }],
      portMappings: [{ hostPort: 33004, containerPort: 80 }],
    });
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
    assert.deepEqual(
      w.invoker.calls.filter((c) => c.command === 'CHECK').map((c) => c.type),
      ['bridge', 'portmap', 'bandwidth'],
    );
    await assert.rejects(w.isolator.check({ value: 'nope' }), (err) => isIppcError(err, 'CNI_CHECK_FAILED'));
  });
});
