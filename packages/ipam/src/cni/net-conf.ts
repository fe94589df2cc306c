import { CniError, cidrContains, parseCidr, type CniRequest, type CniResultAddresses, type IpAddress, type IpFamily } from '@ippc/core';
import { networkInfoOfCniArgs } from '@ippc/mesos';
import type { NetworkInfo } from '@ippc/proto';
import type { RangeSpec } from '../types.js';
import { CNI_ERROR_CODES } from './cni-errors.js';

// What ippc-ipam reads of a call: the network config on standard input and the CNI environment.

export interface IpamSection {
  type?: string;
  ranges?: RangeSpec[][];
  subnet?: string;
  rangeStart?: string;
  rangeEnd?: string;
  gateway?: string;
  routes?: Array<{ dst: string; gw?: string }>;
  dns?: Record<string, unknown>;
  exclude?: string[];
  /** The network's cool-down before a released address is picked again (default: the service's). */
  cooldownSeconds?: number;
}

export interface NetConf {
  cniVersion: string;
  name: string;
  ipam: IpamSection;
  runtimeConfig?: { ips?: string[] };
  /** `args.cni.ips`, and Mesos's NetworkInfo under `args["org.apache.mesos"]` (read by @ippc/mesos). */
  args?: { cni?: { ips?: string[] }; [key: string]: unknown };
  prevResult?: CniResultAddresses;
  'cni.dev/valid-attachments'?: Array<{ containerID?: string; ifname?: string }>;
  'cni.dev/attachments'?: Array<{ containerID?: string; ifname?: string }>;
}

/** The task's NetworkInfo as Mesos passes it; one that is not a NetworkInfo is an invalid config. */
export function mesosNetworkInfo(conf: NetConf): NetworkInfo | undefined {
  try {
    return networkInfoOfCniArgs(conf.args);
  } catch (err) {
    throw new CniError(CNI_ERROR_CODES.INVALID_CONFIG, (err as Error).message);
  }
}

export function parseConf(text: string): NetConf {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CniError(CNI_ERROR_CODES.DECODE, `cannot decode the network config from standard input: ${(err as Error).message}`);
  }
  if (!raw || typeof raw !== 'object') throw new CniError(CNI_ERROR_CODES.DECODE, 'the network config must be a JSON object');
  const c = raw as Record<string, unknown>;
  if (typeof c.cniVersion !== 'string') throw new CniError(CNI_ERROR_CODES.INVALID_CONFIG, 'the network config has no "cniVersion"');
  if (typeof c.name !== 'string' || c.name === '') throw new CniError(CNI_ERROR_CODES.INVALID_CONFIG, 'the network config has no "name"');
  if (!c.ipam || typeof c.ipam !== 'object') throw new CniError(CNI_ERROR_CODES.INVALID_CONFIG, 'the network config has no "ipam" section');
  return c as unknown as NetConf;
}

/** What the `ipam` section says of its pools beyond the ranges; a cool-down that is not a number is an invalid config. */
export function poolOptions(ipam: IpamSection): { exclude?: string[]; cooldownSeconds?: number } {
  const { exclude, cooldownSeconds } = ipam;
  if (cooldownSeconds !== undefined && typeof cooldownSeconds !== 'number') {
    throw new CniError(CNI_ERROR_CODES.INVALID_CONFIG, `ipam.cooldownSeconds must be a whole number of seconds, not ${JSON.stringify(cooldownSeconds)}`);
  }
  return { ...(exclude ? { exclude } : {}), ...(cooldownSeconds !== undefined ? { cooldownSeconds } : {}) };
}

/** host-local's two shapes: `ranges` (list of range sets), or one range at the top of `ipam`. */
export function rangeSets(ipam: IpamSection): RangeSpec[][] {
  if (ipam.ranges !== undefined) {
    if (!Array.isArray(ipam.ranges) || !ipam.ranges.every((s) => Array.isArray(s) && s.length > 0)) {
      throw new CniError(
        CNI_ERROR_CODES.INVALID_CONFIG,
        'ipam.ranges must be a list of range sets, each a non-empty list of {"subnet", "rangeStart"?, "rangeEnd"?, "gateway"?}',
      );
    }
    return ipam.ranges;
  }
  if (ipam.subnet) return [[{ subnet: ipam.subnet, rangeStart: ipam.rangeStart, rangeEnd: ipam.rangeEnd, gateway: ipam.gateway }]];
  return [];
}

export function familyOfSet(set: RangeSpec[]): IpFamily | undefined {
  return parseCidr(set[0]?.subnet ?? '')?.family;
}

export function setContains(set: RangeSpec[], ip: IpAddress): boolean {
  return set.some((r) => {
    const c = parseCidr(r.subnet);
    return !!c && cidrContains(c, ip);
  });
}

/** `CNI_ARGS` "IgnoreUnknown=1;IP=10.1.2.3,10.1.2.4" -> the requested IPs. */
export function ipsFromCniArgs(args: string | undefined): string[] {
  if (!args) return [];
  const out: string[] = [];
  for (const kv of args.split(';')) {
    const [k, v] = kv.split('=', 2);
    if (k === 'IP' && v) out.push(...v.split(','));
  }
  return out;
}

/** `CNI_CONTAINERID` and `CNI_IFNAME`, which every verb on an attachment needs. */
export function requireEnv(req: CniRequest): { containerId: string; ifName: string } {
  if (!req.containerId) throw new CniError(CNI_ERROR_CODES.INVALID_ENV, 'CNI_CONTAINERID is not set');
  if (!req.ifName) throw new CniError(CNI_ERROR_CODES.INVALID_ENV, 'CNI_IFNAME is not set');
  return { containerId: req.containerId, ifName: req.ifName };
}
