import type Docker from 'dockerode';
import { messageOf } from '@ippc/core';
import { TaskState, TaskStatus_Reason, type Resource } from '@ippc/proto';
import type { HostPort } from '../host-ports/host-port-forwarder.js';
import { publishedHostPorts } from '../host-ports/published.js';
import { portRanges } from '../run-options.js';
import type { DockerContext, Entry } from './context.js';
import { stopContainer } from './destroy.js';

// The containerizer's side of host port forwarding (with a `hostPorts` forwarder): what Docker
// published for a started container is forwarded before TASK_RUNNING, so a task is never
// reported running before it is reachable where the framework will look for it; forwarding ends
// when the container is gone; a recovering agent rewrites it from the containers it found.

const show = (ports: HostPort[]) => ports.map((p) => `${p.hostPort}/${p.protocol}`).join(', ');

/** The ports to forward for a container, warning about the published ones that will not be. */
function portsToForward(ctx: DockerContext, entry: Entry, inspected: Docker.ContainerInspectInfo, resources: Resource[]): HostPort[] {
  const { forward, skipped } = publishedHostPorts(inspected, portRanges(resources));
  if (skipped.length > 0) ctx.log.warn({ containerId: entry.id, skipped }, "published ports not forwarded to the agent's addresses");
  return forward;
}

/**
 * Forwards the container's published host ports; true when done (or nothing to do). False when they
 * cannot be forwarded: the task then fails (`Failed to forward host ports ...`) as soon as the
 * container, stopped here, has exited and been removed, and nothing is left forwarded.
 */
export async function forwardHostPorts(ctx: DockerContext, entry: Entry, inspected: Docker.ContainerInspectInfo, resources: Resource[]): Promise<boolean> {
  const forwarder = ctx.hostPorts;
  if (!forwarder) return true;
  const ports = portsToForward(ctx, entry, inspected, resources);
  if (ports.length === 0) return true;
  // Before asking: an exit racing this call then takes the ports back after it (one call at a time).
  entry.hostPorts = ports;
  try {
    await forwarder.publish(entry.id, ports);
    ctx.log.info({ containerId: entry.id, hostPorts: show(ports) }, "host ports forwarded to the agent's addresses");
    return true;
  } catch (err) {
    const message = `Failed to forward host ports ${show(ports)} to the agent's addresses: ${messageOf(err)}`;
    ctx.log.error({ containerId: entry.id, err }, 'cannot forward host ports; the task fails');
    entry.failure = { state: TaskState.TASK_FAILED, reason: TaskStatus_Reason.REASON_CONTAINER_LAUNCH_FAILED, message };
    entry.stopping ??= stopContainer(ctx, entry, 0);
    return false;
  }
}

/** Stops forwarding a container's host ports (its container is gone). Never throws. */
export async function stopForwarding(ctx: DockerContext, entry: Entry): Promise<void> {
  if (!ctx.hostPorts || !entry.hostPorts) return;
  entry.hostPorts = undefined;
  try {
    await ctx.hostPorts.unpublish(entry.id);
  } catch (err) {
    // The ports are forgotten anyway: the forwarder's next write leaves them out.
    ctx.log.error({ containerId: entry.id, err: messageOf(err) }, 'cannot stop forwarding host ports');
  }
}

/** During recovery, before its watch starts: the ports a running container found on the daemon publishes. */
export function noteHostPorts(ctx: DockerContext, entry: Entry, inspected: Docker.ContainerInspectInfo, resources: Resource[]): void {
  if (!ctx.hostPorts) return;
  const ports = portsToForward(ctx, entry, inspected, resources);
  if (ports.length > 0) entry.hostPorts = ports;
}

/**
 * After recovery: forwards exactly the ports of the recovered containers still running (those
 * {@link noteHostPorts} saw and no exit took back since), dropping those of containers that went
 * away while no agent ran. Throws the forwarder's error: an agent that cannot forward stops at
 * start rather than running tasks nobody reaches.
 */
export async function recoverHostPorts(ctx: DockerContext, recovered: Entry[]): Promise<void> {
  if (!ctx.hostPorts) return;
  const all = new Map<string, HostPort[]>();
  for (const entry of recovered) if (entry.hostPorts) all.set(entry.id, entry.hostPorts);
  await ctx.hostPorts.recover(all);
  if (all.size > 0) ctx.log.info({ containers: all.size }, "host ports of recovered containers forwarded to the agent's addresses");
}
