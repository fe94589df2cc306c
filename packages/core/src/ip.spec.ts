import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  canonicalIp,
  cidrContains,
  cidrLast,
  cidrsOverlap,
  cidrSize,
  formatCidr,
  formatIp,
  ipFamily,
  nthAddress,
  nthSubnet,
  parseCidr,
  parseIp,
  parseIpOrCidr,
  stripPrefix,
} from './ip.js';

const cidr = (text: string) => parseCidr(text)!;
const ip = (text: string) => parseIp(text)!;

describe('ip', () => {
  it('parses dotted quads and IPv6 only, and writes them canonical (RFC 5952)', () => {
    assert.deepEqual(parseIp('10.1.2.3'), { family: 4, value: 0x0a010203n });
    assert.deepEqual(parseIp('10.210.0.1'), { family: 4, value: 0x0ad20001n });
    assert.equal(canonicalIp('FD10:0210:0000:0000:0000:0000:0000:0001'), 'fd10:210::1');
    assert.equal(canonicalIp('FD10:0:0:0:0:0:0:5'), 'fd10::5');
    assert.equal(canonicalIp('::ffff:1.2.3.4'), '::ffff:102:304');
    for (const bad of ['1', '0x1', '10.1.2', '10.1.2.3/24', 'fe80::1%eth0', 'host', '', '256.1.1.1', '10.210.0.256'])
      assert.equal(parseIp(bad), undefined, bad);
    assert.equal(formatIp(6, 1n), '::1');
    assert.equal(stripPrefix('10.0.0.5/24'), '10.0.0.5');
    assert.equal(stripPrefix('fd10:220::5/64'), 'fd10:220::5');
    assert.equal(ipFamily('fd10::/64'), 6);
    assert.equal(ipFamily('10.0.0.1'), 4);
    assert.equal(ipFamily('nope'), undefined);
    assert.deepEqual(parseIpOrCidr('10.0.0.5/24'), { ip: ip('10.0.0.5'), prefixLength: 24 });
    assert.equal(parseIpOrCidr('10.0.0.5/33'), undefined);
    assert.deepEqual(parseIpOrCidr('10.210.1.5/24'), { ip: { family: 4, value: 0x0ad20105n }, prefixLength: 24 });
  });

  it('reads dotted quads in decimal only, and an IPv4 tail in IPv6 as its own value', () => {
    // Leading zeros are refused (as node:net's isIP and Go's net.ParseIP refuse them), never read as octal.
    for (const bad of ['010.1.1.1', '1.2.3.04', '::ffff:010.1.1.1']) assert.equal(parseIp(bad), undefined, bad);
    assert.equal(canonicalIp('0.0.0.0'), '0.0.0.0');
    // `::a.b.c.d` is the IPv4-compatible address ::a.b.c.d (RFC 4291), not the mapped ::ffff:a.b.c.d.
    assert.equal(canonicalIp('::1.2.3.4'), '::102:304');
    assert.equal(canonicalIp('0:0:0:0:0:0:1.2.3.4'), '::102:304');
    assert.equal(canonicalIp('::ffff:10.0.0.1'), '::ffff:a00:1');
    assert.equal(canonicalIp('64:ff9b::192.0.2.33'), '64:ff9b::c000:221');
  });

  it('parses CIDRs, clears host bits and says they were set', () => {
    const c = cidr('10.240.1.7/24');
    assert.equal(formatCidr(c), '10.240.1.0/24');
    assert.equal(c.hostBitsSet, true);
    assert.deepEqual(parseCidr('10.210.1.77/24'), { family: 4, network: 0x0ad20100n, prefixLength: 24, hostBitsSet: true });
    assert.equal(parseCidr('10.210.1.0/33'), undefined);
    assert.equal(parseCidr('fd10:210::/129'), undefined);
    assert.equal(cidr('fd10:240::/56').hostBitsSet, false);
    assert.equal(parseCidr('10.0.0.0'), undefined);
    assert.equal(parseCidr('10.0.0.0/33'), undefined);
    assert.equal(parseCidr('fd10::/129'), undefined);
    assert.equal(cidrSize(cidr('10.0.0.0/30')), 4n);
    assert.equal(formatIp(4, cidrLast(cidr('10.0.0.0/30'))), '10.0.0.3');
  });

  it('knows containment and overlap per family', () => {
    assert.ok(cidrContains(cidr('10.0.0.0/8'), ip('10.200.0.1')));
    assert.ok(!cidrContains(cidr('10.0.0.0/8'), ip('11.0.0.1')));
    assert.ok(!cidrContains(cidr('::/0'), ip('10.0.0.1')));
    assert.ok(cidrsOverlap(cidr('10.0.0.0/8'), cidr('10.1.0.0/16')));
    assert.ok(!cidrsOverlap(cidr('10.0.0.0/16'), cidr('10.1.0.0/16')));
    assert.ok(!cidrsOverlap(cidr('0.0.0.0/0'), cidr('::/0')));
    const [a, b, c] = [cidr('10.240.0.0/16'), cidr('10.240.3.0/24'), cidr('10.241.0.0/24')];
    assert.ok(cidrsOverlap(a, b) && cidrsOverlap(b, a));
    assert.ok(!cidrsOverlap(b, c));
    assert.ok(cidrContains(b, ip('10.240.3.200')) && !cidrContains(b, ip('10.240.4.1')));
    const v6 = cidr('fd10:240:0:1::/64');
    assert.ok(cidrContains(v6, ip('fd10:240:0:1::99')) && !cidrContains(v6, ip('fd10:240:0:2::1')) && !cidrContains(v6, ip('10.240.3.1')));
    assert.ok(!cidrsOverlap(v6, a));
  });

  it('hands out subnets and addresses inside a CIDR and never wraps past its end', () => {
    assert.equal(formatCidr(nthSubnet(cidr('10.240.0.0/16'), 24, 3)!), '10.240.3.0/24');
    assert.equal(formatCidr(nthSubnet(cidr('fd10:240::/56'), 64, 3)!), 'fd10:240:0:3::/64');
    assert.equal(formatCidr(nthSubnet(cidr('fd10:240:0:ff00::/56'), 64, 255)!), 'fd10:240:0:ffff::/64');
    // 256 /64s fit in a /56: the 257th is refused, where adding to the 4th group would wrap to fd10:240:0:ff00::/64.
    assert.equal(nthSubnet(cidr('fd10:240:0:ff00::/56'), 64, 256), undefined);
    assert.equal(nthSubnet(cidr('10.240.0.0/23'), 24, 2), undefined);
    assert.equal(nthSubnet(cidr('10.240.0.0/24'), 16, 0), undefined);
    assert.equal(formatIp(4, nthAddress(cidr('10.99.0.0/24'), 11)!.value), '10.99.0.11');
    assert.equal(formatIp(6, nthAddress(cidr('fd10:240:0:3::/64'), 0x11)!.value), 'fd10:240:0:3::11');
    assert.equal(nthAddress(cidr('10.99.0.0/30'), 4), undefined);
  });
});
