import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareVersions, containerAddresses } from './result.js';

const addresses = (...args: Parameters<typeof containerAddresses>) => containerAddresses(...args).map((i) => i.address);

describe('containerAddresses', () => {
  it('reads ips[] (0.3.0 on), then ip4 and ip6 (0.1.0, 0.2.0), with their prefix', () => {
    const v020 = { cniVersion: '0.2.0', ip4: { ip: '10.220.250.3/24', gateway: '10.220.250.1' }, ip6: { ip: 'fd10:220::3/64' } };
    assert.deepEqual(containerAddresses(v020), [{ address: '10.220.250.3/24', gateway: '10.220.250.1' }, { address: 'fd10:220::3/64' }]);
    const v100 = { cniVersion: '1.0.0', ips: [{ address: '10.220.250.5/24', gateway: '10.220.250.1' }, { address: '' }, { address: 'fd10:220::5/64' }] };
    assert.deepEqual(addresses(v100), ['10.220.250.5/24', 'fd10:220::5/64']);
    assert.deepEqual(addresses({}), []);
  });

  it('keeps addresses of the sandbox interface and drops host-side ones when asked for ifName', () => {
    const r = {
      cniVersion: '1.0.0',
      interfaces: [{ name: 'br0' }, { name: 'eth0', sandbox: '/run/netns/x' }],
      ips: [{ interface: 0, address: '10.0.0.1/24' }, { interface: 1, address: '10.0.0.7/24' }, { address: '10.0.0.8/24' }],
    };
    assert.deepEqual(addresses(r, 'eth0'), ['10.0.0.7/24', '10.0.0.8/24']);
    assert.deepEqual(addresses({ ...r, interfaces: [{ name: 'eth0' }, { name: 'eth1', sandbox: '/run/netns/x' }] }, 'eth0'), [
      '10.0.0.1/24',
      '10.0.0.7/24',
      '10.0.0.8/24',
    ]);
    assert.deepEqual(addresses(r), ['10.0.0.1/24', '10.0.0.7/24', '10.0.0.8/24'], 'without ifName: every address');
  });
});

describe('versions', () => {
  it('compares dotted versions numerically', () => {
    assert.ok(compareVersions('0.10.0', '0.4.0') > 0);
    assert.equal(compareVersions('1.0.0', '1.0.0'), 0);
    assert.ok(compareVersions('0.3.1', '0.4.0') < 0);
    assert.equal(compareVersions('1.0', '1.0.0'), 0);
  });
});
