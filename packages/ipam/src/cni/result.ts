import { compareVersions, parseCidr } from '@ippc/core';
import type { Lease } from '../types.js';
import type { IpamSection } from './net-conf.js';

/** The result in the shape of the config's version: 0.1/0.2 `ip4`/`ip6`, 0.3.x/0.4 `ips[].version`, 1.x plain `ips`. */
export function formatResult(cniVersion: string, lease: Lease, ipam: IpamSection): Record<string, unknown> {
  const routes = Array.isArray(ipam.routes) ? ipam.routes : [];
  const dns = ipam.dns && typeof ipam.dns === 'object' ? ipam.dns : {};
  if (compareVersions(cniVersion, '0.3.0') < 0) {
    const out: Record<string, unknown> = { cniVersion };
    for (const family of [4, 6] as const) {
      const a = lease.addresses.find((x) => x.family === family);
      if (!a) continue;
      out[`ip${family}`] = {
        ip: `${a.address}/${a.prefixLength}`,
        ...(a.gateway ? { gateway: a.gateway } : {}),
        routes: routes.filter((r) => parseCidr(r.dst)?.family === family),
      };
    }
    out.dns = dns;
    return out;
  }
  const withVersion = compareVersions(cniVersion, '1.0.0') < 0;
  return {
    cniVersion,
    ips: lease.addresses.map((a) => ({
      ...(withVersion ? { version: String(a.family) } : {}),
      address: `${a.address}/${a.prefixLength}`,
      ...(a.gateway ? { gateway: a.gateway } : {}),
    })),
    routes,
    dns,
  };
}
