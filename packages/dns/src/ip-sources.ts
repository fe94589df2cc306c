/**
 * Where a task's addresses come from, in mesos-dns's terms (`records/state/state.go`): a list of
 * sources tried in order; the first one that yields at least one parseable IP wins.
 */
import { isIP } from 'node:net';
import { DnsError } from './errors.js';
import type { MesosLabel, MesosTask, MesosTaskStatus } from './mesos-state.js';

/**
 * - `netinfo`: `container_status.network_infos[].ip_addresses[].ip_address` of the newest
 *   `TASK_RUNNING` status (all networks, all addresses; a network_info without `ip_addresses`
 *   falls back to its 0.25-era top-level `ip_address`).
 * - `mesos`: values of that status's labels keyed `MesosContainerizer.NetworkSettings.IPAddress`.
 * - `docker`: values of that status's labels keyed `Docker.NetworkSettings.IPAddress`.
 * - `host`: the agent's address (from `slaves[].pid`).
 */
export type IpSource = 'netinfo' | 'mesos' | 'docker' | 'host';

export const IP_SOURCES: readonly IpSource[] = ['netinfo', 'mesos', 'docker', 'host'];

/** mesos-dns's default (`records/config.go`): container addresses first, else the agent's. */
export const DEFAULT_IP_SOURCES: readonly IpSource[] = ['netinfo', 'mesos', 'host'];

export const MESOS_IP_LABEL = 'MesosContainerizer.NetworkSettings.IPAddress';
export const DOCKER_IP_LABEL = 'Docker.NetworkSettings.IPAddress';

/**
 * Checks a source list in mesos-dns's order with its exact messages: `empty ip sources`, then
 * `duplicate ip source specified`, then `invalid ip source "<x>"`.
 *
 * @throws DnsError `DNS_INVALID_IP_SOURCES`; `details.valid` lists the accepted names.
 */
export function validateIpSources(sources: readonly string[]): IpSource[] {
  const details = { valid: [...IP_SOURCES], given: [...sources] };
  if (sources.length === 0) throw new DnsError('DNS_INVALID_IP_SOURCES', 'empty ip sources', { details });
  if (new Set(sources).size !== sources.length) {
    throw new DnsError('DNS_INVALID_IP_SOURCES', 'duplicate ip source specified', { details });
  }
  for (const s of sources) {
    if (!(IP_SOURCES as readonly string[]).includes(s)) {
      throw new DnsError('DNS_INVALID_IP_SOURCES', `invalid ip source ${JSON.stringify(s)}`, { details });
    }
  }
  return sources as IpSource[];
}

/** An address in canonical text form with its family. */
export interface ParsedIp {
  family: 4 | 6;
  ip: string;
}

/**
 * Parses an address as Go's `net.ParseIP` would accept it, in canonical form (IPv6 compressed and
 * lower-case; an IPv4-mapped IPv6 address counts as IPv4, as Go's `To4()` says). Anything else —
 * a hostname, a prefix `10.0.0.2/24`, an empty string — gives `undefined` and is dropped.
 *
 * One deliberate difference from mesos-dns: an IPv6 address with a prefix length (`fd10::5/64`) is
 * accepted without it, because Mesos's CNI isolator reports IPv6 addresses that way (it strips the
 * prefix of IPv4 only); mesos-dns drops them and so never answers AAAA for CNI tasks.
 */
export function parseIp(text: unknown): ParsedIp | undefined {
  if (typeof text !== 'string') return undefined;
  let s = text.trim();
  const v6WithPrefix = /^([0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)\/(\d{1,3})$/.exec(s);
  if (v6WithPrefix?.[1] && Number(v6WithPrefix[2]) <= 128 && isIP(v6WithPrefix[1]) === 6) s = v6WithPrefix[1];
  const family = isIP(s);
  if (family === 4) return { family: 4, ip: s }; // isIP accepts only the dotted-decimal form without leading zeros
  if (family !== 6) return undefined;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(s);
  if (mapped?.[1] && isIP(mapped[1]) === 4) return { family: 4, ip: mapped[1] };
  // The WHATWG URL parser prints IPv6 hosts in RFC 5952 canonical form.
  const canonical = new URL(`http://[${s}]/`).hostname.slice(1, -1);
  const mappedHex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (mappedHex?.[1] && mappedHex[2]) {
    const hi = parseInt(mappedHex[1], 16);
    const lo = parseInt(mappedHex[2], 16);
    return { family: 4, ip: [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.') };
  }
  return { family: 6, ip: canonical };
}

/**
 * The status whose addresses count: the `TASK_RUNNING` one with the greatest `timestamp`, whatever
 * its position (Mesos does not promise an order). On a tie the first one wins.
 */
export function latestRunningStatus(statuses: unknown): MesosTaskStatus | undefined {
  if (!Array.isArray(statuses)) return undefined;
  let best: MesosTaskStatus | undefined;
  let bestTs = -Infinity;
  for (const s of statuses as MesosTaskStatus[]) {
    if (s?.state !== 'TASK_RUNNING') continue;
    const ts = typeof s.timestamp === 'number' ? s.timestamp : -1;
    if (best === undefined || ts > bestTs) {
      best = s;
      bestTs = ts;
    }
  }
  return best;
}

function netinfoCandidates(status: MesosTaskStatus | undefined): unknown[] {
  const infos = status?.container_status?.network_infos;
  if (!Array.isArray(infos)) return [];
  const out: unknown[] = [];
  for (const info of infos) {
    if (!info || typeof info !== 'object') continue;
    if (Array.isArray(info.ip_addresses) && info.ip_addresses.length > 0) {
      for (const a of info.ip_addresses) out.push(a?.ip_address);
    } else if (info.ip_address !== undefined) {
      out.push(info.ip_address); // Mesos 0.25
    }
  }
  return out;
}

function labelCandidates(status: MesosTaskStatus | undefined, key: string): unknown[] {
  const labels: MesosLabel[] | undefined = status?.labels;
  if (!Array.isArray(labels)) return [];
  return labels.filter((l) => l?.key === key).map((l) => l.value);
}

/** The result of {@link taskAddresses}: the winning source and its addresses. */
export interface TaskAddresses {
  source: IpSource | undefined;
  /** Every parseable address the winning source gave, in order, without duplicates. */
  all: ParsedIp[];
  /** What gets A/AAAA records: the first IPv4 and the first IPv6 of `all`, as mesos-dns does. */
  ipv4: string | undefined;
  ipv6: string | undefined;
}

/**
 * Walks `sources` in order and returns the addresses of the first source that yields any
 * parseable IP. `agentIps` are the addresses of the task's agent (the `host` source).
 */
export function taskAddresses(task: MesosTask, agentIps: readonly ParsedIp[], sources: readonly IpSource[]): TaskAddresses {
  const status = latestRunningStatus(task.statuses);
  for (const source of sources) {
    let candidates: unknown[];
    switch (source) {
      case 'netinfo':
        candidates = netinfoCandidates(status);
        break;
      case 'mesos':
        candidates = labelCandidates(status, MESOS_IP_LABEL);
        break;
      case 'docker':
        candidates = labelCandidates(status, DOCKER_IP_LABEL);
        break;
      case 'host':
        candidates = agentIps.map((a) => a.ip);
        break;
    }
    const all: ParsedIp[] = [];
    const seen = new Set<string>();
    for (const c of candidates) {
      const p = parseIp(c);
      if (p && !seen.has(p.ip)) {
        seen.add(p.ip);
        all.push(p);
      }
    }
    if (all.length > 0) {
      return { source, all, ipv4: all.find((a) => a.family === 4)?.ip, ipv6: all.find((a) => a.family === 6)?.ip };
    }
  }
  return { source: undefined, all: [], ipv4: undefined, ipv6: undefined };
}
