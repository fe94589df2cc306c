import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from './config.js';
import { isIpamError } from './errors.js';
import { compilePool, isReserved, poolsOverlap } from './pool.js';

describe('pools', () => {
  it('applies host-local defaults and counts reserved addresses inside the ranges', () => {
    const p = compilePool({ network: 'n', ranges: [{ subnet: '10.210.1.0/24' }], exclude: ['10.210.1.128/30', '10.210.1.9'] });
    assert.equal(p.id, '10.210.1.0/24');
    assert.deepEqual(p.spec.ranges, [{ subnet: '10.210.1.0/24', rangeStart: '10.210.1.1', rangeEnd: '10.210.1.254', gateway: '10.210.1.1' }]);
    assert.equal(p.size, 254n - 1n - 4n - 1n);
    assert.ok(isReserved(p, 0x0ad20101n) && isReserved(p, 0x0ad20181n) && !isReserved(p, 0x0ad20102n));
  });

  it('refuses bad specs with IPAM_BAD_REQUEST and says what to write', () => {
    const bad = (spec: object, re: RegExp) =>
      assert.throws(
        () => compilePool(spec as never),
        (e: unknown) => isIpamError(e, 'IPAM_BAD_REQUEST') && re.test((e as Error).message),
      );
    bad({ network: 'n', ranges: [] }, /no ranges/);
    bad({ network: 'n', ranges: [{ subnet: '10.210.1.0/24', rangeStart: '10.210.2.1' }] }, /rangeStart '10.210.2.1' is not an address inside 10.210.1.0\/24/);
    bad({ network: 'n', ranges: [{ subnet: '10.210.1.0/24', rangeStart: '10.210.1.9', rangeEnd: '10.210.1.3' }] }, /is after rangeEnd/);
    bad({ network: 'n', ranges: [{ subnet: '10.210.1.0/24' }, { subnet: '10.210.1.0/25' }] }, /overlap/);
    bad({ network: 'n', ranges: [{ subnet: '10.210.1.0/24' }], exclude: ['fd10::1'] }, /not an IPv4 address or CIDR/);
    bad({ network: 'n', ranges: [{ subnet: '10.210.1.0/24' }], cooldownSeconds: -1 }, /cooldownSeconds/);
  });

  it('lets pools share a subnet with disjoint ranges (per-agent slices), not overlapping ranges', () => {
    const a = compilePool({ network: 'n', id: 'a', ranges: [{ subnet: '10.210.0.0/16', rangeStart: '10.210.1.1', rangeEnd: '10.210.1.254' }] });
    const b = compilePool({ network: 'n', id: 'b', ranges: [{ subnet: '10.210.0.0/16', rangeStart: '10.210.2.1', rangeEnd: '10.210.2.254' }] });
    const c = compilePool({ network: 'n', id: 'c', ranges: [{ subnet: '10.210.1.128/25' }] });
    assert.equal(poolsOverlap(a, b), false);
    assert.equal(poolsOverlap(a, c), true);
  });
});

describe('service config file', () => {
  it('fills defaults, takes known fields, rejects unknown ones', () => {
    const cfg = parseConfig({
      listen: '0.0.0.0:7460',
      store: { type: 'etcd', endpoints: ['http://127.0.0.1:2379'] },
      cooldownSeconds: 5,
      auth: { token: 't' },
    });
    assert.equal(cfg.http, '127.0.0.1:7461');
    assert.deepEqual(cfg.store, { type: 'etcd', endpoints: ['http://127.0.0.1:2379'] });
    assert.equal(cfg.cooldownSeconds, 5);
    assert.throws(() => parseConfig({ lisen: 'x' }), /unknown field 'lisen'/);
    assert.throws(() => parseConfig({ store: { type: 'sqlite' } }), /store must be/);
    assert.throws(() => parseConfig({ auth: {} }), /auth must be/);
  });
});
