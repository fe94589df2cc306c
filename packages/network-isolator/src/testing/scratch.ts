import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sh } from '@ippc/core/testing';

// A scratch world for integration tests and the benchmark: a private "agent" network namespace
// (cnihost-*) where plugins create bridges, veths and iptables rules, a "client" namespace wired to
// it by a veth so the agent has an address others reach (port mappings), a temp dir for configs,
// checkpoints and host-local's store, and container processes made the way a containerizer makes
// them. `dispose()` removes all of it, also after a failed test.

export { sh } from '@ippc/core/testing';

/** A process in new net, uts and mnt namespaces, held before it runs its task (a containerizer's launch). */
export interface ContainerProcess {
  pid: number;
  /** Lets the held process exec its task (the containerizer does this after `isolate`). */
  release(): void;
  /** Lines the task printed so far. */
  output: string[];
  /** Resolves with the first line matching `re` (bounded wait). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  kill(): Promise<void>;
  child: ChildProcess;
}

export interface SpawnContainerOptions {
  /** The task to exec once released. Default: sleep. */
  command?: string[];
  env?: Record<string, string>;
  /**
   * Mount propagation of the new mount namespace (unshare's `--propagation`). Default `slave`,
   * what the isolator asks of a containerizer.
   */
  propagation?: 'slave' | 'private' | 'unchanged';
}

export interface Scratch {
  id: string;
  dir: string;
  configDir: string;
  rootDir: string;
  dataDir: string;
  /** A folder for plugin scripts of the test (first in the search path), then Debian's plugins. */
  pluginDir: string;
  pluginDirs: string[];
  hostNs: string;
  hostNsPath: string;
  clientNs: string;
  /** The agent's address on the client link. */
  agentIp: string;
  clientIp: string;
  /** Creates a named netns `cni-<id>-<suffix>` (deleted by dispose) and returns its path. */
  addNetns(suffix: string): Promise<string>;
  /** Deletes a netns made by {@link addNetns}. */
  delNetns(path: string): Promise<void>;
  /** Runs `file args` inside a named or path network namespace. */
  inNetns(ns: string, file: string, args: string[], options?: { timeoutMs?: number }): Promise<string>;
  /** Writes an executable script into `pluginDir`. */
  writePlugin(name: string, script: string): Promise<string>;
  writeConfig(file: string, config: unknown): Promise<string>;
  spawnContainer(options?: SpawnContainerOptions): Promise<ContainerProcess>;
  /** Counts of what the world holds: for leftover checks. */
  census(): Promise<Census>;
  dispose(): Promise<void>;
}

export interface Census {
  /** Network namespaces alive that we made (container netns are counted by their veths). */
  namedNetns: number;
  /** veth interfaces in the scratch agent namespace. */
  veths: number;
  /** Address files in host-local's store (all networks). */
  hostLocalAddresses: number;
  /** Entries in the checkpoint root. */
  checkpoints: number;
  /** `-A` rules in iptables (all tables) of the scratch agent namespace. */
  iptablesRules: number;
  /** Mounts under the scratch dir (netns handles, the root's own bind). */
  mounts: number;
  /** ifb devices (bandwidth plugin) in the scratch agent namespace. */
  ifbs: number;
}

const DEBIAN_PLUGINS = '/usr/lib/cni';

async function mountsUnder(dir: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p && (p === dir || p.startsWith(`${dir}/`)))
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8))));
}

/**
 * Creates the scratch world. `subnet` is the /24 prefix of the agent–client link, e.g. `10.220.250`.
 */
export async function createScratch(options: { subnet?: string } = {}): Promise<Scratch> {
  const id = randomBytes(3).toString('hex');
  const dir = await mkdtemp('/tmp/cni-');
  const hostNs = `cnihost-${id}`;
  const clientNs = `cni-cl-${id}`;
  const link = options.subnet ?? '10.220.250';
  const children = new Set<ContainerProcess>();
  const named = new Set<string>();
  const scratch: Scratch = {
    id,
    dir,
    configDir: join(dir, 'net.d'),
    rootDir: join(dir, 'root'),
    dataDir: join(dir, 'host-local'),
    pluginDir: join(dir, 'plugins'),
    pluginDirs: [join(dir, 'plugins'), DEBIAN_PLUGINS],
    hostNs,
    hostNsPath: `/run/netns/${hostNs}`,
    clientNs,
    agentIp: `${link}.1`,
    clientIp: `${link}.2`,

    async addNetns(suffix) {
      const name = `cni-${id}-${suffix}`;
      await sh('ip', ['netns', 'add', name]);
      named.add(name);
      await sh('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
      return `/run/netns/${name}`;
    },

    async delNetns(path) {
      const name = path.split('/').pop()!;
      await sh('ip', ['netns', 'del', name]);
      named.delete(name);
    },

    async inNetns(ns, file, args, opts) {
      const path = ns.startsWith('/') ? ns : `/run/netns/${ns}`;
      return sh('nsenter', [`--net=${path}`, '--', file, ...args], opts);
    },

    async writePlugin(name, script) {
      const path = join(scratch.pluginDir, name);
      await writeFile(path, script);
      await chmod(path, 0o755);
      return path;
    },

    async writeConfig(file, config) {
      const path = join(scratch.configDir, file);
      await writeFile(path, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
      return path;
    },

    async spawnContainer(opts = {}) {
      const command = opts.command ?? ['sleep', '600'];
      // The held process prints its pid once it is inside the new namespaces, then waits for a line
      // on stdin before it execs the task: the containerizer's launch, in shell.
      const child = spawn(
        'unshare',
        ['--net', '--uts', '--mount', `--propagation=${opts.propagation ?? 'slave'}`, '--', 'sh', '-c', 'echo "$$"; read go; exec "$@"', 'sh', ...command],
        { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...opts.env } },
      );
      const output: string[] = [];
      const waiters: Array<{ re: RegExp; resolve: (l: string) => void }> = [];
      let buf = '';
      const onData = (d: Buffer) => {
        buf += d.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          output.push(line);
          for (const w of [...waiters])
            if (w.re.test(line)) {
              waiters.splice(waiters.indexOf(w), 1);
              w.resolve(line);
            }
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const waitFor = (re: RegExp, timeoutMs = 10_000) => {
        const seen = output.find((l) => re.test(l));
        if (seen) return Promise.resolve(seen);
        return new Promise<string>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`timed out waiting for ${re} in container output: ${output.join(' | ')}`)), timeoutMs);
          waiters.push({ re, resolve: (l) => (clearTimeout(t), resolve(l)) });
        });
      };
      const proc: ContainerProcess = {
        pid: 0,
        output,
        child,
        waitFor,
        release: () => child.stdin!.write('go\n'),
        async kill() {
          if (child.exitCode === null && child.signalCode === null) {
            child.kill('SIGKILL');
            await exited;
          }
          children.delete(proc);
        },
      };
      children.add(proc);
      proc.pid = Number(await waitFor(/^\d+$/));
      return proc;
    },

    async census() {
      const count = async (fn: () => Promise<number>) => fn().catch(() => -1);
      const links = await scratch.inNetns(hostNs, 'ip', ['-o', 'link', 'show']).catch(() => '');
      const walk = async (d: string): Promise<number> => {
        const { readdir } = await import('node:fs/promises');
        let n = 0;
        for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
          if (e.isDirectory()) n += await walk(join(d, e.name));
          else if (/^[0-9a-f.:]+$/.test(e.name)) n += 1; // one file per address; skip lock, last_reserved_ip.*
        }
        return n;
      };
      return {
        namedNetns: await count(async () => (await sh('ip', ['netns', 'list'])).split('\n').filter((l) => l.includes(id)).length),
        veths: links.split('\n').filter((l) => /veth/.test(l)).length,
        ifbs: links.split('\n').filter((l) => /: (bwp|ifb)/.test(l)).length,
        hostLocalAddresses: await walk(scratch.dataDir),
        checkpoints: await count(async () => (await (await import('node:fs/promises')).readdir(scratch.rootDir)).length),
        iptablesRules: await count(async () => {
          let n = 0;
          for (const table of ['filter', 'nat', 'mangle']) {
            n += (await scratch.inNetns(hostNs, 'iptables', ['-t', table, '-S'])).split('\n').filter((l) => l.startsWith('-A')).length;
          }
          return n;
        }),
        mounts: (await mountsUnder(dir)).length,
      };
    },

    async dispose() {
      for (const c of [...children]) await c.kill().catch(() => undefined);
      // Deepest first: netns handles under the root, then the root's own bind mount.
      for (const m of (await mountsUnder(dir)).reverse()) {
        await sh('umount', [m]).catch(() => sh('umount', ['-l', m]).catch(() => undefined));
      }
      // Deleting the namespaces takes their bridges, veths, ifbs and iptables rules with them.
      for (const ns of [...named, clientNs, hostNs]) await sh('ip', ['netns', 'del', ns]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };

  try {
    for (const d of [scratch.configDir, scratch.rootDir, scratch.dataDir, scratch.pluginDir]) await mkdir(d, { recursive: true });
    await sh('ip', ['netns', 'add', hostNs]);
    await sh('ip', ['netns', 'add', clientNs]);
    const agentIf = `cniag${id}`;
    await sh('ip', ['-n', hostNs, 'link', 'set', 'lo', 'up']);
    await sh('ip', ['-n', clientNs, 'link', 'set', 'lo', 'up']);
    await sh('ip', ['-n', hostNs, 'link', 'add', agentIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', clientNs]);
    await sh('ip', ['-n', hostNs, 'addr', 'add', `${scratch.agentIp}/24`, 'dev', agentIf]);
    await sh('ip', ['-n', hostNs, 'link', 'set', agentIf, 'up']);
    await sh('ip', ['-n', clientNs, 'addr', 'add', `${scratch.clientIp}/24`, 'dev', 'eth0']);
    await sh('ip', ['-n', clientNs, 'link', 'set', 'eth0', 'up']);
    // The client reaches container subnets through the agent, as another host on the LAN would.
    await sh('ip', ['-n', clientNs, 'route', 'add', 'default', 'via', scratch.agentIp]);
    await scratch.inNetns(hostNs, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  } catch (err) {
    await scratch.dispose();
    throw err;
  }
  return scratch;
}

/** An HTTP task for containers: answers what the container looks like from inside. */
export const INSPECT_SERVER = [
  'node',
  '-e',
  `const fs = require('fs'), os = require('os');
   const read = (p) => { try { return fs.readFileSync(p, 'utf8'); } catch (e) { return 'ERR ' + e.code; } };
   require('http').createServer((req, res) => res.end(JSON.stringify({
     hostname: os.hostname(), hosts: read('/etc/hosts'), etcHostname: read('/etc/hostname'), resolv: read('/etc/resolv.conf'),
     libprocessIp: process.env.LIBPROCESS_IP ?? null, remote: req.socket.remoteAddress,
     interfaces: Object.fromEntries(Object.entries(os.networkInterfaces()).map(([k, v]) => [k, v.map((a) => a.address)])),
   }))).listen(8080, '::', () => console.log('listening'));`,
];

/** GETs `http://<ip>:<port>/` from inside a namespace with curl and parses the JSON answer. */
export async function probe(scratch: Scratch, ns: string, ip: string, port: number): Promise<Record<string, unknown>> {
  const host = ip.includes(':') ? `[${ip}]` : ip;
  const out = await scratch.inNetns(ns, 'curl', ['-sS', '-m', '5', `http://${host}:${port}/`], { timeoutMs: 10_000 });
  return JSON.parse(out) as Record<string, unknown>;
}
