import { execFile } from 'node:child_process';
import { readFile, stat, writeFile, mkdir } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { NetworkUsage } from '@ippc/core';
import { NetworkIsolatorError } from './errors.js';

const run = promisify(execFile);

/** A file of the checkpoint bound over a path inside the container (e.g. `/etc/hosts`). */
export interface FileBind {
  source: string;
  target: string;
}

/** What to do inside a container's namespaces once it is attached. */
export interface ContainerSetup {
  /** Set in the container's UTS namespace. */
  hostname?: string;
  /** Bind mounts in the container's mount namespace; missing targets are created first (Mesos does too). */
  binds: FileBind[];
  /** `ip link set dev lo up` in the container's network namespace. */
  loopbackUp: boolean;
}

/**
 * The seam between the isolator and the kernel: namespace handles, mounts and the container's
 * own namespaces. {@link createHostOps} is the real one (mount, umount, nsenter, /proc); unit tests
 * use a fake.
 */
export interface HostOps {
  /**
   * Makes `rootDir` a mount point in a shared peer group of its own (what Mesos does with its CNI
   * root), so that unmounting a namespace handle under it also unmounts the copies in containers
   * whose mounts are slaves, and no container keeps another's network namespace alive.
   */
  prepareRoot(rootDir: string): Promise<void>;
  /** Undoes {@link prepareRoot} (for tests and tools; an agent never needs it). */
  releaseRoot(rootDir: string): Promise<void>;
  /** Creates `handle` and bind-mounts `/proc/<pid>/ns/net` onto it, keeping the namespace alive. */
  holdNetns(pid: number, handle: string): Promise<void>;
  /** Unmounts the handle if it is one; no-op otherwise. */
  releaseNetns(handle: string): Promise<void>;
  /** Whether `handle` is a network namespace handle (Mesos: its st_dev is that of `/proc/self/ns/net`). */
  isNetnsHandle(handle: string): Promise<boolean>;
  /** Whether `pid` runs and is inside the namespace `handle` holds. */
  isRunningIn(pid: number, handle: string): Promise<boolean>;
  /**
   * Enters the container's mount, UTS and network namespaces and applies `setup`. Refuses (throws
   * `CNI_SETUP_FAILED`) if the process shares the agent's mount, UTS or network namespace, so a
   * wrong launch can never overwrite the host's /etc/hosts or hostname.
   */
  setupContainer(pid: number, setup: ContainerSetup): Promise<void>;
  /** Counters of every interface seen inside the container: from `/proc/<pid>/net/dev`, or through the handle. */
  interfaceCounters(target: { pid?: number; handle: string }): Promise<Map<string, NetworkUsage>>;
}

/** Single-quotes a word for `sh`. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Reads `/proc/net/dev` text into per-interface counters. */
export function parseNetDev(text: string): Map<string, NetworkUsage> {
  const out = new Map<string, NetworkUsage>();
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (f.length < 16) continue;
    out.set(name, {
      rxBytes: f[0]!,
      rxPackets: f[1]!,
      rxErrors: f[2]!,
      rxDropped: f[3]!,
      txBytes: f[8]!,
      txPackets: f[9]!,
      txErrors: f[10]!,
      txDropped: f[11]!,
    });
  }
  return out;
}

/** Unescapes the octal escapes of mountinfo paths (`\040` is a space). */
function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** The mountinfo line whose mount point is `path` (the last, i.e. topmost), split in fields. */
function findMount(mountinfo: string, path: string): string[] | undefined {
  let found: string[] | undefined;
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    if (f.length > 4 && unescapeMountPath(f[4]!) === path) found = f;
  }
  return found;
}

async function sameNamespace(pid: number, kind: 'net' | 'mnt' | 'uts'): Promise<boolean> {
  const [a, b] = await Promise.all([stat(`/proc/${pid}/ns/${kind}`), stat(`/proc/self/ns/${kind}`)]);
  return a.ino === b.ino && a.dev === b.dev;
}

async function exec(file: string, args: string[]): Promise<void> {
  try {
    await run(file, args, { maxBuffer: 1 << 20 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new NetworkIsolatorError('CNI_SETUP_FAILED', (e.stderr || e.message).trim(), { cause: err });
  }
}

/** Options of {@link createHostOps}. */
export interface HostOpsOptions {
  /** `nsenter` binary. Default `nsenter` from PATH. */
  nsenter?: string;
}

export function createHostOps(options: HostOpsOptions = {}): HostOps {
  const nsenter = options.nsenter ?? 'nsenter';
  let nsDev: number | undefined;
  const netnsDev = async () => (nsDev ??= (await stat('/proc/self/ns/net')).dev);

  const ops: HostOps = {
    async prepareRoot(rootDir) {
      await mkdir(rootDir, { recursive: true });
      const line = findMount(await readFile('/proc/self/mountinfo', 'utf8'), rootDir);
      if (line && line.slice(6, line.indexOf('-')).some((t) => t.startsWith('shared:'))) return;
      const q = shellQuote(rootDir);
      const bind = line ? '' : `mount --bind ${q} ${q} && `;
      await exec('sh', ['-c', `${bind}mount --make-private ${q} && mount --make-shared ${q}`]);
    },
    async releaseRoot(rootDir) {
      const line = findMount(await readFile('/proc/self/mountinfo', 'utf8'), rootDir);
      if (line) await exec('umount', [rootDir]);
    },
    async holdNetns(pid, handle) {
      // Refuse a process still in the agent's network namespace: plugins would then configure the
      // agent's own network (an eth0 in the host) instead of the container's.
      let shared: boolean;
      try {
        shared = await sameNamespace(pid, 'net');
      } catch (err) {
        throw new NetworkIsolatorError('CNI_SETUP_FAILED', `The container's process ${pid} is gone`, { cause: err });
      }
      if (shared) {
        throw new NetworkIsolatorError('CNI_SETUP_FAILED', `The container's process ${pid} shares the agent's net namespace: launch it in the new namespaces prepare() returned`);
      }
      await writeFile(handle, '', { flag: 'a' });
      try {
        await exec('mount', ['--bind', `/proc/${pid}/ns/net`, handle]);
      } catch (err) {
        throw new NetworkIsolatorError('CNI_CHECKPOINT_FAILED', `Failed to mount the network namespace handle from '/proc/${pid}/ns/net' to '${handle}': ${(err as Error).message}`, { cause: err });
      }
    },
    async releaseNetns(handle) {
      if (await ops.isNetnsHandle(handle)) await exec('umount', [handle]);
    },
    async isNetnsHandle(handle) {
      try {
        return (await stat(handle)).dev === (await netnsDev());
      } catch {
        return false;
      }
    },
    async isRunningIn(pid, handle) {
      try {
        const [a, b] = await Promise.all([stat(`/proc/${pid}/ns/net`), stat(handle)]);
        return a.ino === b.ino && a.dev === b.dev;
      } catch {
        return false;
      }
    },
    async setupContainer(pid, setup) {
      for (const kind of ['mnt', 'uts', 'net'] as const) {
        let shared: boolean;
        try {
          shared = await sameNamespace(pid, kind);
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
      const lines = ['set -e'];
      // A mount namespace cloned from a shared root would propagate our binds back to the host: make
      // it a slave first (Mesos's setup helper always does; we skip the exec when it already is).
      const mountinfo = await readFile(`/proc/${pid}/mountinfo`, 'utf8').catch(() => 'shared:');
      if (mountinfo.includes(' shared:')) lines.push('mount --make-rslave /');
      for (const b of setup.binds) {
        const t = shellQuote(b.target);
        lines.push(`[ -e ${t} ] || : > ${t}`, `mount --bind ${shellQuote(b.source)} ${t}`);
      }
      if (setup.hostname !== undefined) lines.push(`printf '%s' ${shellQuote(setup.hostname)} > /proc/sys/kernel/hostname`);
      if (setup.loopbackUp) lines.push('ip link set dev lo up');
      const ns = ['--mount', ...(setup.hostname !== undefined ? ['--uts'] : []), ...(setup.loopbackUp ? ['--net'] : [])];
      await exec(nsenter, [`--target=${pid}`, ...ns, '--', 'sh', '-c', lines.join('\n')]);
    },
    async interfaceCounters({ pid, handle }) {
      if (pid !== undefined && (await ops.isRunningIn(pid, handle))) {
        try {
          return parseNetDev(await readFile(`/proc/${pid}/net/dev`, 'utf8'));
        } catch {
          // the process went away between the two reads: fall back to the handle
        }
      }
      try {
        const { stdout } = await run(nsenter, [`--net=${handle}`, '--', 'cat', '/proc/net/dev']);
        return parseNetDev(stdout);
      } catch (err) {
        throw new NetworkIsolatorError('CNI_SETUP_FAILED', `Failed to read the interface counters through '${handle}': ${(err as Error).message}`, { cause: err });
      }
    },
  };
  return ops;
}
