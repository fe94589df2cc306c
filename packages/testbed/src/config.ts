import { status } from '@grpc/grpc-js';
import { IppcError, cidrSize, cidrsOverlap, formatCidr, formatIp, nthAddress, nthSubnet, parseCidr } from '@ippc/core';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/**
 * The declarative cluster file (`ippc cluster up --config FILE`), versioned like kind's: an
 * external type with `apiVersion`/`kind`, defaults compiled in, then validated in one step.
 * Unknown fields are errors, so a typo never silently falls back to a default.
 *
 * ```yaml
 * apiVersion: ippc.dev/v1alpha1
 * kind: Cluster
 * name: demo
 * agents: 3
 * ```
 */
export const API_VERSION = 'ippc.dev/v1alpha1';

const cidr4 = z.string().regex(/^(\d{1,3}\.){3}\d{1,3}\/(\d|[12]\d|3[0-2])$/, 'must be an IPv4 CIDR like 10.99.0.0/24');
const cidr6 = z.string().regex(/^[0-9a-fA-F:]+\/(\d{1,3})$/, 'must be an IPv6 CIDR like fd99::/64');
const portRange = z.string().regex(/^\d{1,5}-\d{1,5}$/, 'must be a port range like 35000-35999');
const duration = z.string().regex(/^\d+(\.\d+)?(ns|us|ms|secs|sec|s|mins|min|hrs|hr|days|weeks)$/, 'must be a duration like 250ms or 1secs');
const dnsLabel = z.string().regex(/^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/, 'must be a DNS label: lower-case letters, digits and dashes, up to 32');

export const ClusterConfigSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('Cluster'),
  /** Names the cluster's containers and network (`ippc-<name>-...`); `ippc cluster` finds it by name. */
  name: dnsLabel.default('ippc'),
  /** Number of agents. */
  agents: z.number().int().min(1).max(16).default(2),
  /** The cluster network the master, agents and services share (a Docker bridge network). */
  network: z
    .strictObject({
      subnet: cidr4.default('10.99.0.0/24'),
      ipv6Subnet: cidr6.optional(),
    })
    .prefault({}),
  /**
   * Container networks, one CNI network each on every agent. Each `cidr` is split into one /24 per
   * agent (agent i gets the i-th), so every agent routes its own subnet and the isolation provider
   * installs routes to the others'.
   */
  containerNetworks: z
    .array(
      z.strictObject({
        name: dnsLabel,
        type: z.enum(['bridge', 'ptp']),
        ipam: z.enum(['ippc-ipam', 'host-local']).default('ippc-ipam'),
        cidr: cidr4,
        /** Split into one /64 per agent (agent i gets the i-th); the cidr must be /56 or wider, written as its network address. */
        ipv6Cidr: cidr6.optional(),
        /**
         * Addresses each agent may hand out from its /24 (from .2 on; default all: .2-.254). A small
         * pool makes recycling and exhaustion easy to see.
         */
        hostsPerAgent: z.number().int().min(1).max(253).optional(),
        /** This network's cool-down before a released address is picked again (ippc-ipam only; default: `ipam.cooldownSeconds`). */
        cooldownSeconds: z.number().int().min(0).max(3600).optional(),
      }),
    )
    .default([
      { name: 'ippc-bridge', type: 'bridge', ipam: 'ippc-ipam', cidr: '10.100.0.0/16' },
      { name: 'ippc-ptp', type: 'ptp', ipam: 'ippc-ipam', cidr: '10.101.0.0/16' },
      { name: 'ippc-local', type: 'bridge', ipam: 'host-local', cidr: '10.102.0.0/16' },
    ]),
  agent: z
    .strictObject({
      /** Mesos `--resources` syntax, without `ports` (those come from `ports`). */
      resources: z
        .string()
        .default('cpus:4;mem:4096')
        .refine((s) => !/(^|;)\s*ports\s*:/.test(s), 'ports are given by agent.ports, not in resources'),
      /**
       * The host ports the agents offer, `FIRST-LAST`, split evenly between the agents (agent i gets
       * the i-th slice). Docker BRIDGE/USER port mappings bind them on the machine, so two agents
       * (or two clusters) must never share one.
       */
      ports: portRange.default('35500-35999'),
      /** Tried in order, as Mesos's `--containerizers`. */
      containerizers: z
        .array(z.enum(['docker', 'mesos']))
        .min(1)
        .default(['docker', 'mesos']),
    })
    .prefault({}),
  master: z
    .strictObject({
      /**
       * How often the allocator makes offers (Mesos's `--allocation_interval`, default there 1secs);
       * shorter here so a test cluster launches quickly.
       */
      allocationInterval: duration.default('250ms'),
    })
    .prefault({}),
  ipam: z
    .strictObject({
      /** Seconds a released address cools down before anyone else gets it (the IPAM's default is 30). */
      cooldownSeconds: z.number().int().min(0).max(3600).default(30),
    })
    .prefault({}),
  /** Docker user-defined networks created with the cluster, for Docker USER-mode tasks. */
  dockerNetworks: z
    .array(z.strictObject({ name: dnsLabel, subnet: cidr4, ipv6Subnet: cidr6.optional() }))
    .default([{ name: 'ippc-user', subnet: '10.103.0.0/24' }]),
  dns: z.strictObject({ domain: dnsLabel.default('ippc') }).prefault({}),
  /** Shared secret of the cluster's components. Default: a random one per cluster. */
  auth: z.strictObject({ token: z.string().min(16).optional(), disabled: z.boolean().default(false) }).prefault({}),
});

export type ClusterConfig = z.output<typeof ClusterConfigSchema>;
/** The cluster file as written: every field optional (`apiVersion` and `kind` too, in code). */
export type ClusterConfigInput = Omit<z.input<typeof ClusterConfigSchema>, 'apiVersion' | 'kind'> & { apiVersion?: typeof API_VERSION; kind?: 'Cluster' };

export class ConfigError extends IppcError<'CONFIG_INVALID'> {
  constructor(message: string, details?: Record<string, unknown>) {
    super('CONFIG_INVALID', status.INVALID_ARGUMENT, message, { details });
    this.name = 'ConfigError';
  }
}

/** Defaults, then validation: every problem at once, each with its path. */
export function compileConfig(input: unknown, source = 'cluster config'): ClusterConfig {
  const withVersion = input && typeof input === 'object' && !Array.isArray(input) ? { apiVersion: API_VERSION, kind: 'Cluster', ...input } : input;
  const result = ClusterConfigSchema.safeParse(withVersion);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`);
    throw new ConfigError(`${source} is invalid:\n- ${problems.join('\n- ')}`, { problems });
  }
  checkOverlaps(result.data, source);
  return result.data;
}

/** Parses a YAML (or JSON) cluster file. */
export function parseConfigFile(text: string, source = 'cluster file'): ClusterConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${source} is not valid YAML: ${(err as Error).message}`);
  }
  if (raw && typeof raw === 'object' && !('apiVersion' in raw)) throw new ConfigError(`${source}: apiVersion is missing (expected ${API_VERSION})`);
  return compileConfig(raw ?? {}, source);
}

function checkOverlaps(config: ClusterConfig, source: string): void {
  const named: [string, string][] = [
    ['network.subnet', config.network.subnet],
    ...config.containerNetworks.map((n, i) => [`containerNetworks[${i}] (${n.name})`, n.cidr] as [string, string]),
    ...config.dockerNetworks.map((n, i) => [`dockerNetworks[${i}] (${n.name})`, n.subnet] as [string, string]),
  ];
  const cidrs = named.map(([, text]) => {
    const cidr = parseCidr(text);
    if (!cidr) throw new ConfigError(`${source}: ${text} is not an IPv4 address`);
    return cidr;
  });
  for (let i = 0; i < named.length; i++) {
    for (let j = i + 1; j < named.length; j++) {
      if (cidrsOverlap(cidrs[i]!, cidrs[j]!)) throw new ConfigError(`${source}: ${named[i]![0]} ${named[i]![1]} overlaps ${named[j]![0]} ${named[j]![1]}`);
    }
  }
  for (const n of config.containerNetworks) {
    if (n.cooldownSeconds !== undefined && n.ipam !== 'ippc-ipam') {
      throw new ConfigError(`${source}: containerNetworks ${n.name}: cooldownSeconds needs ipam ippc-ipam (host-local has no cool-down)`);
    }
    if (!nthSubnet(parseCidr(n.cidr)!, 24, config.agents - 1)) {
      throw new ConfigError(`${source}: containerNetworks ${n.name} ${n.cidr} cannot give each of ${config.agents} agents a /24; use a wider cidr`);
    }
  }
  const size = Number(cidrSize(cidrs[0]!));
  // .1 gateway, .2-.5 master and services, agents from .11 (see plan/layout.ts), broadcast last.
  if (11 + config.agents > size - 1)
    throw new ConfigError(
      `${source}: network.subnet ${config.network.subnet} is too small for ${config.agents} agents (agents start at .11); use a /27 or wider`,
    );
  const [first, last] = config.agent.ports.split('-').map(Number) as [number, number];
  if (first < 1024 || last > 65535 || first > last)
    throw new ConfigError(`${source}: agent.ports ${config.agent.ports} must be a range inside 1024-65535, first <= last`);
  if (last - first + 1 < config.agents) throw new ConfigError(`${source}: agent.ports ${config.agent.ports} has fewer ports than the ${config.agents} agents`);
  checkIpv6(config, source);
  const names = config.containerNetworks.map((n) => n.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new ConfigError(`${source}: containerNetworks has '${dup}' twice`);
}

/**
 * The IPv6 CIDRs: each must be one; the nodes' addresses must fit in `network.ipv6Subnet`; each
 * `ipv6Cidr` holds one /64 per agent and is written as its network address, so no agent's /64
 * lands outside it (they were once counted from the written address and wrapped round).
 */
function checkIpv6(config: ClusterConfig, source: string): void {
  const ipv6 = (where: string, text: string) => {
    const cidr = parseCidr(text);
    if (cidr?.family !== 6) throw new ConfigError(`${source}: ${where} ${text} is not an IPv6 CIDR`);
    return cidr;
  };
  for (const n of config.dockerNetworks) if (n.ipv6Subnet) ipv6(`dockerNetworks ${n.name} ipv6Subnet`, n.ipv6Subnet);
  const subnet6 = config.network.ipv6Subnet;
  // Agents from ::b, as on the IPv4 subnet (see plan/layout.ts).
  if (subnet6 && !nthAddress(ipv6('network.ipv6Subnet', subnet6), 10 + config.agents)) {
    throw new ConfigError(`${source}: network.ipv6Subnet ${subnet6} is too small for ${config.agents} agents (agents start at ::b); use a /64`);
  }
  for (const n of config.containerNetworks) {
    if (!n.ipv6Cidr) continue;
    const cidr = ipv6(`containerNetworks ${n.name} ipv6Cidr`, n.ipv6Cidr);
    if (cidr.prefixLength > 56) throw new ConfigError(`${source}: containerNetworks ${n.name} ipv6Cidr ${n.ipv6Cidr} must be /56 or wider (one /64 per agent)`);
    if (cidr.hostBitsSet)
      throw new ConfigError(`${source}: containerNetworks ${n.name} ipv6Cidr ${n.ipv6Cidr} has host bits set: did you mean ${formatCidr(cidr)}?`);
  }
}

/** The /24 of agent `index` inside a network's `cidr` (agent 0 gets the first). */
export function agentSubnet(cidr: string, index: number): string {
  return agentSubnetOf(cidr, 24, index);
}

/** The address of host number `host` (1 = first usable) in a subnet; a ConfigError when it is outside it. */
export function hostAddress(cidr: string, host: number): string {
  const parsed = parseCidr(cidr);
  const address = parsed && nthAddress(parsed, host);
  if (!address) throw new ConfigError(`${cidr} has no host ${host}: give it a wider subnet`);
  return formatIp(address.family, address.value);
}

/** The address of host number `host` in an IPv6 subnet: {@link hostAddress}, for the IPv6 side of a node. */
export function hostAddress6(cidr: string, host: number): string {
  return hostAddress(cidr, host);
}

/** The `ports` range text (Mesos syntax) agent `index` offers: its slice of `agent.ports`. */
export function agentPorts(config: ClusterConfig, index: number): { first: number; last: number; text: string } {
  const [first, last] = config.agent.ports.split('-').map(Number) as [number, number];
  const size = Math.floor((last - first + 1) / config.agents);
  const a = first + index * size;
  const b = a + size - 1;
  return { first: a, last: b, text: `[${a}-${b}]` };
}

/** The /64 of agent `index` inside an IPv6 cidr of /56 or wider (agent 0 gets the first). */
export function agentSubnet6(cidr: string, index: number): string {
  return agentSubnetOf(cidr, 64, index);
}

/** The `index`-th subnet of length `prefixLength` in `cidr`; a ConfigError when it has none (never another one's). */
function agentSubnetOf(cidr: string, prefixLength: number, index: number): string {
  const parsed = parseCidr(cidr);
  const subnet = parsed && nthSubnet(parsed, prefixLength, index);
  if (!subnet) throw new ConfigError(`${cidr} has no /${prefixLength} for agent ${index}: give it a wider cidr`);
  return formatCidr(subnet);
}
