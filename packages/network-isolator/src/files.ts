import type { CniDns } from './cni/types.js';

// The files Mesos writes for a container with networks of its own (cni.cpp _isolate, spec.cpp).

/** `/etc/hosts`: localhost, then the first IPv4 address with the hostname (Mesos writes IPv4 only). */
export function formatHosts(hostname: string, firstIpv4: string | undefined): string {
  return `127.0.0.1 localhost\n${firstIpv4 ? `${firstIpv4} ${hostname}\n` : ''}`;
}

/**
 * Merges DNS the way protobuf `MergeFrom` does: lists are appended, `domain` is the last one set.
 */
export function mergeDns(parts: CniDns[]): CniDns {
  const out: CniDns = {};
  for (const p of parts) {
    if (p.nameservers?.length) out.nameservers = [...(out.nameservers ?? []), ...p.nameservers];
    if (p.domain) out.domain = p.domain;
    if (p.search?.length) out.search = [...(out.search ?? []), ...p.search];
    if (p.options?.length) out.options = [...(out.options ?? []), ...p.options];
  }
  return out;
}

/** Mesos's `formatResolverConfig`: domain, search, options, then one nameserver line each. */
export function formatResolvConf(dns: CniDns): string {
  let s = '';
  if (dns.domain) s += `domain ${dns.domain}\n`;
  if (dns.search?.length) s += `search ${dns.search.join(' ')}\n`;
  if (dns.options?.length) s += `options ${dns.options.join(' ')}\n`;
  for (const n of dns.nameservers ?? []) s += `nameserver ${n}\n`;
  return s;
}
