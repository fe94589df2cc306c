import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { processAlive } from '@ippc/core';
import { eventually } from './world.js';

// A Docker daemon of the suite's own, so that a test can stop and restart "the Docker daemon"
// without touching the machine's daemon (which the rest of the tests, the testbed and anything
// else on the machine use). It has its own socket, data root, exec root (and so its own
// containerd), a default bridge of its own that this helper creates (never `--bridge=none`: a
// daemon started with it deletes the machine's `docker0`, breaking the machine's daemon), and no
// iptables rules of its own. Images come from the machine's daemon (`docker save | docker load`,
// no registry), once per start of the suite.

const exec = promisify(execFile);

export interface PrivateDockerdOptions {
  /** Short name: paths are /run/ippc-<name>.sock, /run/ippc-<name>/ and /var/lib/ippc-<name>/. */
  name: string;
  /** Whether containers outlive the daemon (`--live-restore`). Each start() may change it. */
  liveRestore?: boolean;
  /** The daemon's log (appended). */
  logFile: string;
  /** Its default bridge, created here: an interface name (15 characters at most) and the bridge's address with prefix, e.g. `10.237.9.129/27`. */
  bridge: { name: string; address: string };
}

export interface PrivateDockerd extends AsyncDisposable {
  /** The daemon's socket path (for `--docker_socket`). */
  readonly socket: string;
  /** A client of this daemon. */
  readonly docker: Docker;
  /** Starts the daemon (again) and resolves once it answers a ping. */
  start(options?: { liveRestore?: boolean }): Promise<void>;
  /** Stops the daemon with SIGTERM, as a service manager would, and waits for its exit. */
  stop(): Promise<void>;
  /** Copies an image from the machine's daemon. */
  loadImage(from: Docker, image: string): Promise<void>;
  /** Removes its containers and networks, stops it and deletes its folders. */
  dispose(): Promise<void>;
}


async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (processAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** Unmounts whatever a killed daemon left mounted under `dir` (overlay layers, netns files). */
async function unmountUnder(dir: string): Promise<void> {
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await exec('umount', ['-l', m]).catch(() => undefined);
}

export async function startPrivateDockerd(options: PrivateDockerdOptions): Promise<PrivateDockerd> {
  const socket = `/run/ippc-${options.name}.sock`;
  const execRoot = `/run/ippc-${options.name}`;
  const dataRoot = `/var/lib/ippc-${options.name}`;
  const pidFile = `/run/ippc-${options.name}.pid`;
  const docker = new Docker({ socketPath: socket });
  let proc: ChildProcess | undefined;
  let liveRestore = options.liveRestore ?? false;

  // A daemon left by a killed run of the suite goes first (same name, same paths).
  const stale = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : 0;
  if (stale > 0 && processAlive(stale)) {
    process.kill(stale, 'SIGTERM');
    if (!(await waitGone(stale, 20_000))) process.kill(stale, 'SIGKILL');
  }

  const createBridge = async (): Promise<void> => {
    const { name, address } = options.bridge;
    if (name.length > 15) throw new Error(`bridge name ${name} is longer than 15 characters`);
    if (!existsSync(`/sys/class/net/${name}`)) await exec('ip', ['link', 'add', name, 'type', 'bridge']);
    await exec('ip', ['addr', 'replace', address, 'dev', name]);
    await exec('ip', ['link', 'set', name, 'up']);
  };

  const start = async (opts: { liveRestore?: boolean } = {}): Promise<void> => {
    if (proc && proc.exitCode === null && proc.signalCode === null) throw new Error(`private dockerd ${options.name} already runs`);
    liveRestore = opts.liveRestore ?? liveRestore;
    const fd = openSync(options.logFile, 'a');
    const args = [
      `--host=unix://${socket}`,
      `--data-root=${dataRoot}`,
      `--exec-root=${execRoot}`,
      `--pidfile=${pidFile}`,
      `--bridge=${options.bridge.name}`,
      '--iptables=false',
      '--ip6tables=false',
      '--ip-forward=false',
      '--ip-masq=false',
      ...(liveRestore ? ['--live-restore'] : []),
    ];
    const child = spawn('dockerd', args, { stdio: ['ignore', fd, fd] });
    proc = child;
    let exited = false;
    child.once('exit', () => (exited = true));
    const outcome = await eventually(
      async () => (exited ? 'exited' : await docker.ping().then(() => 'up', () => undefined)),
      `private dockerd ${options.name} to answer on ${socket}`,
      60_000,
    );
    if (outcome === 'exited') throw new Error(`private dockerd ${options.name} exited at start; see ${options.logFile}`);
  };

  const stop = async (): Promise<void> => {
    const p = proc;
    if (!p?.pid || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill('SIGTERM');
    // dockerd stops its containers (10 s grace each, in parallel) unless it live-restores them.
    const timer = setTimeout(() => p.kill('SIGKILL'), 45_000);
    await gone;
    clearTimeout(timer);
  };

  const loadImage = async (from: Docker, image: string): Promise<void> => {
    if (await docker.getImage(image).inspect().then(() => true, () => false)) return;
    const tar = await from.getImage(image).get();
    const answer = await docker.loadImage(tar);
    await new Promise<void>((resolve, reject) => docker.modem.followProgress(answer, (err: unknown) => (err ? reject(err) : resolve())));
  };

  const dispose = async (): Promise<void> => {
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      for (const c of await docker.listContainers({ all: true }).catch(() => [])) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
      for (const n of await docker.listNetworks().catch(() => [])) {
        if (!['bridge', 'host', 'none'].includes(n.Name)) await docker.getNetwork(n.Id).remove().catch(() => undefined);
      }
      await stop();
    }
    await unmountUnder(execRoot);
    await unmountUnder(dataRoot);
    await rm(execRoot, { recursive: true, force: true });
    await rm(dataRoot, { recursive: true, force: true });
    await rm(socket, { force: true });
    await rm(pidFile, { force: true });
    await exec('ip', ['link', 'del', options.bridge.name]).catch(() => undefined);
  };

  await createBridge();
  await start({ liveRestore });
  return { socket, docker, start, stop, loadImage, dispose, [Symbol.asyncDispose]: dispose };
}
