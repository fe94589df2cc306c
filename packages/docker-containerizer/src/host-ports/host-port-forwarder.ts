// The seam between the Docker containerizer and whatever makes the host ports Docker publishes
// reachable where the agent is. The daemon binds a container's published ports on its own host;
// when the agent is itself a container driving that daemon through its socket, the agent's own
// addresses and its localhost are elsewhere, and something has to carry the ports there.

/** One host port Docker published for a container, on every address of the daemon's host. */
export interface HostPort {
  protocol: 'tcp' | 'udp';
  hostPort: number;
}

/**
 * Makes published host ports reachable at the agent's addresses and its localhost. One desired set
 * per container; every call applies the whole set, so a call that fails changes nothing and the
 * next one that succeeds heals whatever an earlier failure left. Calls run one at a time, in order.
 */
export interface HostPortForwarder {
  /**
   * Forwards the container's `ports` (replacing what it had); resolves once they are reachable.
   * Throws `DockerContainerizerError` `DOCKER_HOST_PORTS_FAILED` when they cannot be forwarded, and
   * then nothing of this call is left.
   */
  publish(containerId: string, ports: readonly HostPort[]): Promise<void>;
  /** Stops forwarding the container's ports. Idempotent; throws like `publish` when the rules cannot be applied. */
  unpublish(containerId: string): Promise<void>;
  /**
   * Replaces everything forwarded by `all`, the ports of the containers an agent recovered: ports of
   * containers that went away while no agent ran are no longer forwarded. Throws like `publish`.
   */
  recover(all: ReadonlyMap<string, readonly HostPort[]>): Promise<void>;
  /** What is forwarded now, by container id. */
  published(): Map<string, HostPort[]>;
}

/** `tcp` before `udp`, then by port: the order every set is kept and written in. */
export function compareHostPorts(a: HostPort, b: HostPort): number {
  return a.protocol === b.protocol ? a.hostPort - b.hostPort : a.protocol < b.protocol ? -1 : 1;
}

/** Sorted, each protocol and port once. */
export function normalizeHostPorts(ports: Iterable<HostPort>): HostPort[] {
  const seen = new Map<string, HostPort>();
  for (const p of ports) seen.set(`${p.protocol}/${p.hostPort}`, { protocol: p.protocol, hostPort: p.hostPort });
  return [...seen.values()].sort(compareHostPorts);
}
