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
  const d: Daemon = {
    options,
    socket,
    execRoot: `/run/ippc-${options.name}`,
    dataRoot: `/var/lib/ippc-${options.name}`,
    pidFile: `/run/ippc-${options.name}.pid`,
    docker: new Docker({ socketPath: socket }),
    liveRestore: options.liveRestore ?? false,
  };

  // A daemon left by a killed run of the suite goes first (same name, same paths).
  const stale = existsSync(d.pidFile) ? Number(readFileSync(d.pidFile, 'utf8').trim()) : 0;
  if (stale > 0 && processAlive(stale)) {
    process.kill(stale, 'SIGTERM');
    if (!(await waitGone(stale, 20_000))) process.kill(stale, 'SIGKILL');
  }

  await createBridge(options.bridge);
  await start(d, { liveRestore: d.liveRestore });
  return {
    socket,
    docker: d.docker,
    start: (opts) => start(d, opts),
    stop: () => stop(d),
    loadImage: (from, image) => loadImage(d, from, image),
    dispose: () => dispose(d),
    [Symbol.asyncDispose]: () => dispose(d),
  };
}

/** One private daemon: where it lives, its client, and its process once started. */
interface Daemon {
  readonly options: PrivateDockerdOptions;
  readonly socket: string;
  readonly execRoot: string;
  readonly dataRoot: string;
  readonly pidFile: string;
  readonly docker: Docker;
  proc?: ChildProcess;
  /** The last start's `--live-restore`, kept for a start() that does not say. */
  liveRestore: boolean;
}

async function createBridge(bridge: PrivateDockerdOptions['bridge']): Promise<void> {
  const { name, address } = bridge;
  if (name.length > 15) throw new Error(`bridge name ${name} is longer than 15 characters`);
  if (!existsSync(`/sys/class/net/${name}`)) await exec('ip', ['link', 'add', name, 'type', 'bridge']);
  await exec('ip', ['addr', 'replace', address, 'dev', name]);
  await exec('ip', ['link', 'set', name, 'up']);
}

async function start(d: Daemon, opts: { liveRestore?: boolean } = {}): Promise<void> {
  const { options, socket, docker } = d;
  if (d.proc && d.proc.exitCode === null && d.proc.signalCode === null) throw new Error(`private dockerd ${options.name} already runs`);
  d.liveRestore = opts.liveRestore ?? d.liveRestore;
  const fd = openSync(options.logFile, 'a');
  const args = [
    `--host=unix://${socket}`,
    `--data-root=${d.dataRoot}`,
    `--exec-root=${d.execRoot}`,
    `--pidfile=${d.pidFile}`,
    `--bridge=${options.bridge.name}`,
    '--iptables=false',
    '--ip6tables=false',
    '--ip-forward=false',
    '--ip-masq=false',
    ...(d.liveRestore ? ['--live-restore'] : []),
  ];
  const child = spawn('dockerd', args, { stdio: ['ignore', fd, fd] });
  d.proc = child;
  let exited = false;
  child.once('exit', () => (exited = true));
  const outcome = await eventually(
    async () =>
      exited
        ? 'exited'
        : await docker.ping().then(
            () => 'up',
            () => undefined,
          ),
    `private dockerd ${options.name} to answer on ${socket}`,
    60_000,
  );
  if (outcome === 'exited') throw new Error(`private dockerd ${options.name} exited at start; see ${options.logFile}`);
}

async function stop(d: Daemon): Promise<void> {
  const p = d.proc;
  if (!p?.pid || p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => p.once('exit', () => resolve()));
  p.kill('SIGTERM');
  // dockerd stops its containers (10 s grace each, in parallel) unless it live-restores them.
  const timer = setTimeout(() => p.kill('SIGKILL'), 45_000);
  await gone;
  clearTimeout(timer);
}

async function loadImage(d: Daemon, from: Docker, image: string): Promise<void> {
  const { docker } = d;
  if (
    await docker
      .getImage(image)
      .inspect()
      .then(
        () => true,
        () => false,
      )
  )
    return;
  const tar = await from.getImage(image).get();
  const answer = await docker.loadImage(tar);
  await new Promise<void>((resolve, reject) => docker.modem.followProgress(answer, (err: unknown) => (err ? reject(err) : resolve())));
}

async function dispose(d: Daemon): Promise<void> {
  const { docker, proc } = d;
  if (proc && proc.exitCode === null && proc.signalCode === null) {
    for (const c of await docker.listContainers({ all: true }).catch(() => []))
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined);
    for (const n of await docker.listNetworks().catch(() => [])) {
      if (!['bridge', 'host', 'none'].includes(n.Name))
        await docker
          .getNetwork(n.Id)
          .remove()
          .catch(() => undefined);
    }
    await stop(d);
  }
  await unmountUnder(d.execRoot);
  await unmountUnder(d.dataRoot);
  await rm(d.execRoot, { recursive: true, force: true });
  await rm(d.dataRoot, { recursive: true, force: true });
  await rm(d.socket, { force: true });
  await rm(d.pidFile, { force: true });
  await exec('ip', ['link', 'del', d.options.bridge.name]).catch(() => undefined);
}
