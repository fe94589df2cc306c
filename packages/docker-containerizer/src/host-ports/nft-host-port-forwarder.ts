import { createLogger, formatIp, Mutex, parseIp, type Logger } from '@ippc/core';
import { DockerContainerizerError } from '../errors.js';
import { createCommandRunner, must, type CommandRunner } from './command.js';
import { normalizeHostPorts, type HostPort, type HostPortForwarder } from './host-port-forwarder.js';
import { hostPortsRuleset } from './ruleset.js';

// The forwarder of an agent that is a container on a network whose gateway is the daemon's host:
// one nftables table in the agent's network namespace DNATs the published ports, on the agent's
// addresses and on 127.0.0.1, to the gateway, where the daemon publishes them (see ruleset.ts).

export const DEFAULT_HOST_PORTS_TABLE = 'ippc_docker_ports';

/** Options of {@link createNftHostPortForwarder}. */
export interface NftHostPortForwarderOptions {
  /** Where the daemon's host is reachable from the agent's namespace (an agent container's gateway); IPv4. Required. */
  via: string;
  /** The nftables table (family `ip`) the forwarder owns. Default `ippc_docker_ports`. */
  table?: string;
  /** Run `nft` and `sysctl` in this network namespace (a path for `nsenter --net=`). Default: the agent's own. */
  netns?: string;
  /** Kill `nft` or `sysctl` after this long. Default 30000 ms. */
  timeoutMs?: number;
  /** How the commands run; specs pass a fake. Default: spawned, in `netns`. */
  runner?: CommandRunner;
  /** Default: a structured logger with component `docker-host-ports`. */
  logger?: Logger;
}

// Forwarding for the agent's own addresses (packets from other hosts leave again towards `via`),
// and for 127.0.0.1, whose packets the kernel otherwise never routes off the loopback.
const SYSCTLS = ['net.ipv4.ip_forward', 'net.ipv4.conf.all.route_localnet'] as const;

/**
 * Creates the nftables forwarder: `publish`, `unpublish` and `recover` rewrite the whole table with
 * `nft -f -` (one transaction, idempotent), one call at a time. The first call also turns on
 * `net.ipv4.ip_forward` and `net.ipv4.conf.all.route_localnet` where they are off, and throws
 * `DOCKER_HOST_PORTS_FAILED` if it cannot. Throws `DOCKER_OPTIONS_INVALID` for a bad `via` or `table`.
 */
export function createNftHostPortForwarder(options: NftHostPortForwarderOptions): HostPortForwarder {
  const via = parseIp(options.via ?? '');
  if (!via || via.family !== 4) {
    throw new DockerContainerizerError(
      'DOCKER_OPTIONS_INVALID',
      `host ports via '${options.via}': give the IPv4 address of the daemon's host as the agent reaches it`,
    );
  }
  const table = options.table ?? DEFAULT_HOST_PORTS_TABLE;
  if (!/^[A-Za-z][A-Za-z0-9_]{0,30}$/.test(table)) {
    throw new DockerContainerizerError('DOCKER_OPTIONS_INVALID', `host ports table '${table}': use letters, digits and _ (at most 31, a letter first)`);
  }
  const runner = options.runner ?? createCommandRunner({ netns: options.netns, timeoutMs: options.timeoutMs });
  const log = options.logger ?? createLogger({ component: 'docker-host-ports' });
  const target = formatIp(via.family, via.value);
  const desired = new Map<string, HostPort[]>();
  const mutex = new Mutex();
  let ready = false;

  // The next set, applied whole; `desired` becomes it only once the kernel took it.
  const change = (edit: (next: Map<string, HostPort[]>) => boolean) =>
    mutex.run(async () => {
      const next = new Map(desired);
      if (!edit(next)) return;
      if (!ready) {
        await enableForwarding(runner);
        ready = true;
      }
      const ports = [...next.values()].flat();
      await must(runner, `cannot forward host ports to ${target} (nftables table ip ${table})`, 'nft', ['-f', '-'], hostPortsRuleset(table, target, ports));
      desired.clear();
      for (const [id, p] of next) desired.set(id, p);
      log.debug({ table, via: target, containers: desired.size, ports: ports.length }, 'host ports forwarded');
    });

  return {
    publish: (containerId, ports) =>
      change((next) => {
        const wanted = normalizeHostPorts(ports);
        if (wanted.length > 0) next.set(containerId, wanted);
        else next.delete(containerId);
        return true;
      }),
    unpublish: (containerId) =>
      change((next) => {
        // Forgotten even if the table cannot be written now: the next write leaves its ports out.
        desired.delete(containerId);
        return next.delete(containerId);
      }),
    recover: (all) =>
      change((next) => {
        next.clear();
        for (const [id, ports] of all) if (ports.length > 0) next.set(id, normalizeHostPorts(ports));
        return true;
      }),
    published: () => new Map([...desired].map(([id, ports]) => [id, ports.map((p) => ({ ...p }))])),
  } satisfies HostPortForwarder;
}

/** Turns on the sysctls forwarding needs where they are off (an agent container has its own copy of them). */
async function enableForwarding(runner: CommandRunner): Promise<void> {
  for (const key of SYSCTLS) {
    const now = await must(runner, `cannot read ${key}`, 'sysctl', ['-n', key]);
    if (now.stdout.trim() === '1') continue;
    await must(
      runner,
      `cannot set ${key}=1, which forwarding host ports needs (run the agent with /proc/sys writable, or set the sysctl on its container)`,
      'sysctl',
      ['-w', `${key}=1`],
    );
  }
}
