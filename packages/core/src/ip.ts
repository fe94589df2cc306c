import ipaddr from 'ipaddr.js';

// ippc's one IP library: addresses and CIDRs of both families as bigints, so that arithmetic,
// containment and subnetting are the same code for IPv4 and IPv6 and never overflow or wrap.
// Parsing and RFC 5952 text come from ipaddr.js; parsers return undefined for anything that is not
// an address or a CIDR, and each caller says what was wrong in its own error.

export type IpFamily = 4 | 6;

/** An address: its family and its value (32 or 128 bits). */
export interface IpAddress {
  family: IpFamily;
  value: bigint;
}

/** A CIDR: the network address (host bits cleared) and the prefix length. */
export interface Cidr {
  family: IpFamily;
  network: bigint;
  prefixLength: number;
}

const BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };

/** 32 or 128. */
export function familyBits(family: IpFamily): number {
  return BITS[family];
}

/** A dotted quad in decimal: four numbers 0-255, no leading zeros (ipaddr.js would read `010` as octal). */
const QUAD = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Parses an address without a prefix: a dotted quad or IPv6 (no zone). Undefined for anything else. */
export function parseIp(text: string): IpAddress | undefined {
  if (typeof text !== 'string' || text.includes('/')) return undefined;
  // ipaddr.js accepts "1" or "0x1" as IPv4 (inet_aton forms); we want dotted quads only.
  if (!text.includes(':')) return QUAD.test(text) ? valueOf(ipaddr.IPv4.parse(text)) : undefined;
  let hex = text;
  if (text.includes('.')) {
    // An IPv4 tail becomes two groups first: ipaddr.js reads `::a.b.c.d` as the mapped
    // `::ffff:a.b.c.d` (RFC 4291 says it is ::a.b.c.d) and reads leading zeros as octal.
    const tail = /^(.*:)([^:]*)$/.exec(text);
    if (!tail?.[1] || !tail[2] || !QUAD.test(tail[2])) return undefined;
    const [a, b, c, d] = tail[2].split('.').map(Number) as [number, number, number, number];
    hex = `${tail[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  if (!ipaddr.IPv6.isValid(hex)) return undefined;
  const parsed = ipaddr.IPv6.parse(hex);
  return parsed.zoneId ? undefined : valueOf(parsed);
}

function valueOf(parsed: ipaddr.IPv4 | ipaddr.IPv6): IpAddress {
  let value = 0n;
  for (const b of parsed.toByteArray()) value = (value << 8n) | BigInt(b);
  return { family: parsed.kind() === 'ipv4' ? 4 : 6, value };
}

/** Canonical text: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run compressed). */
export function formatIp(family: IpFamily, value: bigint): string {
  if (family === 4) {
    const n = Number(value);
    return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  const bytes: number[] = [];
  for (let i = 15; i >= 0; i--) bytes.push(Number((value >> BigInt(i * 8)) & 255n));
  return (ipaddr.fromByteArray(bytes) as ipaddr.IPv6).toRFC5952String();
}

/** The canonical text of an address given as text; undefined when it is not an address. */
export function canonicalIp(text: string): string | undefined {
  const ip = parseIp(text);
  return ip && formatIp(ip.family, ip.value);
}

/** `10.0.0.5/24` → `10.0.0.5` (text only: nothing is parsed). */
export function stripPrefix(text: string): string {
  const slash = text.indexOf('/');
  return slash < 0 ? text : text.slice(0, slash);
}

/** The family of an address or a CIDR; undefined when it is neither. */
export function ipFamily(text: string): IpFamily | undefined {
  return parseIp(stripPrefix(text))?.family;
}

/** The mask of a prefix length: its top `prefixLength` bits set. */
export function prefixMask(family: IpFamily, prefixLength: number): bigint {
  const bits = BigInt(BITS[family]);
  const all = (1n << bits) - 1n;
  return (all << (bits - BigInt(prefixLength))) & all;
}

/** Parses `addr` or `addr/len` (the form of CNI's `runtimeConfig.ips`): the address, and the prefix if given. */
export function parseIpOrCidr(text: string): { ip: IpAddress; prefixLength?: number } | undefined {
  if (typeof text !== 'string') return undefined;
  const slash = text.indexOf('/');
  if (slash < 0) {
    const ip = parseIp(text);
    return ip && { ip };
  }
  const ip = parseIp(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(lenText) || Number(lenText) > BITS[ip.family]) return undefined;
  return { ip, prefixLength: Number(lenText) };
}

/**
 * Parses `a.b.c.d/n` or `x::/n`. Host bits are cleared (the CNI convention for `subnet`);
 * `hostBitsSet` says whether the text had any, for callers that refuse them.
 */
export function parseCidr(text: string): (Cidr & { hostBitsSet: boolean }) | undefined {
  if (typeof text !== 'string') return undefined;
  const parsed = parseIpOrCidr(text);
  if (!parsed || parsed.prefixLength === undefined) return undefined;
  const network = parsed.ip.value & prefixMask(parsed.ip.family, parsed.prefixLength);
  return { family: parsed.ip.family, network, prefixLength: parsed.prefixLength, hostBitsSet: network !== parsed.ip.value };
}

/** `network/len` in canonical text. */
export function formatCidr(cidr: Cidr): string {
  return `${formatIp(cidr.family, cidr.network)}/${cidr.prefixLength}`;
}

/** How many addresses the CIDR holds. */
export function cidrSize(cidr: Cidr): bigint {
  return 1n << BigInt(BITS[cidr.family] - cidr.prefixLength);
}

/** The last address of a CIDR (IPv4: the broadcast address). */
export function cidrLast(cidr: Cidr): bigint {
  return cidr.network + cidrSize(cidr) - 1n;
}

/** Whether the address is inside the CIDR (same family, same network bits). */
export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  return cidr.family === ip.family && (ip.value & prefixMask(cidr.family, cidr.prefixLength)) === cidr.network;
}

/** Whether two CIDRs share any address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const mask = prefixMask(a.family, Math.min(a.prefixLength, b.prefixLength));
  return (a.network & mask) === (b.network & mask);
}

/**
 * The `index`-th subnet of length `prefixLength` inside `cidr` (index 0 is the first): e.g. the /24
 * of agent 3 in a /16, or the /64 of agent 3 in a /56. Undefined when the subnet would not fit
 * inside `cidr` (a longer index than it has room for never wraps around into another one).
 */
export function nthSubnet(cidr: Cidr, prefixLength: number, index: number): Cidr | undefined {
  if (!Number.isInteger(index) || index < 0 || prefixLength < cidr.prefixLength || prefixLength > BITS[cidr.family]) return undefined;
  const count = 1n << BigInt(prefixLength - cidr.prefixLength);
  if (BigInt(index) >= count) return undefined;
  return { family: cidr.family, network: cidr.network + BigInt(index) * (1n << BigInt(BITS[cidr.family] - prefixLength)), prefixLength };
}

/** The address `n` places after the network address of `cidr` (1 = the first host); undefined outside it. */
export function nthAddress(cidr: Cidr, n: number | bigint): IpAddress | undefined {
  const offset = BigInt(n);
  if (offset < 0n || offset >= cidrSize(cidr)) return undefined;
  return { family: cidr.family, value: cidr.network + offset };
}
