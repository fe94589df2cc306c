import { silentLogger, type Logger } from '@ippc/core';
import { networkInfoOfCniArgs } from '@ippc/mesos';
import { NetworkInfo_Protocol, type NetworkInfo } from '@ippc/proto';
import { parseCidr, parseIp, parseIpOrCidr, cidrContains, type Family } from '../addr.js';
import { IpamError, isIpamError, type IpamErrorCode } from '../errors.js';
import type { AddressRequest, IpamApi, Label, Lease, RangeSpec } from '../types.js';

/** CNI spec versions this plugin speaks. Results follow the config's `cniVersion`. */
export const SUPPORTED_CNI_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

/**
 * CNI error codes of `ippc-ipam`. 1-11 are the spec's; 100 and up are ours, one per IPAM
 * condition, so a runtime can react without parsing messages.
 */
export const CNI_ERROR_CODES = {
  INCOMPATIBLE_VERSION: 1,
  INVALID_ENV: 4,
  IO: 5,
  DECODE: 6,
  INVALID_CONFIG: 7,
  TRY_AGAIN_LATER: 11,
  STATUS_NOT_AVAILABLE: 50,
  POOL_EXHAUSTED: 100,
  ADDRESS_TAKEN: 101,
  ADDRESS_OUTSIDE_POOL: 102,
  UNKNOWN_NETWORK: 103,
  BAD_REQUEST: 104,
  CHECK_FAILED: 105,
  POOL_CONFLICT: 106,
  INTERNAL: 999,
} as const;

const FROM_IPAM: Record<IpamErrorCode, number> = {
  IPAM_POOL_EXHAUSTED: CNI_ERROR_CODES.POOL_EXHAUSTED,
  IPAM_ADDRESS_TAKEN: CNI_ERROR_CODES.ADDRESS_TAKEN,
  IPAM_ADDRESS_OUTSIDE_POOL: CNI_ERROR_CODES.ADDRESS_OUTSIDE_POOL,
  IPAM_UNKNOWN_NETWORK: CNI_ERROR_CODES.UNKNOWN_NETWORK,
  IPAM_BAD_REQUEST: CNI_ERROR_CODES.BAD_REQUEST,
  IPAM_POOL_CONFLICT: CNI_ERROR_CODES.POOL_CONFLICT,
  IPAM_LEASE_NOT_FOUND: CNI_ERROR_CODES.CHECK_FAILED,
  IPAM_CONFLICT: CNI_ERROR_CODES.TRY_AGAIN_LATER,
  IPAM_UNAVAILABLE: CNI_ERROR_CODES.TRY_AGAIN_LATER,
};

/** One plugin invocation: the CNI environment and the config from standard input. */
export interface CniRequest {
  command: string;
  containerId?: string;
  netns?: string;
  ifName?: string;
  /** CNI_ARGS ("K=V;K2=V2"). */
  args?: string;
  path?: string;
  /** The network config JSON (standard input). */
  config: string;
}

/** What the plugin prints and how it exits. `output` is '' when the command prints nothing. */
export interface CniResponse {
  ok: boolean;
  output: string;
}

export interface CniHandlerOptions {
  ipam: IpamApi;
  /** This node's name: the lease's node and owner, and the scope of CNI GC. */
  node: string;
  logger?: Logger;
}

export interface CniHandler {
  handle(request: CniRequest): Promise<CniResponse>;
}

class CniFailure extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly details = '',
  ) {
    super(message);
  }
}

interface IpamSection {
  type?: string;
  ranges?: RangeSpec[][];
  subnet?: string;
  rangeStart?: string;
  rangeEnd?: string;
  gateway?: string;
  routes?: Array<{ dst: string; gw?: string }>;
  dns?: Record<string, unknown>;
  exclude?: string[];
}

interface NetConf {
  cniVersion: string;
  name: string;
  ipam: IpamSection;
  runtimeConfig?: { ips?: string[] };
  /** `args.cni.ips`, and Mesos's NetworkInfo under `args["org.apache.mesos"]` (read by @ippc/mesos). */
  args?: { cni?: { ips?: string[] }; [key: string]: unknown };
  prevResult?: { ips?: Array<{ address?: string }>; ip4?: { ip?: string }; ip6?: { ip?: string } };
  'cni.dev/valid-attachments'?: Array<{ containerID?: string; ifname?: string }>;
  'cni.dev/attachments'?: Array<{ containerID?: string; ifname?: string }>;
}

/** The task's NetworkInfo as Mesos passes it; one that is not a NetworkInfo is an invalid config. */
function mesosNetworkInfo(conf: NetConf): NetworkInfo | undefined {
  try {
    return networkInfoOfCniArgs(conf.args);
  } catch (err) {
    throw new CniFailure(CNI_ERROR_CODES.INVALID_CONFIG, (err as Error).message);
  }
}

function parseConf(text: string): NetConf {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CniFailure(CNI_ERROR_CODES.DECODE, `cannot decode the network config from standard input: ${(err as Error).message}`);
  }
  if (!raw || typeof raw !== 'object') throw new CniFailure(CNI_ERROR_CODES.DECODE, 'the network config must be a JSON object');
  const c = raw as Record<string, unknown>;
  if (typeof c.cniVersion !== 'string') throw new CniFailure(CNI_ERROR_CODES.INVALID_CONFIG, 'the network config has no "cniVersion"');
  if (typeof c.name !== 'string' || c.name === '') throw new CniFailure(CNI_ERROR_CODES.INVALID_CONFIG, 'the network config has no "name"');
  if (!c.ipam || typeof c.ipam !== 'object') throw new CniFailure(CNI_ERROR_CODES.INVALID_CONFIG, 'the network config has no "ipam" section');
  return c as unknown as NetConf;
}

/** host-local's two shapes: `ranges` (list of range sets), or one range at the top of `ipam`. */
function rangeSets(ipam: IpamSection): RangeSpec[][] {
  if (ipam.ranges !== undefined) {
    if (!Array.isArray(ipam.ranges) || !ipam.ranges.every((s) => Array.isArray(s) && s.length > 0)) {
      throw new CniFailure(CNI_ERROR_CODES.INVALID_CONFIG, 'ipam.ranges must be a list of range sets, each a non-empty list of {"subnet", "rangeStart"?, "rangeEnd"?, "gateway"?}');
    }
    return ipam.ranges;
  }
  if (ipam.subnet) return [[{ subnet: ipam.subnet, rangeStart: ipam.rangeStart, rangeEnd: ipam.rangeEnd, gateway: ipam.gateway }]];
  return [];
}

function familyOfSet(set: RangeSpec[]): Family | undefined {
  return parseCidr(set[0]?.subnet ?? '')?.family;
}

function setContains(set: RangeSpec[], ip: { family: Family; value: bigint }): boolean {
  return set.some((r) => {
    const c = parseCidr(r.subnet);
    return !!c && cidrContains(c, ip);
  });
}

/** `CNI_ARGS` "IgnoreUnknown=1;IP=10.1.2.3,10.1.2.4" -> the requested IPs. */
function ipsFromCniArgs(args: string | undefined): string[] {
  if (!args) return [];
  const out: string[] = [];
  for (const kv of args.split(';')) {
    const [k, v] = kv.split('=', 2);
    if (k === 'IP' && v) out.push(...v.split(','));
  }
  return out;
}

function cmpVersion(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

/** The result in the shape of the config's version: 0.1/0.2 `ip4`/`ip6`, 0.3.x/0.4 `ips[].version`, 1.x plain `ips`. */
export function formatResult(cniVersion: string, lease: Lease, ipam: IpamSection): Record<string, unknown> {
  const routes = Array.isArray(ipam.routes) ? ipam.routes : [];
  const dns = ipam.dns && typeof ipam.dns === 'object' ? ipam.dns : {};
  if (cmpVersion(cniVersion, '0.3.0') < 0) {
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
  const withVersion = cmpVersion(cniVersion, '1.0.0') < 0;
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

/**
 * The logic of the `ippc-ipam` CNI IPAM plugin, run by the long-running node daemon: the
 * executable in the CNI plugin folder only forwards its environment and standard input here.
 */
export function createCniHandler(options: CniHandlerOptions): CniHandler {
  const { ipam, node } = options;
  const log = options.logger ?? silentLogger();
  /** Pools already ensured by this daemon: "network\0rangeSetJSON" -> pool id. */
  const ensured = new Map<string, Promise<string>>();

  function ensure(network: string, set: RangeSpec[], exclude: string[] | undefined): Promise<string> {
    const k = `${network}\0${JSON.stringify(set)}\0${JSON.stringify(exclude ?? [])}`;
    let p = ensured.get(k);
    if (!p) {
      const family = familyOfSet(set);
      const ex = (exclude ?? []).filter((e) => (e.includes('/') ? parseCidr(e) : parseIp(e))?.family === family);
      p = ipam
        .ensurePool({ network, ranges: set, ...(ex.length > 0 ? { exclude: ex } : {}) })
        .then((r) => r.pool.spec.id)
        .catch((err: unknown) => {
          ensured.delete(k);
          if (isIpamError(err, 'IPAM_BAD_REQUEST')) throw new CniFailure(CNI_ERROR_CODES.INVALID_CONFIG, `ipam.ranges of network '${network}': ${(err as Error).message}`, 'IPAM_BAD_REQUEST');
          throw err;
        });
      ensured.set(k, p);
    }
    return p;
  }

  function forget(network: string): void {
    for (const k of [...ensured.keys()]) if (k.startsWith(`${network}\0`)) ensured.delete(k);
  }

  function requireEnv(req: CniRequest): { containerId: string; ifName: string } {
    if (!req.containerId) throw new CniFailure(CNI_ERROR_CODES.INVALID_ENV, 'CNI_CONTAINERID is not set');
    if (!req.ifName) throw new CniFailure(CNI_ERROR_CODES.INVALID_ENV, 'CNI_IFNAME is not set');
    return { containerId: req.containerId, ifName: req.ifName };
  }

  async function add(req: CniRequest, conf: NetConf): Promise<Record<string, unknown>> {
    const env = requireEnv(req);
    const sets = rangeSets(conf.ipam);
    const network = conf.name;
    const mesos = mesosNetworkInfo(conf);
    const poolIds: Array<{ id: string; set: RangeSpec[]; family: Family | undefined }> = [];
    for (const set of sets) poolIds.push({ id: await ensure(network, set, conf.ipam.exclude), set, family: familyOfSet(set) });

    const requested: string[] = [...(conf.runtimeConfig?.ips ?? []), ...(conf.args?.cni?.ips ?? []), ...ipsFromCniArgs(req.args)];
    const requests: AddressRequest[] = [];
    if (mesos && mesos.ipAddresses.length > 0) {
      // Mesos (net-modules semantics): one address per entry; an explicit ip_address is reserved, else any of that protocol.
      for (const entry of mesos.ipAddresses) {
        const family: Family = entry.protocol === NetworkInfo_Protocol.IPv6 ? 6 : 4;
        const firstOfFamily = poolIds.find((p) => p.family === family);
        if (entry.ipAddress) {
          const ip = parseIp(entry.ipAddress);
          if (!ip) throw new CniFailure(CNI_ERROR_CODES.BAD_REQUEST, `network_info.ip_addresses: '${entry.ipAddress}' is not an IP address`);
          const holder = poolIds.find((p) => setContains(p.set, ip)) ?? poolIds.find((p) => p.family === ip.family);
          requests.push({ address: entry.ipAddress, ...(holder ? { pool: holder.id } : {}) });
        } else if (firstOfFamily) requests.push({ pool: firstOfFamily.id });
        else if (sets.length > 0) throw new CniFailure(CNI_ERROR_CODES.INVALID_CONFIG, `network '${network}' has no IPv${family} range in ipam.ranges, but the task asks for an IPv${family} address`);
        else requests.push({ family });
      }
    } else {
      const left = requested.map((text) => {
        const parsed = parseIpOrCidr(text);
        if (!parsed) throw new CniFailure(CNI_ERROR_CODES.BAD_REQUEST, `requested IP '${text}' is not an address`);
        return { text: text.split('/')[0]!, ip: parsed.ip, used: false };
      });
      for (const p of poolIds) {
        const want = left.find((r) => !r.used && setContains(p.set, r.ip));
        if (want) want.used = true;
        requests.push(want ? { pool: p.id, address: want.text } : { pool: p.id });
      }
      for (const r of left.filter((x) => !x.used)) {
        if (poolIds.length > 0) {
          throw new CniFailure(
            CNI_ERROR_CODES.ADDRESS_OUTSIDE_POOL,
            `requested IP ${r.text} is in no range of network '${network}' (${sets.map((s) => s.map((x) => x.subnet).join('+')).join(', ')}); request an address inside them`,
            'IPAM_ADDRESS_OUTSIDE_POOL',
          );
        }
        requests.push({ address: r.text });
      }
    }
    const labels: Label[] = (mesos?.labels?.labels ?? []).map((l) => ({ key: l.key ?? '', value: l.value ?? '' }));
    const allocate = () =>
      ipam.allocate({ handle: { network, containerId: env.containerId, ifName: env.ifName }, node, owner: node, requests, groups: mesos?.groups ?? [], labels });
    let result;
    try {
      result = await allocate();
    } catch (err) {
      // The service lost its pools (a wiped store): ensure again once.
      if (!isIpamError(err, 'IPAM_UNKNOWN_NETWORK') || sets.length === 0) throw err;
      forget(network);
      for (const set of sets) await ensure(network, set, conf.ipam.exclude);
      result = await allocate();
    }
    log.debug({ network, containerId: env.containerId, addresses: result.lease.addresses.map((a) => a.address), existing: result.existing }, 'CNI ADD');
    return formatResult(conf.cniVersion, result.lease, conf.ipam);
  }

  async function check(req: CniRequest, conf: NetConf): Promise<void> {
    const env = requireEnv(req);
    const lease = await ipam.getLease({ network: conf.name, containerId: env.containerId, ifName: env.ifName });
    const prev = conf.prevResult;
    if (!prev) return;
    const have = new Set<string>();
    for (const ip of prev.ips ?? []) if (ip.address) have.add(ip.address.split('/')[0]!);
    if (prev.ip4?.ip) have.add(prev.ip4.ip.split('/')[0]!);
    if (prev.ip6?.ip) have.add(prev.ip6.ip.split('/')[0]!);
    const missing = lease.addresses.filter((a) => !have.has(a.address));
    if (missing.length > 0) {
      throw new CniFailure(CNI_ERROR_CODES.CHECK_FAILED, `the IPAM lease of ${conf.name}/${env.containerId}/${env.ifName} holds ${missing.map((a) => a.address).join(', ')}, missing from prevResult`);
    }
  }

  function errorOutput(cniVersion: string, err: unknown): CniResponse {
    let code: number;
    let msg: string;
    let details: string;
    if (err instanceof CniFailure) {
      code = err.code;
      msg = err.message;
      details = err.details;
    } else if (err instanceof IpamError) {
      code = FROM_IPAM[err.code];
      msg = err.message;
      details = err.code;
    } else {
      code = CNI_ERROR_CODES.INTERNAL;
      msg = `ippc-ipam internal error: ${(err as Error)?.message ?? String(err)}`;
      details = '';
    }
    return { ok: false, output: JSON.stringify({ cniVersion, code, msg, details }) };
  }

  return {
    async handle(req) {
      let cniVersion = '1.0.0';
      try {
        if (req.command === 'VERSION') {
          let v = '1.0.0';
          try {
            const c = JSON.parse(req.config) as { cniVersion?: unknown };
            if (typeof c?.cniVersion === 'string') v = c.cniVersion;
          } catch {
            // VERSION may come with an empty config
          }
          return { ok: true, output: JSON.stringify({ cniVersion: v, supportedVersions: SUPPORTED_CNI_VERSIONS }) };
        }
        const conf = parseConf(req.config);
        cniVersion = conf.cniVersion;
        if (!(SUPPORTED_CNI_VERSIONS as readonly string[]).includes(cniVersion)) {
          throw new CniFailure(CNI_ERROR_CODES.INCOMPATIBLE_VERSION, `ippc-ipam does not speak CNI ${cniVersion}; it speaks ${SUPPORTED_CNI_VERSIONS.join(', ')}`);
        }
        switch (req.command) {
          case 'ADD':
            return { ok: true, output: JSON.stringify(await add(req, conf)) };
          case 'DEL': {
            // No netns needed: IPAM releases even when the namespace is gone (CNI spec: DEL must succeed if already gone).
            const env = requireEnv(req);
            await ipam.release({ network: conf.name, containerId: env.containerId, ifName: env.ifName });
            return { ok: true, output: '' };
          }
          case 'CHECK':
            if (cmpVersion(cniVersion, '0.4.0') < 0) throw new CniFailure(CNI_ERROR_CODES.INCOMPATIBLE_VERSION, `CHECK needs cniVersion 0.4.0 or later, the config says ${cniVersion}`);
            await check(req, conf);
            return { ok: true, output: '' };
          case 'GC': {
            const list = conf['cni.dev/valid-attachments'] ?? conf['cni.dev/attachments'] ?? [];
            const valid = list.filter((a) => a.containerID && a.ifname).map((a) => ({ containerId: a.containerID!, ifName: a.ifname! }));
            const r = await ipam.garbageCollect({ network: conf.name, node, valid });
            log.info({ network: conf.name, reclaimed: r.reclaimed.length, suspected: r.suspected.length }, 'CNI GC');
            return { ok: true, output: '' };
          }
          case 'STATUS':
            try {
              await ipam.listPools(conf.name);
            } catch (err) {
              throw new CniFailure(CNI_ERROR_CODES.STATUS_NOT_AVAILABLE, `the IPAM service is not available: ${(err as Error).message}`);
            }
            return { ok: true, output: '' };
          default:
            throw new CniFailure(CNI_ERROR_CODES.INVALID_ENV, `unknown CNI_COMMAND: ${req.command || '(empty)'}`);
        }
      } catch (err) {
        if (!(err instanceof CniFailure) && !(err instanceof IpamError)) log.error({ err: (err as Error).message }, 'CNI call failed');
        return errorOutput(cniVersion, err);
      }
    },
  };
}
