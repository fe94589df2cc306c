import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isIppcError } from '@ippc/core';
import { canonicalAddress, parseCidr, stripPrefix } from './ip.js';

describe('ip helpers', () => {
  it('canonicalizes IPv6 as RFC 5952 says and keeps IPv4', () => {
    assert.equal(canonicalAddress('FD10:0240:0000:0001:0000:0000:0000:0005'), 'fd10:240:0:1::5');
    assert.equal(canonicalAddress('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
    assert.equal(canonicalAddress('::'), '::');
    assert.equal(canonicalAddress('::1'), '::1');
    assert.equal(canonicalAddress('fe80::'), 'fe80::');
    assert.equal(canonicalAddress('1:0:2:3:4:5:6:7'), '1:0:2:3:4:5:6:7');
    assert.equal(canonicalAddress('::ffff:10.0.0.1'), '::ffff:a00:1');
    assert.equal(canonicalAddress('10.240.1.5'), '10.240.1.5');
    assert.equal(stripPrefix('10.240.1.5/24'), '10.240.1.5');
    assert.equal(stripPrefix('fd10:240:0:1:0::7/64'), 'fd10:240:0:1::7');
  });

  it('rejects what is not an address or a CIDR, saying what to write', () => {
    assert.throws(
      () => canonicalAddress('10.240.1'),
      (e) => isIppcError(e, 'ISOLATION_BAD_REQUEST') && /not an IPv4 or IPv6/.test(e.message),
    );
    assert.throws(
      () => parseCidr('10.240.1.0'),
      (e) => isIppcError(e, 'ISOLATION_BAD_REQUEST') && /10\.240\.1\.0\/24/.test(e.message),
    );
    assert.throws(
      () => parseCidr('10.240.1.1/24'),
      (e) => isIppcError(e, 'ISOLATION_BAD_REQUEST') && /did you mean 10\.240\.1\.0\/24/.test(e.message),
    );
    assert.throws(() => parseCidr('10.240.1.0/33'), /longer than 32/);
  });

  it('reads loose CIDRs with host bits cleared, and writes every CIDR canonical', () => {
    assert.equal(parseCidr('10.240.1.7/24', true).text, '10.240.1.0/24');
    assert.deepEqual(parseCidr(' FD10:240:0:1:0::/64 '), {
      family: 6,
      network: 0xfd100240000000010000000000000000n,
      prefixLength: 64,
      text: 'fd10:240:0:1::/64',
    });
  });
});
