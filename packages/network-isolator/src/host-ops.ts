import { execFile, spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
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
  /**
   * {@link holdNetns} and {@link setupContainer} at once, for the launch path: `held` resolves as
   * soon as the handle is mounted (CNI ADD may start then), `done` when the setup inside the
   * container finished. Same checks and errors as the two calls.
   */
  enterContainer(pid: number, handle: string, setup: ContainerSetup): { held: Promise<void>; done: Promise<void> };
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

/** The agent's own namespaces never change: read once. */
const selfNs = new Map<string, Promise<{ ino: number; dev: number }>>();

async function sameNamespace(pid: number, kind: 'net' | 'mnt' | 'uts'): Promise<boolean> {
  let self = selfNs.get(kind);
  if (!self) selfNs.set(kind, (self = stat(`/proc/self/ns/${kind}`)));
  const [a, b] = await Promise.all([stat(`/proc/${pid}/ns/${kind}`), self]);
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

/**
 * The namespace helper: one short-lived perl process (perl-base is essential on Debian, so every
 * image has it) that mounts the netns handle in the agent's mount namespace, says `held`, then
 * enters the container's mount, UTS and network namespaces with setns(2) to bind the files, set the
 * hostname and bring `lo` up. It replaces five execs (nsenter, sh, mount, mount, ip), which is most
 * of the isolator's own cost on a busy host. Arguments: syscall numbers of mount and setns, pid,
 * handle ('' = none), rslave (0/1), hostname ('' = none), lo (0/1), then source/target pairs.
 */
const PERL_HELPER = String.raw`
use strict;
$| = 1;
my ($SYS_mount, $SYS_setns, $pid, $handle, $rslave, $hostname, $lo, @binds) = @ARGV;
my %ns;
for my $k ('mnt', 'uts', 'net') {
  open($ns{$k}, '<', "/proc/$pid/ns/$k") or die "Failed to open /proc/$pid/ns/$k: $!\n";
}
if ($handle ne '') {
  open(my $h, '>>', $handle) or die "Failed to create the bind mount point '$handle': $!\n";
  close($h);
  syscall($SYS_mount + 0, "/proc/$pid/ns/net", $handle, 0, 4096, 0) == 0
    or die "Failed to mount the network namespace handle from '/proc/$pid/ns/net' to '$handle': $!\n";
  print "held\n";
}
syscall($SYS_setns + 0, fileno($ns{mnt}), 0) == 0 or die "Failed to enter the mount namespace of pid $pid: $!\n";
if ($rslave) {
  syscall($SYS_mount + 0, 0, "/", 0, 0x84000, 0) == 0 or die "Failed to mark '/' as a SLAVE mount: $!\n";
}
while (@binds) {
  my ($src, $dst) = splice(@binds, 0, 2);
  if (!-e $dst) { open(my $t, '>>', $dst) or die "Unable to create missing mount point $dst: $!\n"; close($t); }
  syscall($SYS_mount + 0, $src, $dst, 0, 4096, 0) == 0 or die "Failed to bind mount from '$src' to '$dst': $!\n";
}
if ($hostname ne '') {
  syscall($SYS_setns + 0, fileno($ns{uts}), 0) == 0 or die "Failed to enter the UTS namespace of pid $pid: $!\n";
  my $ok = open(my $f, '>', '/proc/sys/kernel/hostname');
  $ok = $ok && (print $f $hostname);
  $ok = $ok && close($f);
  $ok or die "Failed to set the hostname of the container to '$hostname': $!\n";
}
if ($lo) {
  syscall($SYS_setns + 0, fileno($ns{net}), 0) == 0 or die "Failed to enter the network namespace of pid $pid: $!\n";
  socket(my $s, 2, 2, 0) or die "Failed to bring up the loopback interface: $!\n";
  my $ifr = pack('a16 s x22', 'lo', 0);
  ioctl($s, 0x8913, $ifr) or die "Failed to bring up the loopback interface: $!\n";
  $ifr = pack('a16 s x22', 'lo', unpack('x16 s', $ifr) | 1);
  ioctl($s, 0x8914, $ifr) or die "Failed to bring up the loopback interface: $!\n";
}
`;

/** mount(2) and setns(2) numbers per architecture, for the perl helper. */
const SYSCALLS: Partial<Record<string, { mount: number; setns: number }>> = {
  x64: { mount: 165, setns: 308 },
  arm64: { mount: 40, setns: 268 },
};

/** Options of {@link createHostOps}. */
export interface HostOpsOptions {
  /** `nsenter` binary (used by the util-linux path and for counters). Default `nsenter` from PATH. */
  nsenter?: string;
  /**
   * How namespace work is done: `perl` (one process per container, see above) or `util-linux`
   * (nsenter, sh, mount, ip: what Mesos's helper does, in five execs). Default `perl` when `perl`
   * is on PATH and the architecture is x64 or arm64, else `util-linux`.
   */
  helper?: 'perl' | 'util-linux';
}

async function onPath(name: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    if (!dir) continue;
    try {
      await access(`${dir}/${name}`, constants.X_OK);
      return true;
    } catch {
      // next
    }
  }
  return false;
}

/** Refuses a process that shares a namespace with the agent (a wrong launch would otherwise touch the host). */
async function refuseShared(pid: number, kinds: ReadonlyArray<'net' | 'mnt' | 'uts'>): Promise<void> {
  for (const kind of kinds) {
    let shared: boolean;
    try {
      shared = await sameNamespace(pid, kind);
    } catch (err) {
      throw new NetworkIsolatorError('CNI_SETUP_FAILED', `The container's process ${pid} is gone`, { cause: err });
    }
    if (shared) {
      throw new NetworkIsolatorError('CNI_SETUP_FAILED', `The container's process ${pid} shares the agent's ${kind} namespace: launch it in the new namespaces prepare() returned`);
    }
  }
}

/** Whether the container's root mount still propagates to the host (then it must become a slave first). */
async function needsRslave(pid: number): Promise<boolean> {
  const mountinfo = await readFile(`/proc/${pid}/mountinfo`, 'utf8').catch(() => 'shared:');
  return mountinfo.includes(' shared:');
}

/** Runs the perl helper; `held` resolves on its `held` line (when a handle is given), `done` on exit 0. */
function runPerlHelper(sys: { mount: number; setns: number }, pid: number, handle: string, rslave: boolean, setup: ContainerSetup): { held: Promise<void>; done: Promise<void> } {
  const args = ['-e', PERL_HELPER, String(sys.mount), String(sys.setns), String(pid), handle, rslave ? '1' : '0', setup.hostname ?? '', setup.loopbackUp ? '1' : '0'];
  for (const b of setup.binds) args.push(b.source, b.target);
  let heldOk!: () => void;
  let heldFail!: (err: unknown) => void;
  const held = new Promise<void>((resolve, reject) => {
    heldOk = resolve;
    heldFail = reject;
  });
  let isHeld = handle === '';
  if (isHeld) heldOk();
  const done = new Promise<void>((resolve, reject) => {
    const child = spawn('perl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!isHeld && stdout.includes('held\n')) {
        isHeld = true;
        heldOk();
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const fail = (err: unknown) => {
      if (!isHeld) {
        isHeld = true;
        heldFail(new NetworkIsolatorError('CNI_CHECKPOINT_FAILED', messageOf(err), { cause: err }));
      }
      reject(err);
    };
    child.on('error', fail);
    child.on('close', (code) => {
      if (code === 0) {
        if (!isHeld) fail(new Error(`the namespace helper did not mount '${handle}'`));
        else resolve();
      } else {
        fail(new NetworkIsolatorError('CNI_SETUP_FAILED', stderr.trim() || `the namespace helper exited with ${code}`));
      }
    });
  });
  // Callers may only look at `held`; a rejection of `done` is theirs to observe.
  done.catch(() => undefined);
  return { held, done };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function createHostOps(options: HostOpsOptions = {}): HostOps {
  const nsenter = options.nsenter ?? 'nsenter';
  let helper: Promise<{ mount: number; setns: number } | undefined> | undefined;
  const perlSyscalls = () =>
    (helper ??= (async () => {
      if (options.helper === 'util-linux') return undefined;
      const sys = SYSCALLS[process.arch];
      if (sys && (await onPath('perl'))) return sys;
      if (options.helper === 'perl') throw new NetworkIsolatorError('CNI_BAD_OPTIONS', `The perl namespace helper needs perl on PATH and an x64 or arm64 host (this is ${process.arch})`);
      return undefined;
    })());
  let nsDev: number | undefined;
  const netnsDev = async () => (nsDev ??= (await stat('/proc/self/ns/net')).dev);

  const ops: HostOps = {
    async prepareRoot(rootDir) {
      await mkdir(rootDir, { recursive: true });
      const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
      const line = findMount(mountinfo, rootDir);
      const peerGroup = line?.slice(6, line.indexOf('-')).find((t) => t.startsWith('shared:'));
      // Enough only if no mount above the root shares its peer group (Mesos's check): a plain bind
      // of a shared parent would otherwise propagate container mounts back up.
      const alone =
        peerGroup !== undefined &&
        !mountinfo.split('\n').some((l) => {
          const f = l.split(' ');
          const target = f[4] ? unescapeMountPath(f[4]) : '';
          return f !== line && target !== rootDir && rootDir.startsWith(target) && !target.startsWith(`${rootDir}/`) && f.slice(6, f.indexOf('-')).includes(peerGroup);
        });
      if (alone) return;
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
      await refuseShared(pid, ['mnt', 'uts', 'net']);
      // A mount namespace cloned from a shared root would propagate our binds back to the host: make
      // it a slave first (Mesos's setup helper always does; we skip it when it already is).
      const rslave = await needsRslave(pid);
      const sys = await perlSyscalls();
      if (sys) return runPerlHelper(sys, pid, '', rslave, setup).done;
      const lines = ['set -e'];
      if (rslave) lines.push('mount --make-rslave /');
      for (const b of setup.binds) {
        const t = shellQuote(b.target);
        lines.push(`[ -e ${t} ] || : > ${t}`, `mount --bind ${shellQuote(b.source)} ${t}`);
      }
      if (setup.hostname !== undefined) lines.push(`printf '%s' ${shellQuote(setup.hostname)} > /proc/sys/kernel/hostname`);
      if (setup.loopbackUp) lines.push('ip link set dev lo up');
      const ns = ['--mount', ...(setup.hostname !== undefined ? ['--uts'] : []), ...(setup.loopbackUp ? ['--net'] : [])];
      await exec(nsenter, [`--target=${pid}`, ...ns, '--', 'sh', '-c', lines.join('\n')]);
    },
    enterContainer(pid, handle, setup) {
      const checked = Promise.all([refuseShared(pid, ['net', 'mnt', 'uts']), needsRslave(pid), perlSyscalls()]);
      const both = checked.then(([, rslave, sys]) =>
        sys ? runPerlHelper(sys, pid, handle, rslave, setup) : { held: ops.holdNetns(pid, handle), done: ops.setupContainer(pid, setup) },
      );
      const held = both.then((b) => b.held);
      const done = both.then((b) => b.done);
      done.catch(() => undefined);
      return { held, done };
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
