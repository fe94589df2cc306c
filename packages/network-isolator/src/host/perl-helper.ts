import { spawn } from 'node:child_process';
import { NetworkIsolatorError } from '../errors.js';
import type { ContainerSetup, HostOpsOptions } from './host-ops.js';
import { onPath } from './exec.js';

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
    # A variable, not a literal: perl hands syscall(2) a string argument as a writable buffer.
    my $root = '/';
    syscall($SYS_mount + 0, 0, $root, 0, 0x84000, 0) == 0 or die "Failed to mark '/' as a SLAVE mount: $!\n";
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

/** The mount(2) and setns(2) numbers the perl helper calls. */
export interface Syscalls {
  mount: number;
  setns: number;
}

/** mount(2) and setns(2) numbers per architecture, for the perl helper. */
const SYSCALLS: Partial<Record<string, Syscalls>> = {
  x64: { mount: 165, setns: 308 },
  arm64: { mount: 40, setns: 268 },
};

/**
 * The syscall numbers when namespace work goes through the perl helper, undefined when through
 * util-linux (see `HostOpsOptions.helper`): decided on first use, once per `createHostOps`.
 */
export function choosePerlHelper(options: HostOpsOptions): () => Promise<Syscalls | undefined> {
  let helper: Promise<Syscalls | undefined> | undefined;
  return () =>
    (helper ??= (async () => {
      if (options.helper === 'util-linux') return undefined;
      const sys = SYSCALLS[process.arch];
      if (sys && (await onPath('perl'))) return sys;
      if (options.helper === 'perl')
        throw new NetworkIsolatorError('CNI_BAD_OPTIONS', `The perl namespace helper needs perl on PATH and an x64 or arm64 host (this is ${process.arch})`);
      return undefined;
    })());
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

  constructor(private readonly sys: Syscalls) {}

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

export function residentHelper(sys: Syscalls): ResidentHelper {
  const key = `${sys.mount}/${sys.setns}`;
  let h = residents.get(key);
  if (!h) residents.set(key, (h = new ResidentHelper(sys)));
  return h;
}
