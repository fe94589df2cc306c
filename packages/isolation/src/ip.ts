import {
  familyBits,
  formatCidr,
  formatIp,
  parseCidr as parseCoreCidr,
  parseIp,
  stripPrefix as stripCorePrefix,
  type Cidr as CoreCidr,
  type IpAddress,
} from '@ippc/core';
import { badRequest } from './errors.js';

// What isolation needs on top of @ippc/core's IP library: ISOLATION_BAD_REQUEST errors that say
// what to write, and canonical text (so sets compare by value). Addresses are kept as canonical
// strings everywhere else in the package.

/** A CIDR with its canonical text, e.g. `10.240.1.0/24`. */
export interface Cidr extends CoreCidr {
  text: string;
}

/** Parses an address (no prefix). Throws ISOLATION_BAD_REQUEST when it is not one. */
export function parseAddress(text: string): IpAddress {
  const ip = parseIp(text);
  if (!ip) throw badRequest(`'${text}' is not an IPv4 or IPv6 address`, { address: text });
  return ip;
}

/** The canonical text of an address (IPv6 lower case, zeros compressed as RFC 5952 says). */
export function canonicalAddress(text: string): string {
  const p = parseAddress(text);
  return formatIp(p.family, p.value);
}

/** `10.240.1.5/24` → `10.240.1.5`; a bare address is returned canonical. */
export function stripPrefix(text: string): string {
  return canonicalAddress(stripCorePrefix(text));
}

/** Parses a CIDR; host bits must be zero unless `loose` (then they are cleared). */
export function parseCidr(text: string, loose = false): Cidr {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  if (!m?.[1] || !m[2]) throw badRequest(`'${text}' is not a CIDR (write it as 10.240.1.0/24 or fd10:240:0:1::/64)`, { cidr: text });
  const addr = parseAddress(m[1]);
  const prefix = Number(m[2]);
  const bits = familyBits(addr.family);
  if (prefix > bits) throw badRequest(`'${text}': prefix length ${prefix} is longer than ${bits}`, { cidr: text });
  const { hostBitsSet, ...cidr } = parseCoreCidr(m[0])!;
  if (!loose && hostBitsSet) throw badRequest(`'${text}' has host bits set: did you mean ${formatCidr(cidr)}?`, { cidr: text });
  return { ...cidr, text: formatCidr(cidr) };
}
