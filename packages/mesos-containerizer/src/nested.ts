import { readlink } from 'node:fs/promises';
import { ContainerizerError } from '@ippc/core';
import { containerIdToString } from '@ippc/mesos';
import type { ContainerID } from '@ippc/proto';
import type { Container, ContainerizerContext } from './container.js';

// Nested containers (Mesos's, for the tasks of a task group): a container whose ContainerID has a
// `parent` runs inside that parent container. It shares the parent's network and UTS namespaces
// (one address and one hostname for the pod, 127.0.0.1 between its tasks) and has a process tree,
// sandbox and run directory of its own. Its string id is Mesos's `parent.child`.

/**
 * The parent a nested container is launched into, once its first process runs in its namespaces:
 * a parent still launching is waited for (a task group's nested containers are set up while the
 * executor's container joins its networks; see {@link parentRunning}). Throws
 * `CONTAINER_LAUNCH_FAILED` with Mesos's message when the parent is unknown or being destroyed,
 * and when it does not run.
 */
export async function parentFor(ctx: ContainerizerContext, parentId: ContainerID): Promise<Container & { pid: number }> {
  const id = containerIdToString(parentId);
  const parent = ctx.containersById.get(id);
  if (!parent) throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', `Parent container ${id} does not exist`);
  if (parent.pid === undefined && parent.launching) await parent.launching.started.catch(() => undefined);
  if (parent.destroying) throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', `Parent container ${id} is in 'DESTROYING' state`);
  if (parent.pid === undefined || parent.exit) throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', `Parent container ${id} is not running`);
  return parent as Container & { pid: number };
}

/**
 * Resolves once the parent's launch is done (its networks attached, its files written): a nested
 * container is isolated and let go only then, so its task never runs before the pod's address.
 */
export async function parentRunning(parent: Container): Promise<void> {
  await parent.launching?.running.catch(() => {
    throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', `Parent container ${parent.id} is not running`);
  });
  if (parent.destroying) throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', `Parent container ${parent.id} is in 'DESTROYING' state`);
  if (parent.exit) throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', `Parent container ${parent.id} is not running`);
}

/**
 * `nsenter` in front of the nested container's first process, for each of the parent's network and
 * UTS namespaces that is not the agent's own (nothing when the parent runs in the agent's, e.g. on
 * the host network). nsenter does not fork for these, so the pid stays the task's.
 */
export async function joinParentArgv(parentPid: number): Promise<string[]> {
  const flags: string[] = [];
  for (const [ns, flag] of [
    ['net', '--net'],
    ['uts', '--uts'],
  ] as const) {
    const path = `/proc/${parentPid}/ns/${ns}`;
    const [theirs, ours] = await Promise.all([readlink(path), readlink(`/proc/self/ns/${ns}`)]).catch((err: Error) => {
      throw new ContainerizerError('CONTAINER_LAUNCH_FAILED', `Cannot read the namespaces of the parent container's process ${parentPid}: ${err.message}`);
    });
    if (theirs !== ours) flags.push(`${flag}=${path}`);
  }
  return flags.length > 0 ? ['nsenter', ...flags, '--'] : [];
}

/** The nested containers whose parent is `id`. */
export function childrenOf(ctx: ContainerizerContext, id: string): Container[] {
  return [...ctx.containersById.values()].filter((c) => c.containerId.parent !== undefined && containerIdToString(c.containerId.parent) === id);
}

/** How deep a container is nested: 0 for a top-level one. */
export function depth(id: ContainerID): number {
  return id.parent ? 1 + depth(id.parent) : 0;
}
