import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomicSync, type LaunchSpec } from '@ippc/core';
import { ContainerID, ContainerInfo, ExecutorInfo } from '@ippc/proto';

// The per-container checkpoint, `<runtimeDir>/containers/<id>/` (a nested container's under its
// parent's, `<runtimeDir>/containers/<parent>/containers/<child>/`, Mesos's runtime layout):
// `config.json` (below) and `pid` written at launch, `started` once the task was let go; the
// supervisor writes `supervised` and `status` (see supervisor.ts).

/** `config.json`: what the container was launched with, as protobuf JSON. */
export interface Checkpoint {
  containerId: unknown;
  executor: unknown;
  containerInfo?: unknown;
  sandboxDirectory: string;
}

export async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Writes `config.json` of a container being launched. */
export async function checkpointConfig(runDir: string, spec: LaunchSpec): Promise<void> {
  const checkpoint: Checkpoint = {
    containerId: ContainerID.toJSON(spec.containerId),
    executor: ExecutorInfo.toJSON(spec.executor),
    ...(spec.containerInfo ? { containerInfo: ContainerInfo.toJSON(spec.containerInfo) } : {}),
    sandboxDirectory: spec.sandboxDirectory,
  };
  // Synchronous: a small file on the launch path (see writeAtomicSync).
  writeAtomicSync(join(runDir, 'config.json'), JSON.stringify(checkpoint));
}

/** A container's run directory under `root` (`<runtimeDir>/containers`); a nested one's is inside its parent's. */
export function runDirOf(root: string, id: ContainerID): string {
  return id.parent ? join(runDirOf(root, id.parent), 'containers', id.value ?? '') : join(root, id.value ?? '');
}

/** The containers that have a run directory under `root`, each parent before its nested containers. */
export async function containersOnDisk(root: string): Promise<ContainerID[]> {
  const found: ContainerID[] = [];
  const walk = async (dir: string, parent: ContainerID | undefined): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (!e.isDirectory() || e.name.endsWith('.tmp')) continue;
      const id: ContainerID = parent ? { value: e.name, parent } : { value: e.name };
      found.push(id);
      await walk(join(dir, e.name, 'containers'), id);
    }
  };
  await walk(root, undefined);
  return found;
}
