/**
 * From a master state to the zone: which names exist and what they answer. This is mesos-dns's
 * record generator (`records/generator.go`) with `.agent.` where mesos-dns wrote `.slave.`.
 *
 * For a running task `T` of framework `F` on agent `…-S3`, in domain `D` (all names lower-case):
 *
 * | name | type | data |
 * | --- | --- | --- |
 * | `T.F.D`, `T-<hash>-s3.F.D` | A / AAAA | the task's first IPv4 / IPv6 from the IP sources |
 * | `T.F.agent.D`, `T-<hash>-s3.F.agent.D` | A / AAAA | the agent's address |
 * | `_T._tcp.F.D`, `_T._udp.F.D` (no discovery info) | SRV | `T-<hash>-s3.F.agent.D` : each port of `resources.ports` |
 * | `_T._tcp.F.agent.D`, `_T._udp.F.agent.D` | SRV | the same |
 * | `_T._<proto>.F.D`, `_<port name>._T._<proto>.F.D` | SRV | `T-<hash>-s3.F.D` : each `discovery.ports` number |
 * | `agent.D` | A / AAAA | every agent; `_agent._tcp.D` SRV → `agent.D` : agent port |
 * | `leader.D`, `master.D` | A / AAAA | the leading master; `_leader._tcp.D`, `_leader._udp.D` SRV |
 * | `F.D` | A / AAAA | the framework's scheduler; `_framework._tcp.F.D` SRV |
 *
 * When the task has `discovery.name`, `T` is that name instead of the task name, and resource
 * ports only get the `.agent.` SRV names (mesos-dns keeps the plain ones for discovery ports).
 */
import { parseIp, taskAddresses, type IpSource, type ParsedIp } from './ip-sources.js';
import { agentIdTail, canonicalName, taskIdHash, toDomainFragment, toLabel } from './labels.js';
import type { MesosAgent, MesosState, MesosTask } from './mesos-state.js';

/** One SRV answer: `priority 0, weight 1, port, target`. */
export interface SrvRecord {
  target: string;
  port: number;
}

/** Everything a name answers. */
export interface NameRecords {
  readonly a: readonly string[];
  readonly aaaa: readonly string[];
  readonly srv: readonly SrvRecord[];
}

interface MutableNameRecords {
  a: string[];
  aaaa: string[];
  srv: SrvRecord[];
}

// Most names hold one kind of record: share one empty array until a name gets its first record
// of a kind, which keeps a 10,000-name zone at a third of the allocations.
const NONE: never[] = Object.freeze([]) as unknown as never[];

/** Counts for logs and the benchmark. */
export interface RecordStats {
  frameworks: number;
  agents: number;
  /** Tasks that got records (running, on a known agent, with a usable name). */
  tasks: number;
  /** Names that answer something. */
  names: number;
  /** A + AAAA + SRV records over all names. */
  records: number;
}

/** An immutable zone built from one state. */
export interface RecordSet {
  /** The zone apex, canonical (lower case, no trailing dot). */
  readonly domain: string;
  /** Records of `name` (canonical), or undefined when it answers nothing. */
  lookup(name: string): NameRecords | undefined;
  /** True when `name` is in the zone: it has records or names below it (an empty non-terminal). */
  exists(name: string): boolean;
  /** All names with records, for debugging and tests. */
  names(): IterableIterator<string>;
  readonly stats: RecordStats;
  /** Things the builder skipped or capped, for the log. */
  readonly warnings: readonly string[];
}

export interface BuildRecordsOptions {
  /** The zone, e.g. `ippc`. Canonicalised here. */
  domain: string;
  /** Validated source order (see {@link validateIpSources}). */
  ipSources: readonly IpSource[];
  /**
   * Addresses for agent / leader / framework hosts that are names rather than IPs, resolved by the
   * caller beforehand (see {@link collectHostnames}); unresolved names get no records.
   */
  hostAddresses?: ReadonlyMap<string, readonly ParsedIp[]>;
  /** Addresses of this server, for `ns1.<domain>` (the SOA's MNAME). Default: none. */
  nameserverAddresses?: readonly string[];
}

/** A task's resource ports beyond this many are ignored (a `[1-65535]` range would flood the zone). */
export const MAX_PORTS_PER_TASK = 1024;

/** `slave(1)@10.0.0.5:5051` → host and port; `[fd00::5]:5051` style hosts are unbracketed. */
export function parsePid(pid: unknown): { host: string; port: number | undefined } | undefined {
  if (typeof pid !== 'string') return undefined;
  const at = pid.lastIndexOf('@');
  if (at < 0) return undefined;
  const hostPort = pid.slice(at + 1);
  const m = /^\[([^\]]+)\](?::(.*))?$/.exec(hostPort) ?? /^([^:]+)(?::(.*))?$/.exec(hostPort);
  if (!m?.[1]) return undefined;
  // A malformed port loses the port, not the host.
  const port = m[2] !== undefined && /^\d{1,5}$/.test(m[2]) ? Number(m[2]) : undefined;
  return { host: m[1], port: port !== undefined && port > 0 && port < 65536 ? port : undefined };
}

/** Expands Mesos range text `"[31000-31001, 31005-31005]"` into port numbers. */
export function parsePortRanges(text: unknown): number[] {
  if (typeof text !== 'string') return [];
  const inner = /^\s*\[(.*)\]\s*$/.exec(text)?.[1];
  if (inner === undefined) return [];
  const ports: number[] = [];
  for (const part of inner.split(',')) {
    const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(part) ?? /^\s*(\d+)()\s*$/.exec(part);
    if (!m) continue;
    const lo = Number(m[1]);
    const hi = m[2] === '' ? lo : Number(m[2]);
    for (let p = Math.max(lo, 1); p <= Math.min(hi, 65535); p++) ports.push(p);
  }
  return ports;
}

function hostOf(agent: MesosAgent): string | undefined {
  return parsePid(agent.pid)?.host ?? (typeof agent.hostname === 'string' && agent.hostname !== '' ? agent.hostname : undefined);
}

/**
 * Host names (not IPs) that the state uses for agents, the leader and frameworks; resolve them and
 * pass the result as {@link BuildRecordsOptions.hostAddresses}.
 */
export function collectHostnames(state: MesosState): string[] {
  const hosts = new Set<string>();
  const add = (h: string | undefined) => h !== undefined && !parseIp(h) && hosts.add(h);
  for (const a of Array.isArray(state.slaves) ? state.slaves : []) add(a ? hostOf(a) : undefined);
  add(parsePid(state.leader)?.host);
  for (const f of Array.isArray(state.frameworks) ? state.frameworks : []) add(parsePid(f?.pid)?.host);
  return [...hosts];
}

class ZoneBuilder {
  readonly map = new Map<string, MutableNameRecords>();
  records = 0;

  constructor(readonly domain: string) {}

  private entry(name: string): MutableNameRecords {
    let e = this.map.get(name);
    if (!e) {
      e = { a: NONE, aaaa: NONE, srv: NONE };
      this.map.set(name, e);
    }
    return e;
  }

  addIp(name: string, ip: ParsedIp): void {
    const e = this.entry(name);
    const key = ip.family === 4 ? 'a' : 'aaaa';
    if (e[key] === NONE) e[key] = [];
    if (!e[key].includes(ip.ip)) {
      e[key].push(ip.ip);
      this.records++;
    }
  }

  addSrv(name: string, target: string, port: number): void {
    const e = this.entry(name);
    if (e.srv === NONE) e.srv = [];
    if (!e.srv.some((s) => s.port === port && s.target === target)) {
      e.srv.push({ target, port });
      this.records++;
    }
  }
}

/** First IPv4 and first IPv6 of a list (mesos-dns answers with at most one of each). */
function firstOfEach(ips: readonly ParsedIp[]): ParsedIp[] {
  const v4 = ips.find((i) => i.family === 4);
  const v6 = ips.find((i) => i.family === 6);
  return [v4, v6].filter((x): x is ParsedIp => x !== undefined);
}

/**
 * Builds the zone for `state`. Pure and synchronous: the same state and options always give the
 * same zone. Only tasks whose `state` is `TASK_RUNNING` and whose `slave_id` is a known agent get
 * records; anything malformed is skipped (and counted in `warnings` when it is surprising).
 */
export function buildRecords(state: MesosState, options: BuildRecordsOptions): RecordSet {
  const domain = canonicalName(options.domain);
  const z = new ZoneBuilder(domain);
  const warnings: string[] = [];
  const resolveHost = (host: string | undefined): ParsedIp[] => {
    if (host === undefined) return [];
    const ip = parseIp(host);
    if (ip) return [ip];
    return [...(options.hostAddresses?.get(host) ?? [])];
  };

  for (const ip of options.nameserverAddresses ?? []) {
    const p = parseIp(ip);
    if (p) z.addIp(`ns1.${domain}`, p);
  }

  const { agentIps, agents } = addAgents(z, state, resolveHost);
  addLeader(z, state, resolveHost);
  const { frameworks, tasks } = addFrameworks(z, state, agentIps, resolveHost, options.ipSources, warnings);
  const nonTerminals = emptyNonTerminals(z);

  const map = z.map;
  return {
    domain,
    lookup: (name) => map.get(name),
    exists: (name) => name === domain || map.has(name) || nonTerminals.has(name),
    names: () => map.keys(),
    stats: { frameworks, agents, tasks, names: map.size, records: z.records },
    warnings,
  };
}

/** A host (IP or name) to its addresses: an IP itself, a name as resolved beforehand, else none. */
type HostResolver = (host: string | undefined) => ParsedIp[];

/** Agents: `agent.D`, `_agent._tcp.D`, and the per-agent addresses the `host` source uses. */
function addAgents(z: ZoneBuilder, state: MesosState, resolveHost: HostResolver): { agentIps: Map<string, ParsedIp[]>; agents: number } {
  const domain = z.domain;
  const agentIps = new Map<string, ParsedIp[]>();
  let agents = 0;
  for (const agent of Array.isArray(state.slaves) ? state.slaves : []) {
    if (!agent || typeof agent.id !== 'string') continue;
    const ips = firstOfEach(resolveHost(hostOf(agent)));
    agentIps.set(agent.id, ips);
    agents++;
    for (const ip of ips) z.addIp(`agent.${domain}`, ip);
    const port = parsePid(agent.pid)?.port;
    if (ips.length > 0 && port !== undefined) z.addSrv(`_agent._tcp.${domain}`, `agent.${domain}`, port);
  }
  return { agentIps, agents };
}

/** The leading master. */
function addLeader(z: ZoneBuilder, state: MesosState, resolveHost: HostResolver): void {
  const domain = z.domain;
  const leader = parsePid(state.leader);
  if (leader) {
    for (const ip of firstOfEach(resolveHost(leader.host))) {
      z.addIp(`leader.${domain}`, ip);
      z.addIp(`master.${domain}`, ip);
    }
    if (leader.port !== undefined && z.map.has(`leader.${domain}`)) {
      z.addSrv(`_leader._tcp.${domain}`, `leader.${domain}`, leader.port);
      z.addSrv(`_leader._udp.${domain}`, `leader.${domain}`, leader.port);
    }
  }
}

/** Frameworks (`F.D`, `_framework._tcp.F.D`) and their running tasks on known agents. */
function addFrameworks(
  z: ZoneBuilder,
  state: MesosState,
  agentIps: ReadonlyMap<string, ParsedIp[]>,
  resolveHost: HostResolver,
  ipSources: readonly IpSource[],
  warnings: string[],
): { frameworks: number; tasks: number } {
  const domain = z.domain;
  let frameworks = 0;
  let tasks = 0;
  for (const f of Array.isArray(state.frameworks) ? state.frameworks : []) {
    if (!f || typeof f.name !== 'string') continue;
    const fw = toDomainFragment(f.name);
    if (fw === '') {
      warnings.push(`framework ${JSON.stringify(f.name)} (${f.id ?? '?'}) has no usable DNS name: its tasks get no records`);
      continue;
    }
    frameworks++;
    const sched = parsePid(f.pid);
    if (sched) {
      const ips = firstOfEach(resolveHost(sched.host));
      for (const ip of ips) z.addIp(`${fw}.${domain}`, ip);
      if (ips.length > 0 && sched.port !== undefined) z.addSrv(`_framework._tcp.${fw}.${domain}`, `${fw}.${domain}`, sched.port);
    }
    for (const task of Array.isArray(f.tasks) ? f.tasks : []) {
      if (!task || task.state !== 'TASK_RUNNING' || typeof task.slave_id !== 'string') continue;
      const agentAddrs = agentIps.get(task.slave_id);
      if (agentAddrs === undefined) continue; // agent unknown to the master: mesos-dns skips these
      if (addTask(z, task, fw, agentAddrs, ipSources, warnings)) tasks++;
    }
  }
  return { frameworks, tasks };
}

// Names that have no records but have names below them (e.g. `marathon.ippc`) exist too: they
// answer NOERROR with no data, not NXDOMAIN (RFC 8020).
function emptyNonTerminals(z: ZoneBuilder): Set<string> {
  const nonTerminals = new Set<string>();
  const suffix = `.${z.domain}`;
  for (const name of z.map.keys()) {
    let n = name;
    for (;;) {
      const dot = n.indexOf('.');
      if (dot < 0) break;
      n = n.slice(dot + 1);
      if (!n.endsWith(suffix) || z.map.has(n) || nonTerminals.has(n)) break;
      nonTerminals.add(n);
    }
  }
  return nonTerminals;
}

function addTask(z: ZoneBuilder, task: MesosTask, fw: string, agentAddrs: readonly ParsedIp[], ipSources: readonly IpSource[], warnings: string[]): boolean {
  const D = z.domain;
  const discoveryName = typeof task.discovery?.name === 'string' && task.discovery.name !== '' ? task.discovery.name : undefined;
  const label = toLabel(discoveryName ?? (typeof task.name === 'string' ? task.name : ''));
  if (label === '' || typeof task.id !== 'string') {
    warnings.push(`task ${JSON.stringify(task.id)} has no usable DNS name (${JSON.stringify(discoveryName ?? task.name)}): no records`);
    return false;
  }
  const canonical = `${label}-${taskIdHash(task.id)}-${agentIdTail(task.slave_id ?? '')}`;

  const addrs = taskAddresses(task, agentAddrs, ipSources);
  for (const ip of firstOfEach(addrs.all)) {
    z.addIp(`${label}.${fw}.${D}`, ip);
    z.addIp(`${canonical}.${fw}.${D}`, ip);
  }
  for (const ip of agentAddrs) {
    z.addIp(`${label}.${fw}.agent.${D}`, ip);
    z.addIp(`${canonical}.${fw}.agent.${D}`, ip);
  }

  let ports = parsePortRanges(task.resources?.ports);
  if (ports.length > MAX_PORTS_PER_TASK) {
    warnings.push(`task ${task.id} has ${ports.length} ports: only the first ${MAX_PORTS_PER_TASK} get SRV records`);
    ports = ports.slice(0, MAX_PORTS_PER_TASK);
  }
  const agentTarget = `${canonical}.${fw}.agent.${D}`;
  for (const port of ports) {
    for (const proto of ['tcp', 'udp']) {
      z.addSrv(`_${label}._${proto}.${fw}.agent.${D}`, agentTarget, port);
      if (!discoveryName) z.addSrv(`_${label}._${proto}.${fw}.${D}`, agentTarget, port);
    }
  }

  if (discoveryName) {
    const target = `${canonical}.${fw}.${D}`;
    const dports = task.discovery?.ports?.ports;
    for (const dp of Array.isArray(dports) ? dports : []) {
      const port = dp?.number;
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) continue;
      const proto = toLabel(typeof dp.protocol === 'string' ? dp.protocol : '');
      const portName = toLabel(typeof dp.name === 'string' ? dp.name : '');
      for (const p of proto === '' ? ['tcp', 'udp'] : [proto]) {
        z.addSrv(`_${label}._${p}.${fw}.${D}`, target, port);
        if (portName !== '') z.addSrv(`_${portName}._${label}._${p}.${fw}.${D}`, target, port);
      }
    }
  }
  return true;
}
