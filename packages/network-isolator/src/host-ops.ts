import { execFile, spawn } from 'node:child_process';
import { constants, readFileSync, statSync } from 'node:fs';
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

async function exec(file: string, args: string[]): Promise<void> {
  try {
    await run(file, args, { maxBuffer: 1 << 20 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new NetworkIsolatorError('CNI_SETUP_FAILED', (e.stderr || e.message).trim(), { cause: err });
  }
}

/**
 * The namespace helper: a small resident perl process (perl-base is essential on Debian, so every
 * image has it), started once per agent process. For each request it forks a worker that mounts the
 * netns handle in the agent's mount namespace, reports `held`, then enters the container's mount,
 * UTS and network namespaces with setns(2) to bind the files, set the hostname and bring `lo` up
 * (ioctl), and reports `done` or `fail`. The resident parent never changes namespace, so a failed
 * request cannot leave it inside a container. A fork of a loaded perl costs a fraction of an exec,
 * and this replaces five execs per launch (mount, nsenter, sh, mount per file, ip), which were most
 * of the isolator's own cost. Arguments: syscall numbers of mount and setns. Requests, one per
 * line, NUL-separated: id, pid, handle ('' = none), rslave (0/1), hostname ('' = none), lo (0/1),
 * then source/target pairs. It exits when its standard input closes (the agent went away).
 */
const PERL_HELPER = String.raw`
use strict;
$| = 1;
$SIG{CHLD} = 'IGNORE';
my ($SYS_mount, $SYS_setns) = @ARGV;
while (my $line = <STDIN>) {
  chomp $line;
  my ($id, $pid, $handle, $rslave, $hostname, $lo, @binds) = split(/\0/, $line, -1);
  my $child = fork();
  if (!defined $child) { print "fail $id Failed to fork the namespace helper: $!\n"; next; }
  next if $child;
  my $ok = eval { work($id, $pid, $handle, $rslave, $hostname, $lo, @binds); 1 };
  if ($ok) { print "done $id\n"; exit 0; }
  my $msg = $@;
  $msg =~ s/\s+/ /g;
  $msg =~ s/ $//;
  print "fail $id $msg\n";
  exit 1;
}
sub work {
  my ($id, $pid, $handle, $rslave, $hostname, $lo, @binds) = @_;
  my %ns;
  for my $k ('mnt', 'uts', 'net') {
    open($ns{$k}, '<', "/proc/$pid/ns/$k") or die "Failed to open /proc/$pid/ns/$k: $!\n";
  }
  if ($handle ne '') {
    open(my $h, '>>', $handle) or die "Failed to create the bind mount point '$handle': $!\n";
    close($h);
    syscall($SYS_mount + 0, "/proc/$pid/ns/net", $handle, 0, 4096, 0) == 0
      or die "Failed to mount the network namespace handle from '/proc/$pid/ns/net' to '$handle': $!\n";
    print "held $id\n";
  }
  return if !$rslave && $hostname eq '' && !$lo && !@binds;
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
   * How namespace work is done: `perl` (the resident helper above, a forked worker per container)
   * or `util-linux` (mount, nsenter, sh, mount, ip: five execs per container). Default `perl` when
   * `perl` is on PATH and the architecture is x64 or arm64, else `util-linux`.
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
      shared = sameNamespace(pid, kind);
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
  let mountinfo: string;
  try {
    mountinfo = readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
  } catch {
    mountinfo = ' shared:';
  }
  return mountinfo.includes(' shared:');
}

interface Pending {
  held: boolean;
  wantsHandle: boolean;
  onHeld: [() => void, (err: unknown) => void];
  onDone: [() => void, (err: unknown) => void];
}

/** The resident helper: one per agent process, shared by every isolator in it, started on first use. */
class ResidentHelper {
  private child: ReturnType<typeof spawn> | undefined;
  private readonly pending = new Map<string, Pending>();
  private next = 0;
  private stderr = '';

  constructor(private readonly sys: { mount: number; setns: number }) {}

  run(pid: number, handle: string, rslave: boolean, setup: ContainerSetup): { held: Promise<void>; done: Promise<void> } {
    const fields = [String(pid), handle, rslave ? '1' : '0', setup.hostname ?? '', setup.loopbackUp ? '1' : '0'];
    for (const b of setup.binds) fields.push(b.source, b.target);
    const bad = fields.find((f) => /[\n\0]/.test(f));
    if (bad !== undefined) {
      const err = new NetworkIsolatorError('CNI_SETUP_FAILED', `Refusing a path or name with a new line or NUL in it: ${JSON.stringify(bad)}`);
      return { held: Promise.reject(err), done: Promise.reject(err) };
    }
    const id = String(++this.next);
    let onHeld!: Pending['onHeld'];
    let onDone!: Pending['onDone'];
    const held = new Promise<void>((resolve, reject) => (onHeld = [resolve, reject]));
    const done = new Promise<void>((resolve, reject) => (onDone = [resolve, reject]));
    const entry: Pending = { held: handle === '', wantsHandle: handle !== '', onHeld, onDone };
    if (handle === '') onHeld[0]();
    this.pending.set(id, entry);
    try {
      const child = this.ensure();
      child.stdin!.write(`${[id, ...fields].join('\0')}\n`);
    } catch (err) {
      this.settle(id, `The namespace helper could not be started: ${(err as Error).message}`);
    }
    held.catch(() => undefined);
    done.catch(() => undefined);
    return { held, done };
  }

  private ensure(): ReturnType<typeof spawn> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      this.reference(true);
      return this.child;
    }
    this.stderr = '';
    const child = spawn('perl', ['-e', PERL_HELPER, String(this.sys.mount), String(this.sys.setns)], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        this.line(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-2000)));
    child.stdin!.on('error', () => undefined);
    const gone = (why: string) => {
      if (this.child === child) this.child = undefined;
      for (const id of [...this.pending.keys()]) this.settle(id, `The namespace helper ${why}${this.stderr ? `: ${this.stderr.trim()}` : ''}`);
    };
    child.on('error', (err) => gone(`could not be started (${err.message})`));
    child.on('exit', (code, signal) => gone(`exited (${signal ?? code})`));
    this.reference(true);
    return child;
  }

  /** Keeps the agent's event loop alive only while requests are pending. */
  private reference(on: boolean): void {
    const c = this.child;
    if (!c) return;
    for (const h of [c, c.stdin, c.stdout, c.stderr] as Array<{ ref?: () => void; unref?: () => void } | null>) {
      if (on) h?.ref?.();
      else h?.unref?.();
    }
  }

  private line(text: string): void {
    const [verb, id, ...rest] = text.split(' ');
    const entry = id === undefined ? undefined : this.pending.get(id);
    if (!entry || id === undefined) return;
    if (verb === 'held') {
      entry.held = true;
      entry.onHeld[0]();
    } else if (verb === 'done') {
      this.finish(id);
      if (entry.wantsHandle && !entry.held) entry.onHeld[1](new NetworkIsolatorError('CNI_CHECKPOINT_FAILED', 'The namespace helper did not mount the handle'));
      entry.onHeld[0]();
      entry.onDone[0]();
    } else if (verb === 'fail') {
      this.settle(id, rest.join(' '));
    }
  }

  private settle(id: string, message: string): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.finish(id);
    if (!entry.held && entry.wantsHandle) entry.onHeld[1](new NetworkIsolatorError('CNI_CHECKPOINT_FAILED', message));
    entry.onDone[1](new NetworkIsolatorError('CNI_SETUP_FAILED', message));
  }

  private finish(id: string): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.reference(false);
  }
}

const residents = new Map<string, ResidentHelper>();

function residentHelper(sys: { mount: number; setns: number }): ResidentHelper {
  const key = `${sys.mount}/${sys.setns}`;
  let h = residents.get(key);
  if (!h) residents.set(key, (h = new ResidentHelper(sys)));
  return h;
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
        shared = sameNamespace(pid, 'net');
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
      if (sys) return residentHelper(sys).run(pid, '', rslave, setup).done;
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
        sys ? residentHelper(sys).run(pid, handle, rslave, setup) : { held: ops.holdNetns(pid, handle), done: ops.setupContainer(pid, setup) },
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
