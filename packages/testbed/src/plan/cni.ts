import { hostAddress, type ClusterConfig } from '../config.js';
import { PATHS } from './layout.js';

/** The default networks the agent writes itself (`--install_cni_networks`), with their plugin and IPAM. */
export const AGENT_NETWORKS: Record<string, { type: 'bridge' | 'ptp'; ipam: 'ippc-ipam' | 'host-local' }> = {
  'ippc-bridge': { type: 'bridge', ipam: 'ippc-ipam' },
  'ippc-ptp': { type: 'ptp', ipam: 'ippc-ipam' },
  'ippc-local': { type: 'bridge', ipam: 'host-local' },
};

/** A CNI network the testbed writes itself (a name or settings the agent's default networks do not cover). */
export function containerNetworkConflist(
  net: ClusterConfig['containerNetworks'][number],
  index: number,
  subnets: { ipv4: string; ipv6?: string },
): Record<string, unknown> {
  const range = (subnet: string) => ({
    subnet,
    ...(net.hostsPerAgent && !subnet.includes(':') ? { rangeStart: hostAddress(subnet, 2), rangeEnd: hostAddress(subnet, 1 + net.hostsPerAgent) } : {}),
  });
  const ranges = [[range(subnets.ipv4)], ...(subnets.ipv6 ? [[range(subnets.ipv6)]] : [])];
  const routes = [{ dst: '0.0.0.0/0' }, ...(subnets.ipv6 ? [{ dst: '::/0' }] : [])];
  const ipam =
    net.ipam === 'ippc-ipam'
      ? {
          type: 'ippc-ipam',
          ranges,
          routes,
          daemonSocket: PATHS.ipamSocket,
          ...(net.cooldownSeconds !== undefined ? { cooldownSeconds: net.cooldownSeconds } : {}),
        }
      : { type: 'host-local', ranges, routes, dataDir: `${PATHS.agentWorkDir}/cni/networks` };
  // ipMasq off: containers keep their own source address across agents (groups are enforced by it).
  const main =
    net.type === 'bridge'
      ? { type: 'bridge', bridge: `ippcn${index}`, isGateway: true, ipMasq: false, hairpinMode: true, ipam }
      : { type: 'ptp', ipMasq: false, mtu: 1500, ipam };
  return {
    cniVersion: '1.0.0',
    name: net.name,
    plugins: [main, { type: 'ippc-isolation', socket: PATHS.isolationSocket }, { type: 'portmap', capabilities: { portMappings: true }, snat: true }],
  };
}
