import type Docker from 'dockerode';
import { GenericContainer } from 'testcontainers';
import { execIn } from '../../../docker-exec.js';
import { TestbedError } from '../../../errors.js';
import { LABEL } from '../../../labels.js';
import type { NodeSpec } from '../../../plan/types.js';
import { MOUNT } from '../../../workspace.js';

/** A node container: the node image (tini is PID 1), a fixed address, the workspace read-only. */
class NodeContainer extends GenericContainer {
  withAddress(network: string, address: string, address6?: string): this {
    this.networkMode = network;
    this.createOpts.NetworkingConfig = {
      EndpointsConfig: { [network]: { IPAMConfig: { IPv4Address: address, ...(address6 ? { IPv6Address: address6 } : {}) } } },
    };
    return this;
  }

  withReadonlyPaths(paths: string[]): this {
    (this.hostConfig as { ReadonlyPaths?: string[] }).ReadonlyPaths = paths;
    return this;
  }

  withNamedVolumes(volumes: { name: string; target: string }[]): this {
    this.hostConfig.Mounts = [...(this.hostConfig.Mounts ?? []), ...volumes.map((v) => ({ Type: 'volume' as const, Source: v.name, Target: v.target }))];
    return this;
  }

  withSysctls(sysctls: Record<string, string>): this {
    this.hostConfig.Sysctls = { ...this.hostConfig.Sysctls, ...sysctls };
    return this;
  }
}

/** Creates the node's volumes and starts its container (its daemons start afterwards), then sets its routes; resolves with the container id. */
export async function startContainer(
  docker: Docker,
  spec: NodeSpec,
  ctx: { image: string; workspaceDir: string; token: string | undefined; networkName: string },
): Promise<string> {
  // Named volumes carry the node's labels, so teardown and the reaper find them like the containers.
  await Promise.all(spec.volumes.map((v) => docker.createVolume({ Name: v.name, Labels: { ...spec.labels, [LABEL.role]: 'volume' } })));
  let c = new NodeContainer(ctx.image)
    .withName(spec.name)
    .withHostname(spec.name)
    .withLabels(spec.labels)
    .withAddress(ctx.networkName, spec.address, spec.address6)
    .withBindMounts([
      { source: ctx.workspaceDir, target: MOUNT, mode: 'ro' },
      ...(spec.privileged ? [{ source: '/var/run/docker.sock', target: '/var/run/docker.sock', mode: 'rw' as const }] : []),
    ])
    .withEnvironment({ ...(ctx.token ? { IPPC_TOKEN: ctx.token } : {}), IPPC_NODE: spec.name })
    .withCommand(['sleep', 'infinity']);
  if (spec.volumes.length) c = c.withNamedVolumes(spec.volumes);
  if (spec.capabilities.length) c = c.withAddedCapabilities(...spec.capabilities);
  if (spec.privileged) {
    // /proc/sys writable (Docker's default read-only paths without it): the Mesos containerizer
    // sets a task's hostname in the task's own UTS namespace through /proc/sys/kernel/hostname.
    c.withReadonlyPaths(['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sysrq-trigger']);
    c = c.withSysctls({
      'net.ipv4.ip_forward': '1',
      'net.ipv6.conf.all.disable_ipv6': '0',
      'net.ipv6.conf.all.forwarding': '1',
      'net.bridge.bridge-nf-call-iptables': '1',
      'net.bridge.bridge-nf-call-ip6tables': '1',
    });
  }
  if (spec.files.length) c = c.withCopyContentToContainer(spec.files.map((f) => ({ content: f.content, target: f.path })));
  let id: string;
  try {
    id = (await c.start()).getId();
  } catch (err) {
    throw new TestbedError('TESTBED_START_FAILED', `container ${spec.name} did not start: ${(err as Error).message}`, { cause: err });
  }
  // Before the routes: joining a network may move the default route (see NodeSpec.dockerNetworks).
  for (const network of spec.dockerNetworks ?? []) {
    try {
      await docker.getNetwork(network).connect({ Container: id });
    } catch (err) {
      throw new TestbedError('TESTBED_START_FAILED', `${spec.name} cannot join Docker network ${network}: ${(err as Error).message}`, { cause: err });
    }
  }
  if (spec.routes.length) {
    const script = spec.routes.map((r) => `ip route replace ${r.dst} via ${r.via}`).join(' && ');
    const r = await execIn(docker, id, ['sh', '-ec', script]);
    if (r.exitCode !== 0) throw new TestbedError('TESTBED_START_FAILED', `routes in ${spec.name} failed: ${r.stderr.trim()}`);
  }
  return id;
}
