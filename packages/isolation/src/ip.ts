import { isIP } from 'node:net';
import { badRequest } from './errors.js';

// Small IPv4/IPv6 helpers: canonical text (so sets compare by value), CIDR parsing, overlap and
// containment. Addresses are kept as canonical strings everywhere else in the package.

export type Family = 4 | 6;

export interface ParsedAddress {
  family: Family;
  value: bigint;
}

export interface Cidr {
  family: Family;
  /** The network address (host bits cleared). */
  network: bigint;
  prefix: number;
  /** Canonical text, e.g. `10.240.1.0/24`. */
  text: string;
}

const BITS: Record<Family, number> = { 4: 32, 6: 128 };

function parseV6(text: string): bigint {
  let s = text;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4?.[1]) {
    const n = Number(parseV4(v4[1]));
    s = s.slice(0, -v4[1].length) + `${((n >>> 16) & 0xffff).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const halves = s.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  const fill = 8 - head.length - tail.length;
  const parts = halves.length > 1 ? [...head, ...Array<string>(fill).fill('0'), ...tail] : head;
  let value = 0n;
  for (const p of parts) value = (value << 16n) | BigInt(parseInt(p, 16));
  return value;
}

function parseV4(text: string): bigint {
  return text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

/** Parses an address (no prefix). Throws ISOLATION_BAD_REQUEST when it is not one. */
export function parseAddress(text: string): ParsedAddress {
  const family = isIP(text);
  if (family === 4) return { family: 4, value: parseV4(text) };
  if (family === 6) return { family: 6, value: parseV6(text) };
  throw badRequest(`'${text}' is not an IPv4 or IPv6 address`, { address: text });
}

export function formatAddress(family: Family, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  const words: number[] = [];
  for (let i = 7; i >= 0; i--) words.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  // RFC 5952: compress the longest run (length >= 2) of zero words, the first one on a tie.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** The canonical text of an address (IPv6 lower case, zeros compressed as RFC 5952 says). */
export function canonicalAddress(text: string): string {
  const p = parseAddress(text);
  return formatAddress(p.family, p.value);
}

export function addressFamily(text: string): Family {
  return parseAddress(text).family;
}

/** `10.240.1.5/24` → `10.240.1.5`; a bare address is returned canonical. */
export function stripPrefix(text: string): string {
  const slash = text.indexOf('/');
  return canonicalAddress(slash < 0 ? text : text.slice(0, slash));
}

/** Parses a CIDR; host bits must be zero unless `loose` (then they are cleared). */
export function parseCidr(text: string, loose = false): Cidr {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  if (!m?.[1] || !m[2]) throw badRequest(`'${text}' is not a CIDR (write it as 10.240.1.0/24 or fd10:240:0:1::/64)`, { cidr: text });
  const addr = parseAddress(m[1]);
  const prefix = Number(m[2]);
  const bits = BITS[addr.family];
  if (prefix > bits) throw badRequest(`'${text}': prefix length ${prefix} is longer than ${bits}`, { cidr: text });
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  if (!loose && (addr.value & hostMask) !== 0n) {
    throw badRequest(`'${text}' has host bits set: did you mean ${formatAddress(addr.family, addr.value & ~hostMask)}/${prefix}?`, { cidr: text });
  }
  const network = addr.value & ~hostMask;
  return { family: addr.family, network, prefix, text: `${formatAddress(addr.family, network)}/${prefix}` };
}

export function cidrContains(cidr: Cidr, address: string): boolean {
  const a = parseAddress(address);
  if (a.family !== cidr.family) return false;
  const shift = BigInt(BITS[cidr.family] - cidr.prefix);
  return a.value >> shift === cidr.network >> shift;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const shift = BigInt(BITS[a.family] - Math.min(a.prefix, b.prefix));
  return a.network >> shift === b.network >> shift;
}
