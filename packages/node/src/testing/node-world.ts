import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { silentLogger } from '@ippc/core';
import { eventually, getJson, packageBin, runLogged, sh, waitForLog, type RunningProcess } from '@ippc/core/testing';
import { createEmbeddedStore, createIpamClient, createIpamServer, createIpamService, type IpamClient, type IpamServer, type IpamService } from '@ippc/ipam';
import { createIsolationClient, createIsolationService, type IsolationClient, type IsolationService } from '@ippc/isolation';
import { type MasterStateJson } from '@ippc/mesos';
import { connectScheduler, type Scheduler } from '@ippc/scheduler';

// A scratch ippc node for integration tests and benchmarks, as real as it gets on one machine:
// - a "host" network namespace `anhost-<id>` standing for the node: the agent process runs in it
//   (nsenter --net, so it keeps the machine's mount namespace and its mounts survive a restart),
//   and the CNI plugins it runs put their bridges (`anbr<id>*`), veths and iptables rules there;
// - a veth `an-<id>-r` (root) / `an-<id>-h` (node) on 10.236.254.<4n>/30: the master and the IPAM
//   service listen on the root side, the agent on the node side, so the test process reaches the
//   agent's address (port mappings) the way another machine would;
// - the central IPAM service in this process (embedded store in the temp dir), the real master
//   and the real agent as processes, ippc's CNI plugins installed by the agent itself;
// - subnets 10.236.<3n+1..3n+3>.0/24 and fd10:236:<n>:<1..3>::/64, host ports 34000-34099.
// The `an` names, 10.236, fd10:236 and the ports are defaults: `IPPC_TEST_NODE_NET` (or the `net`
// option) moves a suite to ranges of its own, e.g. `prefix=rl,ipv4=10.237,ipv6=fd10:237,ports=37000`.
// `dispose()` removes everything, also after a failed test.

export const AGENT_BIN = packageBin('@ippc/node', 'ippc-agent');
export const MASTER_BIN = packageBin('@ippc/master', 'ippc-master');
const DEBIAN_PLUGINS = '/usr/lib/cni';

export { eventually, getJson, sh, waitForLog, type RunningProcess } from '@ippc/core/testing';

/** What the node holds: compared before and after to prove nothing is left behind. */
export interface Census {
  /** Network namespaces of the world's containers alive (by their processes) plus netns handles mounted under the world's folder. */
  namespaces: number;
  /** veths in the node namespace (the link to the root namespace not counted). */
  veths: number;
  /** Leases held at the IPAM service. */
  leases: number;
  /** host-local address files (ippc-local). */
  hostLocalAddresses: number;
  /** Entries in the network/cni checkpoint root and the Mesos containerizer's runtime folder. */
  checkpoints: number;
  /** `-A` rules in filter, nat and mangle of the node namespace. */
  iptablesRules: number;
  /** Task processes alive (environment carries a sandbox under the world's folder). */
  processes: number;
}

export interface AgentProcess extends RunningProcess {
  url: string;
  args: string[];
}

export interface NodeWorldOptions {
  /** IPAM cool-down of released addresses. Default 1000 ms (short: tests recycle quickly). */
  cooldownMs?: number;
  /** Extra flags for every agent start. */
  agentArgs?: string[];
  /** Default true: install the default networks (bridge, ptp, local) with IPv6 on the bridge. */
  defaultNetworks?: boolean;
  /** Run an isolation service in this process and have the agent run the isolation node daemon (ippc-isolation chained into the default networks). */
  isolation?: boolean;
  /** Names and ranges; default `nodeNet()` (the `an` defaults or `IPPC_TEST_NODE_NET`). */
  net?: Partial<NodeNet>;
}

export interface NodeWorld {
  id: string;
  n: number;
  net: NodeNet;
  /** The agent's offered host ports, first and last. */
  hostPorts: [number, number];
  dir: string;
  token: string;
  tokenFile: string;
  hostNs: string;
  hostNsPath: string;
  rootIp: string;
  agentIp: string;
  configDir: string;
  /** Where the agent installs ippc's plugins (first in its search path). */
  pluginDir: string;
  /** A folder for the tests' own plugins (second in the search path). */
  testPluginDir: string;
  pluginPath: string;
  workDir: string;
  runtimeDir: string;
  cniRootDir: string;
  ipamSocket: string;
  /** Subnets of this world: bridge (v4, v6), ptp, local, and three spare /24s for tests' own networks. */
  subnets: { bridge: string; bridge6: string; ptp: string; local: string; spare: string[] };
  bridgeName: string;
  ipam: { service: IpamService; server: IpamServer; address: string; client: IpamClient };
  /** With `isolation: true`. */
  isolation?: { service: IsolationService; address: string; client: IsolationClient; socket: string };
  masterAddress: string;
  masterUrl: string;
  master: RunningProcess;
  agent?: AgentProcess;
  /** The flags every agent start uses (before `extra`). */
  agentArgs(extra?: string[]): string[];
  /** Starts the agent (in the node namespace) and waits until it serves. */
  startAgent(extra?: string[]): Promise<AgentProcess>;
  /** SIGTERM (tasks keep running) and waits for the exit. */
  stopAgent(signal?: NodeJS.Signals): Promise<void>;
  /** Waits until the master lists exactly `n` active agents. */
  waitForAgents(n: number): Promise<void>;
  scheduler(name: string): Promise<Scheduler>;
  masterState(): Promise<MasterStateJson>;
  /** Runs a command in the node namespace. */
  inNode(file: string, args: string[], options?: { timeoutMs?: number }): Promise<string>;
  writeConfig(file: string, config: unknown): Promise<string>;
  writePlugin(name: string, script: string): Promise<string>;
  census(): Promise<Census>;
  dispose(): Promise<void>;
}

/** Names and ranges of a world, so that suites running side by side on one machine keep apart. */
export interface NodeNet {
  /** Prefix of namespaces, links, bridges, temp dirs and hostnames (2 letters: link names stay under 15). Default `an`. */
  prefix: string;
  /** The /16 of the node link and the subnets, as `a.b`. Default `10.236`. */
  ipv4: string;
  /** The first two groups of the IPv6 subnets, as `x:y`. Default `fd10:236`. */
  ipv6: string;
  /** First of the 100 host ports the agent offers. Default 34000. */
  ports: number;
}

/** The defaults, overridden by `IPPC_TEST_NODE_NET` (`key=value` pairs separated by commas). */
export function nodeNet(spec = process.env.IPPC_TEST_NODE_NET): NodeNet {
  const out: NodeNet = { prefix: 'an', ipv4: '10.236', ipv6: 'fd10:236', ports: 34000 };
  for (const pair of (spec ?? '').split(',').filter((p) => p.trim())) {
    const [key, value = ''] = pair.split('=').map((x) => x.trim());
    if (key === 'prefix' && /^[a-z]{2}$/.test(value)) out.prefix = value;
    else if (key === 'ipv4' && /^\d{1,3}\.\d{1,3}$/.test(value)) out.ipv4 = value;
    else if (key === 'ipv6' && /^[0-9a-f]{1,4}:[0-9a-f]{1,4}$/.test(value)) out.ipv6 = value;
    else if (key === 'ports' && /^\d+$/.test(value) && Number(value) > 0 && Number(value) < 65436) out.ports = Number(value);
    else throw new Error(`IPPC_TEST_NODE_NET: bad '${pair}' (expected prefix=<2 letters>,ipv4=<a.b>,ipv6=<x:y>,ports=<first port>)`);
  }
  return out;
}

async function mountsUnder(dir: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p && (p === dir || p.startsWith(`${dir}/`)))
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8))));
}

/** Processes whose environment names a sandbox under `dir`: pid → net namespace. */
async function taskProcesses(dir: string): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  const needle = `MESOS_SANDBOX=${dir}/`;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = await readFile(`/proc/${entry}/environ`, 'latin1');
      if (!env.includes(needle)) continue;
      out.set(Number(entry), await readlink(`/proc/${entry}/ns/net`));
    } catch {
      // gone meanwhile, or a kernel thread
    }
  }
  return out;
}

async function pickSlot(net: NodeNet): Promise<number> {
  const used = await sh('ip', ['-o', 'addr', 'show']);
  const names = await sh('ip', ['netns', 'list']);
  for (let tries = 0; tries < 64; tries++) {
    const n = Math.floor(Math.random() * 60);
    if (used.includes(`${net.ipv4}.254.${4 * n + 1}/`) || names.includes(`${net.prefix}host-${n.toString(16).padStart(2, '0')}`)) continue;
    return n;
  }
  throw new Error(`no free slot in ${net.ipv4}.254.0/24 for a scratch node`);
}

/** Creates the world: namespaces, link, IPAM service, master. The agent is started by the test. */
export async function createNodeWorld(options: NodeWorldOptions = {}): Promise<NodeWorld> {
  const nn = { ...nodeNet(), ...options.net };
  const { prefix: px, ipv4: v4, ipv6: v6 } = nn;
  const n = await pickSlot(nn);
  const id = `${n.toString(16).padStart(2, '0')}${randomBytes(2).toString('hex')}`;
  const dir = await mkdtemp(`/tmp/${px}-`);
  const hostNs = `${px}host-${id}`;
  const rootIf = `${px}-${id}-r`;
  const nodeIf = `${px}-${id}-h`;
  const rootIp = `${v4}.254.${4 * n + 1}`;
  const agentIp = `${v4}.254.${4 * n + 2}`;
  const token = randomBytes(16).toString('hex');
  const tokenFile = join(dir, 'token');
  const cleanups: Array<() => Promise<unknown>> = [];
  let agentProc: AgentProcess | undefined;
  const schedulers: Scheduler[] = [];

  const world = {
    id,
    n,
    net: nn,
    hostPorts: [nn.ports, nn.ports + 99],
    dir,
    token,
    tokenFile,
    hostNs,
    hostNsPath: `/run/netns/${hostNs}`,
    rootIp,
    agentIp,
    configDir: join(dir, 'net.d'),
    pluginDir: join(dir, 'plugins'),
    testPluginDir: join(dir, 'test-plugins'),
    pluginPath: [join(dir, 'plugins'), join(dir, 'test-plugins'), DEBIAN_PLUGINS].join(':'),
    workDir: join(dir, 'work'),
    runtimeDir: join(dir, 'work', 'run'),
    cniRootDir: join(dir, 'work', 'run', 'isolators', 'network', 'cni'),
    ipamSocket: join(dir, 'ipam.sock'),
    subnets: {
      bridge: `${v4}.${3 * n + 1}.0/24`,
      bridge6: `${v6}:${n.toString(16)}:1::/64`,
      ptp: `${v4}.${3 * n + 2}.0/24`,
      local: `${v4}.${3 * n + 3}.0/25`,
      spare: [`${v4}.${3 * n + 3}.128/27`, `${v4}.${3 * n + 3}.160/27`, `${v4}.${3 * n + 3}.192/27`],
    },
    bridgeName: `${px}br${id}a`,
  } as NodeWorld;

  world.inNode = (file, args, o) => sh('nsenter', [`--net=${world.hostNsPath}`, '--', file, ...args], o);
  world.writeConfig = async (file, config) => {
    const path = join(world.configDir, file);
    await writeFile(`${path}.tmp`, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
    await (await import('node:fs/promises')).rename(`${path}.tmp`, path);
    return path;
  };
  world.writePlugin = async (name, script) => {
    const path = join(world.testPluginDir, name);
    await writeFile(path, script);
    await chmod(path, 0o755);
    return path;
  };
  world.agentArgs = (extra = []) => [
    `--master=${world.masterAddress}`,
    `--ip=${agentIp}`,
    '--port=5051',
    `--hostname=${px}-node-${id}`,
    `--work_dir=${world.workDir}`,
    `--runtime_dir=${world.runtimeDir}`,
    `--resources=cpus:16;mem:8192;disk:4096;ports:[${nn.ports}-${nn.ports + 99}]`,
    `--token_file=${tokenFile}`,
    '--executor_shutdown_grace_period=1secs',
    '--containerizers=mesos',
    '--isolation=network/cni',
    `--network_cni_config_dir=${world.configDir}`,
    `--network_cni_plugins_dir=${world.pluginPath}`,
    `--install_cni_plugins=${world.pluginDir}`,
    ...(options.defaultNetworks === false
      ? []
      : [
          `--install_cni_networks=ippc-bridge=${world.subnets.bridge},${world.subnets.bridge6};ippc-ptp=${world.subnets.ptp};ippc-local=${world.subnets.local}`,
        ]),
    `--cni_bridge_name=${world.bridgeName}`,
    `--cni_local_bridge_name=${px}br${id}l`,
    `--ipam_service=${world.ipam.address}`,
    `--ipam_socket=${world.ipamSocket}`,
    ...(world.isolation
      ? [`--isolation_service=${world.isolation.address}`, `--isolation_socket=${world.isolation.socket}`, `--isolation_agent_id=${px}-node-${id}`]
      : []),
    ...(options.agentArgs ?? []),
    ...extra,
  ];
  world.startAgent = async (extra = []) => {
    const args = world.agentArgs(extra);
    const proc = runLogged(
      ['nsenter', `--net=${world.hostNsPath}`, '--', process.execPath, '--import', 'tsx', AGENT_BIN, ...args],
      join(dir, 'agent.log'),
      dirname(AGENT_BIN),
    );
    const before = existsSync(proc.logFile) ? proc.log().length : 0;
    const m = await waitForLog(proc, /"url":"(http:\/\/[0-9.]+:\d+)"[^\n]*"msg":"agent listening"/, 60_000, before);
    agentProc = { ...proc, url: m[1]!, args };
    world.agent = agentProc;
    return agentProc;
  };
  world.stopAgent = async (signal = 'SIGTERM') => {
    const a = agentProc;
    if (!a) return;
    a.proc.kill(signal);
    await Promise.race([a.exited, new Promise((r) => setTimeout(r, 15_000))]);
    a.proc.kill('SIGKILL');
    await a.exited;
    agentProc = undefined;
    delete world.agent;
  };
  world.masterState = () => getJson<MasterStateJson>(`${world.masterUrl}/master/state`);
  world.waitForAgents = async (count) => {
    await eventually(async () => ((await world.masterState()).activated_slaves === count ? true : undefined), `${count} active agent(s)`, 30_000);
  };
  world.scheduler = async (name) => {
    const s = await connectScheduler({ master: world.masterAddress, auth: { token }, framework: { name, capabilities: ['TASK_KILLING_STATE'] } });
    schedulers.push(s);
    return s;
  };
  world.census = async () => {
    const count = async (fn: () => Promise<number>) => fn().catch(() => -1);
    const rootNs = await readlink('/proc/self/ns/net');
    const hostNsInode = (await sh('stat', ['-L', '-c', '%i', world.hostNsPath]).catch(() => '')).trim();
    const procs = await taskProcesses(dir);
    const ns = new Set([...procs.values()].filter((n) => n !== rootNs && !n.includes(`[${hostNsInode}]`)));
    const handles = (await mountsUnder(dir)).filter((m) => m.endsWith('/ns'));
    const links = await world.inNode('ip', ['-o', 'link', 'show', 'type', 'veth']).catch(() => '');
    const walk = async (d: string): Promise<number> => {
      let k = 0;
      for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
        if (e.isDirectory()) k += await walk(join(d, e.name));
        else if (/^[0-9a-f.:]+$/.test(e.name)) k += 1;
      }
      return k;
    };
    return {
      namespaces: ns.size + handles.length,
      veths: links.split('\n').filter((l) => l.trim() && !l.includes(nodeIf)).length,
      leases: await count(async () => (await world.ipam.client.listLeases()).length),
      hostLocalAddresses: await walk(join(world.workDir, 'cni', 'networks')),
      checkpoints: await count(
        async () => (await readdir(world.cniRootDir).catch(() => [])).length + (await readdir(join(world.runtimeDir, 'containers')).catch(() => [])).length,
      ),
      iptablesRules: await count(async () => {
        let k = 0;
        for (const table of ['filter', 'nat', 'mangle'])
          k += (await world.inNode('iptables', ['-t', table, '-S'])).split('\n').filter((l) => l.startsWith('-A')).length;
        return k;
      }),
      processes: procs.size,
    };
  };
  world.dispose = async () => {
    for (const s of schedulers.splice(0)) await s.close().catch(() => undefined);
    // Tasks first (SIGUSR1: the agent kills them and runs DEL), then whatever survived.
    if (agentProc) await world.stopAgent('SIGUSR1').catch(() => undefined);
    for (const pid of (await taskProcesses(dir).catch(() => new Map<number, string>())).keys()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
    for (const m of (await mountsUnder(dir)).reverse()) await sh('umount', [m]).catch(() => sh('umount', ['-l', m]).catch(() => undefined));
    // Deleting the namespace takes its bridges, veths and iptables rules with it; the root end of the link goes with its peer.
    await sh('ip', ['netns', 'del', hostNs]).catch(() => undefined);
    await sh('ip', ['link', 'del', rootIf]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await writeFile(tokenFile, token, { mode: 0o600 });
    for (const d of [world.configDir, world.pluginDir, world.testPluginDir, world.workDir]) await mkdir(d, { recursive: true });
    await sh('ip', ['netns', 'add', hostNs]);
    await world.inNode('ip', ['link', 'set', 'lo', 'up']);
    await sh('ip', ['link', 'add', rootIf, 'type', 'veth', 'peer', 'name', nodeIf, 'netns', hostNs]);
    cleanups.push(() => sh('ip', ['link', 'del', rootIf]));
    await sh('ip', ['addr', 'add', `${rootIp}/30`, 'dev', rootIf]);
    await sh('ip', ['link', 'set', rootIf, 'up']);
    await world.inNode('ip', ['addr', 'add', `${agentIp}/30`, 'dev', nodeIf]);
    await world.inNode('ip', ['link', 'set', nodeIf, 'up']);
    await world.inNode('ip', ['route', 'add', 'default', 'via', rootIp]);
    await world.inNode('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    await world.inNode('sysctl', ['-qw', 'net.ipv6.conf.all.forwarding=1']);

    const service = createIpamService({
      store: createEmbeddedStore({ path: join(dir, 'ipam') }),
      cooldownMs: options.cooldownMs ?? 1000,
      logger: silentLogger(),
    });
    const server = createIpamServer({ service, auth: { token }, logger: silentLogger() });
    const port = await server.listen(`${rootIp}:0`);
    await service.ready();
    const address = `${rootIp}:${port}`;
    const client = createIpamClient({ address, auth: { token } });
    world.ipam = { service, server, address, client };
    cleanups.push(async () => {
      client.close();
      await server.close();
      await service.close();
    });

    if (options.isolation) {
      const isolation = await createIsolationService({ auth: { token }, logger: silentLogger() });
      const iport = await isolation.listen(`${rootIp}:0`);
      const iaddress = `${rootIp}:${iport}`;
      const iclient = createIsolationClient({ address: iaddress, auth: { token } });
      world.isolation = { service: isolation, address: iaddress, client: iclient, socket: join(dir, 'isolation.sock') };
      cleanups.push(async () => {
        iclient.close();
        await isolation.close();
      });
    }

    const master = runLogged(
      [process.execPath, '--import', 'tsx', MASTER_BIN, `--ip=${rootIp}`, '--port=0', `--token_file=${tokenFile}`, '--allocation_interval=50ms'],
      join(dir, 'master.log'),
      dirname(MASTER_BIN),
    );
    cleanups.push(async () => {
      master.proc.kill('SIGKILL');
      await master.exited;
    });
    world.master = master;
    const m = await waitForLog(master, /"address":"([0-9.]+:\d+)"[^\n]*"msg":"master ready"/);
    world.masterAddress = m[1]!;
    world.masterUrl = `http://${world.masterAddress}`;
  } catch (err) {
    await world.dispose();
    throw err;
  }
  return world;
}

/** A task command: serves `hello <task>` on TCP 8080 (v4 and v6), then prints what the container sees (one JSON line). */
export const INSPECT_AND_SERVE = `exec ${process.execPath} -e "
const fs = require('fs'), os = require('os');
const read = (p) => { try { return fs.readFileSync(p, 'utf8'); } catch (e) { return 'ERR ' + e.code; } };
require('net').createServer((c) => c.end('hello ' + process.env.MESOS_TASK_ID + '\\\\n')).listen(8080, '::', () =>
  console.log(JSON.stringify({ hostname: os.hostname(), hosts: read('/etc/hosts'), resolv: read('/etc/resolv.conf'), libprocessIp: process.env.LIBPROCESS_IP || null,
    interfaces: Object.fromEntries(Object.entries(os.networkInterfaces()).map(([k, v]) => [k, v.map((a) => a.address)])) })));
"`;
