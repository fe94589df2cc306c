import { isAbsolute, relative, resolve } from 'node:path';
import { parseIp, type Containerizer, type Logger } from '@ippc/core';
import type { DockerContainerizerOptions, HostNetwork } from '@ippc/docker-containerizer';
import { flagBool } from './cni-options.js';
import { AgentError } from '@ippc/agent';

// The built-in `docker` containerizer from the agent's flags. Mesos's: --docker_socket,
// --sandbox_directory, --docker_kill_orphans, --cgroups_enable_cfs, --executor_shutdown_grace_period.
// ippc's, for an agent that is itself a container: --docker_host_network (what HOST means),
// --docker_work_dir_host_path (where the daemon finds the sandboxes), --docker_scope,
// --docker_host_ports_via (where the daemon's published host ports are); and
// --docker_pull_images (ippc never reaches a registry unless asked).

export interface DockerFlags {
  docker_socket?: string;
  docker_host_network?: string;
  docker_host_ports_via?: string;
  docker_work_dir_host_path?: string;
  docker_scope?: string;
  docker_labels?: string;
  docker_kill_orphans?: string;
  docker_pull_images?: string;
  sandbox_directory?: string;
  cgroups_enable_cfs?: string;
}

/** `--docker_host_network`: `host` (Docker's host network) or `container:<id or name>` (the agent's own container). */
export function parseHostNetwork(value: string | undefined): HostNetwork {
  if (value === undefined || value === '' || value === 'host') return 'host';
  const m = /^container:(.+)$/.exec(value);
  if (!m) throw new AgentError('AGENT_CONFIG_INVALID', `--docker_host_network=${value}: use 'host' or 'container:<the agent's container id or name>'`);
  return { container: m[1]! };
}

/**
 * `--docker_host_ports_via=<IPv4 address>`: this agent is a container, and the daemon publishes a
 * task's host ports on its own host, which the agent reaches at this address (its gateway); the
 * agent forwards its own addresses and its localhost there, for the host ports of its BRIDGE and
 * USER tasks. Unset: none (the ports are where the daemon publishes them).
 */
export function parseHostPortsVia(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  const ip = parseIp(value);
  if (!ip || ip.family !== 4)
    throw new AgentError(
      'AGENT_CONFIG_INVALID',
      `--docker_host_ports_via=${value}: give the IPv4 address at which this agent reaches the Docker daemon's host (its container's gateway), e.g. 10.99.0.1`,
    );
  return value;
}

/**
 * `--docker_work_dir_host_path`: the daemon-side path of `--work_dir`, so the sandbox bind mount
 * names a folder the daemon can see (an agent in a container with its work dir mounted from the
 * host). `none` mounts no sandbox. Unset: the daemon sees the agent's paths as they are.
 */
export function sandboxHostPath(value: string | undefined, workDir: string): DockerContainerizerOptions['sandboxHostPath'] {
  if (value === undefined || value === '') return undefined;
  if (value === 'none') return () => undefined;
  if (!isAbsolute(value))
    throw new AgentError(
      'AGENT_CONFIG_INVALID',
      `--docker_work_dir_host_path=${value}: give an absolute path (the daemon-side folder of --work_dir) or 'none'`,
    );
  const root = resolve(workDir);
  return (sandbox) => {
    const rel = relative(root, resolve(sandbox));
    // Sandboxes live under the work dir; anything else is not mounted rather than guessed.
    return rel.startsWith('..') || isAbsolute(rel) ? undefined : resolve(value, rel);
  };
}

/** `--docker_labels=k1=v1;k2=v2`: extra labels on every container (the containerizer's `org.ippc.*` win). */
export function parseDockerLabels(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of (value ?? '')
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new AgentError('AGENT_CONFIG_INVALID', `--docker_labels: '${item}' is not key=value`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/** Options of the Docker containerizer from the agent's flags (without the client, see {@link createDockerFromFlags}). */
export function dockerContainerizerOptions(
  flags: DockerFlags,
  ctx: { workDir: string; defaultGracePeriodMs?: number; log: Logger },
): Omit<DockerContainerizerOptions, 'docker'> {
  const mapFn = sandboxHostPath(flags.docker_work_dir_host_path, ctx.workDir);
  return {
    hostNetwork: parseHostNetwork(flags.docker_host_network),
    ...(flags.docker_scope ? { scope: flags.docker_scope } : {}),
    ...(flags.docker_labels ? { labels: parseDockerLabels(flags.docker_labels) } : {}),
    ...(flags.sandbox_directory ? { mappedDirectory: flags.sandbox_directory } : {}),
    ...(mapFn ? { sandboxHostPath: mapFn } : {}),
    ...(ctx.defaultGracePeriodMs !== undefined ? { defaultGracePeriodMs: ctx.defaultGracePeriodMs } : {}),
    killOrphans: flagBool(flags.docker_kill_orphans, true),
    pullImages: flagBool(flags.docker_pull_images, false),
    cgroupsEnableCfs: flagBool(flags.cgroups_enable_cfs, false),
    logger: ctx.log,
  };
}

/** The `docker` containerizer of the agent's flags (the built-in module). Loads dockerode only when asked for. */
export async function createDockerFromFlags(flags: DockerFlags, ctx: { workDir: string; defaultGracePeriodMs?: number; log: Logger }): Promise<Containerizer> {
  const options = dockerContainerizerOptions(flags, ctx);
  const via = parseHostPortsVia(flags.docker_host_ports_via);
  const [{ createDockerContainerizer, createNftHostPortForwarder }, { default: Docker }] = await Promise.all([
    import('@ippc/docker-containerizer'),
    import('dockerode'),
  ]);
  const docker = new Docker({ socketPath: flags.docker_socket || '/var/run/docker.sock' });
  // In the agent's own network namespace: its addresses and its localhost are the ones to forward.
  const hostPorts = via ? createNftHostPortForwarder({ via, logger: ctx.log.child({ part: 'host-ports' }) }) : undefined;
  return createDockerContainerizer({ ...options, docker, ...(hostPorts ? { hostPorts } : {}) });
}
