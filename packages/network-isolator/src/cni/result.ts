import { compareVersions, ipFamily } from '@ippc/core';
import { NetworkIsolatorError } from '../errors.js';
import { SUPPORTED_CNI_VERSIONS, type CniDns, type CniInterface, type CniIpConfig, type CniResult, type CniRoute, type CniVersion } from './types.js';

// Version conversion of results. CNI 0.1.0/0.2.0 results carry one `ip4` and one `ip6` object;
// 0.3.x/0.4.0 carry `interfaces` and `ips` with a `version` field; 1.0.0 drops that field. We read
// all of them into one form and write whichever a plugin asks for (libcni's `GetAsVersion`).

const LEGACY = new Set(['0.1.0', '0.2.0']);

export function isSupportedVersion(v: string): v is CniVersion {
  return (SUPPORTED_CNI_VERSIONS as readonly string[]).includes(v);
}

function bad(why: string): never {
  throw new NetworkIsolatorError('CNI_INVALID_RESULT', why);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function readDns(v: unknown): CniDns {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) bad(`'dns' must be an object`);
  const dns: CniDns = {};
  const strings = (key: string): string[] | undefined => {
    const x = v[key];
    if (x === undefined || x === null) return undefined;
    if (!Array.isArray(x) || x.some((s) => typeof s !== 'string')) bad(`'dns.${key}' must be a list of strings`);
    return x as string[];
  };
  const nameservers = strings('nameservers');
  const search = strings('search');
  const options = strings('options');
  if (nameservers) dns.nameservers = nameservers;
  if (typeof v.domain === 'string' && v.domain !== '') dns.domain = v.domain;
  if (search) dns.search = search;
  if (options) dns.options = options;
  return dns;
}

function readRoutes(v: unknown, where: string): CniRoute[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) bad(`'${where}' must be a list`);
  return v.map((r, i) => {
    if (!isObject(r) || typeof r.dst !== 'string') bad(`'${where}[${i}].dst' must be a string`);
    return { ...r } as CniRoute;
  });
}

/**
 * Reads a plugin's result of any version 0.1.0 to 1.0.0 into the internal form. A result without
 * `cniVersion` is read by its shape (`ip4`/`ip6` → 0.2.0). Throws `CNI_INVALID_RESULT`.
 */
export function parseResult(raw: unknown): CniResult {
  if (!isObject(raw)) bad('a CNI result must be a JSON object');
  const version = typeof raw.cniVersion === 'string' ? raw.cniVersion : undefined;
  const legacy = version ? LEGACY.has(version) : !('ips' in raw) && !('interfaces' in raw);
  if (legacy) {
    const ips: CniIpConfig[] = [];
    const routes: CniRoute[] = [];
    for (const key of ['ip4', 'ip6'] as const) {
      const ipc = raw[key];
      if (ipc === undefined || ipc === null) continue;
      if (!isObject(ipc) || typeof ipc.ip !== 'string') bad(`'${key}.ip' must be a string`);
      ips.push({ address: ipc.ip, ...(typeof ipc.gateway === 'string' ? { gateway: ipc.gateway } : {}) });
      routes.push(...readRoutes(ipc.routes, `${key}.routes`));
    }
    return { cniVersion: version ?? '0.2.0', interfaces: [], ips, routes, dns: readDns(raw.dns) };
  }
  const interfaces: CniInterface[] = [];
  if (raw.interfaces !== undefined && raw.interfaces !== null) {
    if (!Array.isArray(raw.interfaces)) bad(`'interfaces' must be a list`);
    raw.interfaces.forEach((it, i) => {
      if (!isObject(it) || typeof it.name !== 'string') bad(`'interfaces[${i}].name' must be a string`);
      const out: CniInterface = { name: it.name };
      if (typeof it.mac === 'string') out.mac = it.mac;
      if (typeof it.sandbox === 'string' && it.sandbox !== '') out.sandbox = it.sandbox;
      if (typeof it.mtu === 'number') out.mtu = it.mtu;
      interfaces.push(out);
    });
  }
  const ips: CniIpConfig[] = [];
  if (raw.ips !== undefined && raw.ips !== null) {
    if (!Array.isArray(raw.ips)) bad(`'ips' must be a list`);
    raw.ips.forEach((ip, i) => {
      if (!isObject(ip) || typeof ip.address !== 'string') bad(`'ips[${i}].address' must be a string`);
      const out: CniIpConfig = { address: ip.address };
      if (typeof ip.gateway === 'string') out.gateway = ip.gateway;
      if (typeof ip.interface === 'number') out.interface = ip.interface;
      ips.push(out);
    });
  }
  return { cniVersion: version ?? '1.0.0', interfaces, ips, routes: readRoutes(raw.routes, 'routes'), dns: readDns(raw.dns) };
}

/**
 * Writes a result in the JSON of `version` (for `prevResult` and for callers that want a given
 * version). Converting down to 0.1.0/0.2.0 keeps the first address of each family, as libcni does.
 */
export function formatResult(result: CniResult, version: string): Record<string, unknown> {
  if (LEGACY.has(version)) {
    const out: Record<string, unknown> = { cniVersion: version };
    for (const family of [4, 6] as const) {
      const ip = result.ips.find((x) => ipFamily(x.address) === family);
      if (!ip) continue;
      const routes = result.routes.filter((r) => ipFamily(r.dst) === family);
      out[`ip${family}`] = { ip: ip.address, ...(ip.gateway ? { gateway: ip.gateway } : {}), ...(routes.length ? { routes } : {}) };
    }
    out.dns = result.dns;
    return out;
  }
  const withFamily = compareVersions(version, '1.0.0') < 0;
  return {
    cniVersion: version,
    interfaces: result.interfaces,
    ips: result.ips.map((ip) => ({ ...(withFamily ? { version: String(ipFamily(ip.address)) } : {}), ...ip })),
    routes: result.routes,
    dns: result.dns,
  };
}
