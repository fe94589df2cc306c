// A CNI result of any spec version, read the same way by every ippc plugin and by the runtime
// side: which addresses it gives (0.1.0/0.2.0 carry one `ip4` and one `ip6`; 0.3.0 on carry
// `ips[]`, each pointing at one of `interfaces`), and how two versions compare.

/** One address of a result: a CIDR such as `10.220.1.5/24`, its gateway, the index of its interface. */
export interface CniResultIp {
  address: string;
  gateway?: string;
  interface?: number;
}

/** What a result says about addresses, as JSON or as read: `ips[]` (0.3.0 on) or `ip4`/`ip6` (0.1.0, 0.2.0). */
export interface CniResultAddresses {
  interfaces?: ReadonlyArray<{ name?: string; sandbox?: string } | undefined>;
  ips?: ReadonlyArray<{ address?: string; gateway?: string; interface?: number }>;
  ip4?: { ip?: string; gateway?: string };
  ip6?: { ip?: string; gateway?: string };
}

/**
 * The addresses a result gives, in result order: `ips[]`, then `ip4` and `ip6`. With `ifName`, only
 * the container's: those whose `interface` is unset (IPAM results, 0.2.0) or points at an interface
 * inside a sandbox or named `ifName`; host-side addresses (a bridge's gateway) are left out.
 */
export function containerAddresses(result: CniResultAddresses, ifName?: string): CniResultIp[] {
  const out: CniResultIp[] = [];
  for (const ip of result.ips ?? []) {
    if (!ip.address) continue;
    if (ifName !== undefined && ip.interface !== undefined) {
      const it = result.interfaces?.[ip.interface];
      if (it !== undefined && !it.sandbox && it.name !== ifName) continue;
    }
    out.push(ip as CniResultIp);
  }
  for (const legacy of [result.ip4, result.ip6]) {
    if (legacy?.ip) out.push({ address: legacy.ip, ...(legacy.gateway ? { gateway: legacy.gateway } : {}) });
  }
  return out;
}

/** `-1`, `0` or `1` comparing two dotted versions (missing parts count as 0). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((p) => Number.parseInt(p, 10) || 0);
  const pb = b.split('.').map((p) => Number.parseInt(p, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}
