/**
 * Where a task's addresses come from, in mesos-dns's terms (`records/state/state.go`): a list of
 * sources tried in order; the first one that yields at least one parseable IP wins.
 */
import { cidrContains, formatIp, parseCidr, parseIpOrCidr } from '@ippc/core';
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

/** `::ffff:a.b.c.d`: IPv4 addresses written as IPv6 (RFC 4291 §2.5.5.2), which Go's `To4()` gives back as IPv4. */
const IPV4_MAPPED = parseCidr('::ffff:0:0/96')!;

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
  const parsed = parseIpOrCidr(text.trim());
  if (!parsed || (parsed.prefixLength !== undefined && parsed.ip.family !== 6)) return undefined;
  const { family, value } = parsed.ip;
  if (cidrContains(IPV4_MAPPED, parsed.ip)) return { family: 4, ip: formatIp(4, value & 0xffffffffn) };
  return { family, ip: formatIp(family, value) };
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
