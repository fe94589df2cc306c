import { statSync } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { NetworkIsolatorError } from '../errors.js';
import { exec } from './exec.js';

// The container's namespaces as the agent sees them: whether a process shares the agent's, and the
// network namespace handles (bind mounts of /proc/<pid>/ns/net) that keep one alive.

/** The agent's own namespaces never change: read once. */
const selfNs = new Map<string, { ino: number; dev: number }>();

/**
 * Whether `pid` shares the agent's namespace `kind`. Blocking on purpose: a stat of /proc takes
 * microseconds, a busy libuv pool milliseconds, and this is on the launch path.
 */
function sameNamespace(pid: number, kind: 'net' | 'mnt' | 'uts'): boolean {
  let self = selfNs.get(kind);
  if (!self) selfNs.set(kind, (self = statSync(`/proc/self/ns/${kind}`)));
  const a = statSync(`/proc/${pid}/ns/${kind}`);
  return a.ino === self.ino && a.dev === self.dev;
}

/** Refuses a process that shares a namespace with the agent (a wrong launch would otherwise touch the host). */
export async function refuseShared(pid: number, kinds: ReadonlyArray<'net' | 'mnt' | 'uts'>): Promise<void> {
  for (const kind of kinds) {
    let shared: boolean;
    try {
      shared = sameNamespace(pid, kind);
    } catch (err) {
      throw new NetworkIsolatorError('CNI_SETUP_FAILED', `The container's process ${pid} is gone`, { cause: err });
    }
    if (shared) {
      throw new NetworkIsolatorError(
        'CNI_SETUP_FAILED',
        `The container's process ${pid} shares the agent's ${kind} namespace: launch it in the new namespaces prepare() returned`,
      );
    }
  }
}

/** Creates `handle` and bind-mounts `/proc/<pid>/ns/net` onto it (`HostOps.holdNetns`). */
export async function holdNetns(pid: number, handle: string): Promise<void> {
  // Refuse a process still in the agent's network namespace: plugins would then configure the
  // agent's own network (an eth0 in the host) instead of the container's.
  await refuseShared(pid, ['net']);
  await writeFile(handle, '', { flag: 'a' });
  try {
    await exec('mount', ['--bind', `/proc/${pid}/ns/net`, handle]);
  } catch (err) {
    throw new NetworkIsolatorError(
      'CNI_CHECKPOINT_FAILED',
      `Failed to mount the network namespace handle from '/proc/${pid}/ns/net' to '${handle}': ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** Unmounts the handle if it is one (`HostOps.releaseNetns`). */
export async function releaseNetns(handle: string, isNetnsHandle: (handle: string) => Promise<boolean>): Promise<void> {
  if (await isNetnsHandle(handle)) await exec('umount', [handle]);
}

/** Whether `handle` is a network namespace handle: its st_dev is that of `/proc/self/ns/net` (`netnsDev`). */
export async function isNetnsHandle(handle: string, netnsDev: () => Promise<number>): Promise<boolean> {
  try {
    return (await stat(handle)).dev === (await netnsDev());
  } catch {
    return false;
  }
}

/** Whether `pid` runs and is inside the namespace `handle` holds. */
export async function isRunningIn(pid: number, handle: string): Promise<boolean> {
  try {
    const [a, b] = await Promise.all([stat(`/proc/${pid}/ns/net`), stat(handle)]);
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}
