import { spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import Docker from 'dockerode';
import { HostError } from './errors.js';

/** Where a dockerd started by ippc writes its log. */
export const DOCKERD_LOG = '/var/log/ippc/dockerd.log';

/** A Docker client for the daemon named by DOCKER_HOST, else the local socket. */
export function dockerClient(): Docker {
  return new Docker();
}

/** The daemon's version, or undefined when no daemon answers. */
export async function dockerVersion(docker: Docker = dockerClient()): Promise<{ version: string; apiVersion: string } | undefined> {
  try {
    const v = await docker.version();
    return { version: v.Version, apiVersion: v.ApiVersion };
  } catch {
    return undefined;
  }
}

export interface StartDockerdOptions {
  /** How long to wait for the daemon to answer. Default 60 s. */
  timeoutMs?: number;
  dockerdPath?: string;
}

/**
 * Starts dockerd in the background (detached: it outlives this process, as a service would) and
 * waits until it answers. Does nothing if a daemon already answers.
 */
export async function ensureDockerd(options: StartDockerdOptions = {}): Promise<{ started: boolean; version: string }> {
  const docker = dockerClient();
  const already = await dockerVersion(docker);
  if (already) return { started: false, version: already.version };
  mkdirSync('/var/log/ippc', { recursive: true });
  const log = openSync(DOCKERD_LOG, 'a');
  const child = spawn(options.dockerdPath ?? 'dockerd', [], { detached: true, stdio: ['ignore', log, log] });
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code));
  child.on('error', () => (exited = -1));
  child.unref();
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    const v = await dockerVersion(docker);
    if (v) return { started: true, version: v.version };
    if (exited !== undefined) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new HostError(
    'HOST_DOCKER_UNAVAILABLE',
    exited !== undefined
      ? `dockerd exited (${exited}) before answering; see ${DOCKERD_LOG}`
      : `dockerd did not answer within ${Math.round((options.timeoutMs ?? 60_000) / 1000)} s; see ${DOCKERD_LOG}`,
  );
}
