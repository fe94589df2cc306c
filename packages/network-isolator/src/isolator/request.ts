import { networkInfoToMesosJson } from '@ippc/mesos';
import type { NetworkInfo } from '@ippc/proto';
import { NetworkIsolatorError } from '../errors.js';

// What CNI is given for a NetworkInfo: the capability arguments, and the checks prepare() makes
// before anything exists.

/** Largest NetworkInfo (as Mesos JSON) passed to plugins: well under the 1 MiB a CNI daemon reads per request. */
export const MAX_NETWORK_INFO_BYTES = 256 * 1024;

/** Labels of a NetworkInfo read as the `bandwidth` capability (bits per second and bits, as the bandwidth plugin takes them). */
export const BANDWIDTH_LABELS = {
  ingressRate: 'org.ippc.bandwidth.ingressRate',
  ingressBurst: 'org.ippc.bandwidth.ingressBurst',
  egressRate: 'org.ippc.bandwidth.egressRate',
  egressBurst: 'org.ippc.bandwidth.egressBurst',
} as const;

/** The capability arguments a NetworkInfo asks for: `portMappings`, `ips`, `bandwidth`. */
export function capabilityArgsFor(info: NetworkInfo): Record<string, unknown> {
  const caps: Record<string, unknown> = {};
  if (info.portMappings.length > 0) {
    caps.portMappings = info.portMappings.map((pm) => ({
      hostPort: pm.hostPort,
      containerPort: pm.containerPort,
      protocol: (pm.protocol ?? 'tcp').toLowerCase(),
    }));
  }
  const ips = info.ipAddresses.map((ip) => ip.ipAddress).filter((ip): ip is string => typeof ip === 'string' && ip !== '');
  if (ips.length > 0) caps.ips = ips;
  const bandwidth: Record<string, number> = {};
  for (const [key, label] of Object.entries(BANDWIDTH_LABELS)) {
    const value = info.labels?.labels.find((l) => l.key === label)?.value;
    if (value !== undefined && value !== '' && Number.isFinite(Number(value))) bandwidth[key] = Number(value);
  }
  if (Object.keys(bandwidth).length > 0) caps.bandwidth = bandwidth;
  return caps;
}

/**
 * Checks what CNI will be given for a NetworkInfo, so bad input fails at prepare with a clear
 * message instead of half-way through an ADD (Mesos does not check these: they only reach plugins).
 */
export function validateRequest(info: NetworkInfo): void {
  // The NetworkInfo travels inside every ADD and DEL (args.org.apache.mesos.network_info): one that
  // a plugin's daemon refuses as too large would fail its DEL as well, and the checkpoint could
  // never be cleaned. Refuse it here, before anything exists.
  const size = Buffer.byteLength(JSON.stringify(networkInfoToMesosJson(info)));
  if (size > MAX_NETWORK_INFO_BYTES) {
    throw new NetworkIsolatorError(
      'CNI_INVALID_REQUEST',
      `The NetworkInfo of CNI network '${info.name}' is ${size} bytes; at most ${MAX_NETWORK_INFO_BYTES} bytes fit in a CNI request: shorten its labels`,
    );
  }
  for (const [key, label] of Object.entries(BANDWIDTH_LABELS)) {
    const value = info.labels?.labels.find((l) => l.key === label)?.value;
    if (value !== undefined && !/^\d+$/.test(value)) {
      throw new NetworkIsolatorError(
        'CNI_INVALID_REQUEST',
        `Invalid value '${value}' of label '${label}' on CNI network '${info.name}': ${key} must be a non-negative integer (bits per second for rates, bits for bursts)`,
      );
    }
  }
  for (const pm of info.portMappings) {
    const ok = (p: number | undefined) => p !== undefined && Number.isInteger(p) && p >= 1 && p <= 65535;
    if (!ok(pm.hostPort) || !ok(pm.containerPort)) {
      throw new NetworkIsolatorError(
        'CNI_INVALID_REQUEST',
        `Invalid port mapping ${pm.hostPort}:${pm.containerPort} on CNI network '${info.name}': host_port and container_port must be between 1 and 65535`,
      );
    }
    if (pm.protocol !== undefined && !['tcp', 'udp', 'sctp'].includes(pm.protocol.toLowerCase())) {
      throw new NetworkIsolatorError(
        'CNI_INVALID_REQUEST',
        `Invalid protocol '${pm.protocol}' of port mapping ${pm.hostPort}:${pm.containerPort} on CNI network '${info.name}': use tcp, udp or sctp`,
      );
    }
  }
}
