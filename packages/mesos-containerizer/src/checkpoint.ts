import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomic, type LaunchSpec } from '@ippc/core';
import { ContainerID, ContainerInfo, ExecutorInfo } from '@ippc/proto';

// The per-container checkpoint, `<runtimeDir>/containers/<id>/`: `config.json` (below) and `pid`
// written at launch, `started` once the task was let go; the supervisor writes `supervised` and
// `status` (see supervisor.ts).

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
  await writeAtomic(join(runDir, 'config.json'), JSON.stringify(checkpoint));
}
