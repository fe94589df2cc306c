import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isIppcError } from '@ippc/core';
import { formatResult, parseResult } from './result.js';

// Real outputs of Debian's plugins 1.1.1 (bridge + host-local) in three spec versions.
const v010 = { cniVersion: '0.1.0', ip4: { ip: '10.220.250.2/24', gateway: '10.220.250.1' }, dns: {} };
const v020 = {
  cniVersion: '0.2.0',
  ip4: { ip: '10.220.250.3/24', gateway: '10.220.250.1', routes: [{ dst: '0.0.0.0/0' }] },
  ip6: { ip: 'fd10:220::3/64', gateway: 'fd10:220::1', routes: [{ dst: '::/0' }] },
  dns: { nameservers: ['10.220.250.1'], search: ['cluster'] },
};
const v031 = {
  cniVersion: '0.3.1',
  interfaces: [
    { name: 'cnibr0', mac: '66:75:ab:db:99:8e' },
    { name: 'veth1', mac: 'f2:89:75:0e:d5:4d' },
    { name: 'eth0', mac: 'f6:80:fa:4d:4c:25', sandbox: '/run/netns/x' },
  ],
  ips: [{ version: '4', interface: 2, address: '10.220.250.4/24', gateway: '10.220.250.1' }],
  routes: [{ dst: '0.0.0.0/0' }],
  dns: {},
};
const v100 = {
  cniVersion: '1.0.0',
  interfaces: [
    { name: 'cnibr0', mac: '66:75:ab:db:99:8e' },
    { name: 'veth1', mac: 'f2:89:75:0e:d5:4d' },
    { name: 'eth0', mac: 'f6:80:fa:4d:4c:25', sandbox: '/run/netns/x' },
  ],
  ips: [
    { interface: 2, address: '10.220.250.5/24', gateway: '10.220.250.1' },
    { interface: 2, address: 'fd10:220::5/64', gateway: 'fd10:220::1' },
  ],
  routes: [{ dst: '0.0.0.0/0' }],
  dns: {},
};

describe('parseResult', () => {
  it('reads 0.1.0 and 0.2.0 results (ip4/ip6) into one form, routes and DNS included', () => {
    const a = parseResult(v010);
    assert.equal(a.cniVersion, '0.1.0');
    assert.deepEqual(a.ips, [{ address: '10.220.250.2/24', gateway: '10.220.250.1' }]);
    assert.deepEqual(a.interfaces, []);
    const b = parseResult(v020);
    assert.deepEqual(
      b.ips.map((i) => i.address),
      ['10.220.250.3/24', 'fd10:220::3/64'],
    );
    assert.deepEqual(b.routes, [{ dst: '0.0.0.0/0' }, { dst: '::/0' }]);
    assert.deepEqual(b.dns, { nameservers: ['10.220.250.1'], search: ['cluster'] });
  });

  it('reads 0.3.x and 1.0.0 results (interfaces/ips) into the same form', () => {
    const a = parseResult(v031);
    assert.equal(a.cniVersion, '0.3.1');
    assert.deepEqual(a.ips, [{ address: '10.220.250.4/24', gateway: '10.220.250.1', interface: 2 }]);
    assert.equal(a.interfaces[2]!.sandbox, '/run/netns/x');
    const b = parseResult(v100);
    assert.equal(b.ips.length, 2);
    assert.deepEqual(b.routes, [{ dst: '0.0.0.0/0' }]);
  });

  it('infers the shape of a result without cniVersion', () => {
    assert.deepEqual(parseResult({ ip4: { ip: '10.0.0.2/24' } }).ips, [{ address: '10.0.0.2/24' }]);
    assert.equal(parseResult({ ips: [{ address: '10.0.0.3/24' }] }).ips[0]!.address, '10.0.0.3/24');
  });

  it('rejects what is not a result with CNI_INVALID_RESULT', () => {
    for (const bad of [null, [], 'x', { ip4: { ip: 5 } }, { ips: [{ gateway: '1.1.1.1' }] }, { interfaces: 'eth0' }, { ips: [], dns: { nameservers: 'x' } }]) {
      assert.throws(
        () => parseResult(bad),
        (err) => isIppcError(err, 'CNI_INVALID_RESULT'),
        JSON.stringify(bad),
      );
    }
  });
});

describe('formatResult', () => {
  it('writes 1.0.0 without and 0.3.x/0.4.0 with the ips[].version field', () => {
    const r = parseResult(v100);
    const one = formatResult(r, '1.0.0') as { ips: Array<Record<string, unknown>> };
    assert.equal(one.ips[0]!.version, undefined);
    const old = formatResult(r, '0.4.0') as { cniVersion: string; ips: Array<Record<string, unknown>> };
    assert.equal(old.cniVersion, '0.4.0');
    assert.deepEqual(
      old.ips.map((i) => i.version),
      ['4', '6'],
    );
  });

  it('converts down to 0.2.0 keeping the first address of each family and its routes', () => {
    const down = formatResult(parseResult(v100), '0.2.0');
    assert.deepEqual(down, {
      cniVersion: '0.2.0',
      ip4: { ip: '10.220.250.5/24', gateway: '10.220.250.1', routes: [{ dst: '0.0.0.0/0' }] },
      ip6: { ip: 'fd10:220::5/64', gateway: 'fd10:220::1' },
      dns: {},
    });
  });

  it('round-trips 0.2.0 → internal → 1.0.0 → internal without losing addresses', () => {
    const up = parseResult(formatResult(parseResult(v020), '1.0.0'));
    assert.deepEqual(
      up.ips.map((i) => i.address),
      ['10.220.250.3/24', 'fd10:220::3/64'],
    );
    assert.deepEqual(up.dns.nameservers, ['10.220.250.1']);
  });
});
