import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseCidr, writeAtomic } from '@ippc/core';
import { renderNetworkTemplates } from '@ippc/network-isolator';
import { AgentError } from '@ippc/agent';

// The default networks of an ippc node (templates of @ippc/network-isolator, `networks/`), written
// into the agent's config folder with this agent's values: its subnets (IPv4, optionally IPv6),
// bridge names, the IPAM daemon's socket, and `ippc-isolation` chained in when the agent runs the
// isolation node daemon.

/** The template networks and the variable holding each one's subnet. */
export const DEFAULT_NETWORKS = {
  'ippc-bridge': 'BRIDGE_SUBNET',
  'ippc-ptp': 'PTP_SUBNET',
  'ippc-local': 'LOCAL_SUBNET',
} as const;

export type DefaultNetworkName = keyof typeof DEFAULT_NETWORKS;

export interface DefaultNetworksOptions {
  /** The agent's `--network_cni_config_dir`. Created if missing. */
  configDir: string;
  /**
   * The networks to write, each with this agent's subnets: the first is the template's (IPv4 or
   * IPv6), each further one becomes another range set (one more address per container, e.g. an
   * IPv6 one) with a default route of its family. Networks not named are not written.
   */
  subnets: Partial<Record<DefaultNetworkName, string[]>>;
  /** `ipam.daemonSocket` of the ippc-ipam networks. Default `/run/ippc/ipam.sock`. */
  ipamSocket?: string;
  /** When set, `{"type": "ippc-isolation", "socket": <this>}` is chained after the interface plugin of every network written. */
  isolationSocket?: string;
  /** Linux bridge of `ippc-bridge`. Default `ippc0`. */
  bridgeName?: string;
  /** Linux bridge of `ippc-local`. Default `ippc1`. */
  localBridgeName?: string;
  /** host-local's store of `ippc-local`. Default `/var/lib/cni/networks`. */
  localDataDir?: string;
}

/**
 * Parses `--install_cni_networks`: `ippc-bridge=10.236.1.0/24,fd10:236:1::/64;ippc-ptp=10.236.2.0/24`.
 * Throws `AGENT_CONFIG_INVALID` naming what is wrong.
 */
export function parseNetworkSubnets(text: string): Partial<Record<DefaultNetworkName, string[]>> {
  const out: Partial<Record<DefaultNetworkName, string[]>> = {};
  for (const item of text
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = item.indexOf('=');
    const name = (eq < 0 ? item : item.slice(0, eq)).trim();
    if (!(name in DEFAULT_NETWORKS)) {
      throw new AgentError(
        'AGENT_CONFIG_INVALID',
        `--install_cni_networks: unknown network '${name}'; the default networks are ${Object.keys(DEFAULT_NETWORKS).join(', ')}`,
      );
    }
    const subnets =
      eq < 0
        ? []
        : item
            .slice(eq + 1)
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean);
    if (subnets.length === 0)
      throw new AgentError('AGENT_CONFIG_INVALID', `--install_cni_networks: give ${name} a subnet of this agent, e.g. ${name}=10.236.1.0/24`);
    for (const s of subnets)
      if (!parseCidr(s))
        throw new AgentError('AGENT_CONFIG_INVALID', `--install_cni_networks: '${s}' (${name}) is not a subnet in CIDR form, e.g. 10.236.1.0/24`);
    if (out[name as DefaultNetworkName]) throw new AgentError('AGENT_CONFIG_INVALID', `--install_cni_networks: ${name} is named twice`);
    out[name as DefaultNetworkName] = subnets;
  }
  return out;
}

/**
 * Writes the default networks with this agent's values into `configDir` (atomically per file, so a
 * running isolator never reads half a file) and returns the written paths. Idempotent.
 */
export async function installDefaultNetworks(options: DefaultNetworksOptions): Promise<string[]> {
  const names = Object.keys(options.subnets) as DefaultNetworkName[];
  if (names.length === 0) return [];
  const variables: Record<string, string> = {
    ...(options.ipamSocket ? { IPAM_SOCKET: options.ipamSocket } : {}),
    ...(options.bridgeName ? { BRIDGE_NAME: options.bridgeName } : {}),
    ...(options.localBridgeName ? { LOCAL_BRIDGE_NAME: options.localBridgeName } : {}),
    ...(options.localDataDir ? { LOCAL_DATA_DIR: options.localDataDir } : {}),
  };
  for (const name of names) variables[DEFAULT_NETWORKS[name]] = options.subnets[name]![0]!;
  await mkdir(options.configDir, { recursive: true });
  // Rendered beside the config folder (same file system), adjusted, then renamed into it.
  const scratch = await mkdtemp(join(dirname(options.configDir), '.ippc-networks-'));
  const written: string[] = [];
  try {
    const rendered = await renderNetworkTemplates({ outDir: scratch, variables, only: names.map((n) => `${n}.conflist`) });
    for (const file of rendered) {
      const conf = JSON.parse(await readFile(file, 'utf8')) as { name: DefaultNetworkName; plugins: Array<Record<string, unknown>> };
      const first = conf.plugins[0]!;
      const ipam = first.ipam as { ranges: Array<Array<{ subnet: string }>>; routes?: Array<{ dst: string }> };
      const subnets = options.subnets[conf.name]!;
      for (const extra of subnets.slice(1)) ipam.ranges.push([{ subnet: extra }]);
      const routes = (ipam.routes ??= []);
      for (const family of new Set(subnets.map((s) => (s.includes(':') ? 6 : 4)))) {
        const dst = family === 6 ? '::/0' : '0.0.0.0/0';
        if (!routes.some((r) => r.dst === dst)) routes.push({ dst });
      }
      if (subnets[0]!.includes(':')) ipam.routes = routes.filter((r) => r.dst !== '0.0.0.0/0' || subnets.some((s) => !s.includes(':')));
      if (options.isolationSocket) conf.plugins.splice(1, 0, { type: 'ippc-isolation', socket: options.isolationSocket });
      const out = join(options.configDir, `${conf.name}.conflist`);
      await writeAtomic(out, JSON.stringify(conf, null, 2) + '\n');
      written.push(out);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return written;
}
