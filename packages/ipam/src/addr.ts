import ipaddr from 'ipaddr.js';

// Addresses as bigints: one representation for IPv4 and IPv6, so range arithmetic and the
// in-memory index are the same code for both families and never depend on pool size.

export type Family = 4 | 6;

export interface Ip {
  family: Family;
  value: bigint;
}

export interface Cidr {
  family: Family;
  /** The network address (host bits cleared). */
  network: bigint;
  prefixLength: number;
}

const BITS: Record<Family, number> = { 4: 32, 6: 128 };

export function familyBits(family: Family): number {
  return BITS[family];
}

/** Parses an address (no prefix). Returns undefined for anything that is not one. */
export function parseIp(text: string): Ip | undefined {
  if (typeof text !== 'string' || text.includes('/')) return undefined;
  // ipaddr.js accepts "1" or "0x1" as IPv4 (inet_aton forms); we want dotted quads only.
  if (!text.includes(':') && !/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) return undefined;
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(text);
  } catch {
    return undefined;
  }
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).zoneId) return undefined;
  const bytes = parsed.toByteArray();
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  return { family: parsed.kind() === 'ipv4' ? 4 : 6, value };
}

/** Parses "a.b.c.d/n" or "x::/n"; host bits are cleared (the CNI convention for `subnet`). */
export function parseCidr(text: string): Cidr | undefined {
  if (typeof text !== 'string') return undefined;
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(lenText)) return undefined;
  const prefixLength = Number(lenText);
  if (prefixLength > BITS[ip.family]) return undefined;
  return { family: ip.family, network: ip.value & prefixMask(ip.family, prefixLength), prefixLength };
}

/** Parses "addr" or "addr/len" (the form of `runtimeConfig.ips`): the address, and the prefix if given. */
export function parseIpOrCidr(text: string): { ip: Ip; prefixLength?: number } | undefined {
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

export function prefixMask(family: Family, prefixLength: number): bigint {
  const bits = BigInt(BITS[family]);
  const all = (1n << bits) - 1n;
  return (all << (bits - BigInt(prefixLength))) & all;
}

/** The last address of a CIDR (IPv4: the broadcast address). */
export function cidrLast(cidr: Cidr): bigint {
  return cidr.network | (~prefixMask(cidr.family, cidr.prefixLength) & ((1n << BigInt(BITS[cidr.family])) - 1n));
}

export function cidrContains(cidr: Cidr, ip: Ip): boolean {
  return cidr.family === ip.family && (ip.value & prefixMask(cidr.family, cidr.prefixLength)) === cidr.network;
}

/** Canonical text: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run compressed). */
export function formatIp(family: Family, value: bigint): string {
  if (family === 4) {
    const n = Number(value);
    return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  const bytes: number[] = [];
  for (let i = 15; i >= 0; i--) bytes.push(Number((value >> BigInt(i * 8)) & 255n));
  return (ipaddr.fromByteArray(bytes) as ipaddr.IPv6).toRFC5952String();
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIp(cidr.family, cidr.network)}/${cidr.prefixLength}`;
}

/** Canonical form of an address given as text; undefined when it is not an address. */
export function canonicalIp(text: string): string | undefined {
  const ip = parseIp(text);
  return ip && formatIp(ip.family, ip.value);
}
