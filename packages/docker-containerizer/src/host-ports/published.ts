import type Docker from 'dockerode';
import type { Value_Range } from '@ippc/proto';
import { normalizeHostPorts, type HostPort } from './host-port-forwarder.js';

// Which of a container's published ports to forward, read from what the daemon actually did
// (`NetworkSettings.Ports` of inspect) rather than from what was asked: `DockerInfo.port_mappings`,
// `publish` / `publish-all` parameters alike, with the host ports Docker picked for a `-p 80`.

// Docker writes a binding on every host address as 0.0.0.0 (and :: with IPv6); older daemons as ''.
const EVERY_ADDRESS = new Set(['', '0.0.0.0', '::']);

/** A binding that is not forwarded, and why (logged by the containerizer). */
export interface SkippedBinding {
  /** As Docker shows it: `<host ip>:<host port>-><container port>/<protocol>`. */
  binding: string;
  why: string;
}

export interface PublishedHostPorts {
  forward: HostPort[];
  skipped: SkippedBinding[];
}

/**
 * The host ports to forward for a container: those Docker bound on every address of its host, in
 * TCP or UDP, inside `ranges` (the task's `ports` resources: the ports the agent offered it, the
 * rule Mesos checks port mappings against, so a `publish` parameter cannot take over a port the
 * agent or another task uses). Bindings to one address only are not forwarded: the daemon's host
 * listens there alone. Undefined `ranges` (no `ports` resource) forwards nothing.
 */
export function publishedHostPorts(info: Pick<Docker.ContainerInspectInfo, 'NetworkSettings'>, ranges: readonly Value_Range[] | undefined): PublishedHostPorts {
  const forward: HostPort[] = [];
  const skipped: SkippedBinding[] = [];
  for (const [key, bindings] of Object.entries(info.NetworkSettings?.Ports ?? {})) {
    // An exposed port that is not published has `null` here.
    for (const b of bindings ?? []) {
      const binding = `${b.HostIp}:${b.HostPort}->${key}`;
      const protocol = key.split('/')[1] ?? 'tcp';
      const hostPort = Number(b.HostPort);
      if (!EVERY_ADDRESS.has(b.HostIp)) skipped.push({ binding, why: `bound to ${b.HostIp} only` });
      else if (protocol !== 'tcp' && protocol !== 'udp') skipped.push({ binding, why: `protocol ${protocol} is not forwarded` });
      else if (!Number.isInteger(hostPort) || hostPort < 1 || hostPort > 65535) skipped.push({ binding, why: 'no host port' });
      else if (!(ranges ?? []).some((r) => hostPort >= (r.begin ?? 0) && hostPort <= (r.end ?? 0)))
        skipped.push({ binding, why: `host port ${hostPort} is not in the task's ports resources` });
      else forward.push({ protocol, hostPort });
    }
  }
  return { forward: normalizeHostPorts(forward), skipped };
}
