import { mkdir, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { silentLogger, type Logger } from '@ippc/core';
import { createIsolationNodeDaemon, type NodeDaemonStatus, type IsolationNodeDaemon } from '../node-daemon/node-daemon.js';
import { createIsolationClient, type IsolationClient } from '../client.js';
import { installIsolationPlugin, type IsolationPluginFlavor } from '../cni/plugin.js';
import { packageBin } from '@ippc/core/testing';
import { PACKAGE_DIR } from './paths.js';
import { createIsolationService, type IsolationService } from '../service/service.js';
import { createCniRunner, type CniRunner, type Conflist } from './cni.js';
import { TEST_BRIDGE, TEST_NET, TEST_NET6 } from './resources.js';
import { createScratch, type Scratch } from './scratch.js';

// A REAL emulation of a cluster on one machine, for integration tests and benchmarks (names and
// addresses as below by default; resources.ts moves them with IPPC_TEST_* variables):
//
//   net namespace          bridge isobr0 = the "cluster network" (10.240.0.0/24, fd10:240::/64)
//   agent namespaces a<i>  node address 10.240.0.(10+i) on isoc0 (a veth to isobr0); a CNI bridge
//                          network isobr1 on 10.240.i.0/24 (Debian's bridge + host-local, then
//                          our ippc-isolation plugin); ippc-isolation-node runs here
//   container namespaces   one per container, attached by the CNI chain run in its agent's namespace
//
// The isolation service runs in this process on a unix socket, which every namespace can reach.

export interface EmulationOptions {
  /** Number of agents. Default 3. */
  agents?: number;
  /** Give agents and containers IPv6 addresses as well. Default false. */
  dualStack?: boolean;
  /** Node daemons as real processes in the agent namespaces (`ippc-isolation-node`), or in this process. Default 'process'. */
  daemons?: 'process' | 'in-process';
  /** nftables table name on every agent. Default `ippc_iso`. */
  table?: string;
  /** How long a CNI ADD waits for local enforcement. Default 5 s. */
  applyTimeoutMs?: number;
  /** Keep the service's state in a data file, so `stopService()` + `startService()` is a restart that keeps it. Default false. */
  persistService?: boolean;
  /** Flavour of the `ippc-isolation` executable the agents' CNI chains run. Default: native when `cc` compiles it. */
  pluginFlavor?: IsolationPluginFlavor;
  logger?: Logger;
}

export interface EmulatedAgent {
  id: string;
  /** Short namespace name within the scratch run. */
  ns: string;
  nsPath: string;
  nodeAddress: string;
  nodeAddress6?: string;
  subnet: string;
  subnet6?: string;
  /** The CNI bridge's address (the containers' gateway). */
  gateway: string;
  socket: string;
  dataDir: string;
  /** bridge + host-local, then ippc-isolation. */
  conflist: Conflist;
  /** The same network without ippc-isolation (a baseline). */
  baseConflist: Conflist;
  cni: CniRunner;
  /** The daemon's view (GET /status on its socket). */
  status(): Promise<NodeDaemonStatus>;
  /** Asks the daemon to rebuild its table from scratch (POST /resync). */
  resync(): Promise<void>;
  /** Stops the daemon (SIGTERM), keeping its checkpoint; `startDaemon` starts it again. */
  stopDaemon(): Promise<void>;
  startDaemon(): Promise<void>;
  /** The daemon's recent log lines (process mode), for failure messages. */
  logs(): string[];
}

export interface EmulatedContainer {
  name: string;
  ns: string;
  nsPath: string;
  agentId: string;
  containerId: string;
  ifName: string;
  address: string;
  address6?: string;
  groups: string[];
  result: Record<string, unknown>;
}

export interface Emulation {
  scratch: Scratch;
  /** The folder with the installed `ippc-isolation` executable (first on every agent's CNI_PATH). */
  pluginDir: string;
  pluginFlavor: IsolationPluginFlavor;
  service: IsolationService;
  serviceAddress: string;
  client: IsolationClient;
  agents: EmulatedAgent[];
  containers: Map<string, EmulatedContainer>;
  /** Creates a container namespace on an agent and runs the agent's CNI chain ADD for it. */
  addContainer(agentId: string, name: string, groups: string[], options?: { conflist?: Conflist }): Promise<EmulatedContainer>;
  /** DEL through the same chain (without CNI_NETNS when `netnsGone`), then removes the namespace. */
  removeContainer(name: string, options?: { netnsGone?: boolean }): Promise<void>;
  /** Waits until every agent's members are at the service and every agent applied its current revision. */
  settle(timeoutMs?: number): Promise<void>;
  /** Stops the isolation service (agents lose their connection and keep working locally). */
  stopService(): Promise<void>;
  /** Starts it again on the same address (with `persistService`, from its data file). */
  startService(): Promise<void>;
  close(): Promise<void>;
}

/** GET/POST to a daemon's unix socket. */
export function agentRequest(socket: string, method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, method, path, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} on ${socket} timed out`)));
    req.end();
  });
}

// IPv6 duplicate address detection off in every scratch namespace, for the devices made after
// this runs. While an address is tentative the kernel neither uses nor answers for it; worse, a
// router whose link-local address is tentative sends no neighbour solicitation for a packet it
// forwards (it needs a usable link-local source), so forwarded IPv6 is dropped for the first
// second or two of a link's life: the flaky timeouts of the cross-agent IPv6 probes.
const NO_DAD = 'sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0';

/** Waits (at most 5 s) until no IPv6 address in the namespace is tentative; throws with the listing if one stays. */
export async function waitForNoTentative(scratch: Scratch, ns: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await scratch.exec(ns, 'ip', ['-6', '-o', 'addr', 'show', 'tentative']);
    if (res.code === 0 && res.stdout.trim() === '') return;
    if (Date.now() > deadline)
      throw new Error(`IPv6 addresses in ${scratch.ns(ns)} still tentative after ${timeoutMs} ms: ${res.stdout.trim() || res.stderr.trim()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function createEmulation(options: EmulationOptions = {}): Promise<Emulation> {
  const n = options.agents ?? 3;
  const dual = options.dualStack ?? false;
  const table = options.table ?? 'ippc_iso';
  const log = options.logger ?? silentLogger();
  const scratch = await createScratch();
  const containers = new Map<string, EmulatedContainer>();
  const inProcess: IsolationNodeDaemon[] = [];
  let service: IsolationService | undefined;
  let client: IsolationClient | undefined;
  try {
    const serviceSocket = join(scratch.dir, 'isolation.sock');
    const serviceAddress = `unix:${serviceSocket}`;
    const serviceOptions = {
      auth: { disabled: true as const },
      logger: log,
      ...(options.persistService ? { dataFile: join(scratch.dir, 'isolation-state.json') } : {}),
    };
    service = await createIsolationService(serviceOptions);
    await service.listen(serviceAddress);
    client = createIsolationClient({ address: serviceAddress, auth: { disabled: true } });
    const pluginDir = join(scratch.dir, 'cni-bin');
    const plugin = installIsolationPlugin({ dir: pluginDir, flavor: options.pluginFlavor });

    await scratch.addNs('net');
    await scratch.sh('net', `${NO_DAD}\nip link add ${TEST_BRIDGE}0 type bridge && ip link set ${TEST_BRIDGE}0 up`);
    const agents: EmulatedAgent[] = [];
    for (let i = 1; i <= n; i++) {
      const id = `a${i}`;
      const dir = join(scratch.dir, id);
      await mkdir(join(dir, 'ipam'), { recursive: true });
      await scratch.addNs(id);
      // Before the link exists: a device takes the namespace's `default` settings when it is made.
      await scratch.sh(id, NO_DAD);
      await scratch.sh(undefined, `ip link add isoa${i} netns ${scratch.ns('net')} type veth peer name isoc0 netns ${scratch.ns(id)}`);
      await scratch.sh('net', `ip link set isoa${i} master ${TEST_BRIDGE}0 up`);
      const nodeAddress = `${TEST_NET}.0.${10 + i}`;
      const nodeAddress6 = dual ? `${TEST_NET6}::${10 + i}` : undefined;
      await scratch.sh(
        id,
        [
          'sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv6.conf.isoc0.accept_dad=0',
          `ip addr add ${nodeAddress}/24 dev isoc0`,
          nodeAddress6 ? `ip addr add ${nodeAddress6}/64 dev isoc0 nodad` : 'true',
          'ip link set isoc0 up',
        ].join('\n'),
      );
      const subnet = `${TEST_NET}.${i}.0/24`;
      const subnet6 = dual ? `${TEST_NET6}:0:${i}::/64` : undefined;
      const socket = join(dir, 'isolation.sock');
      const bridge = {
        type: 'bridge',
        bridge: `${TEST_BRIDGE}1`,
        isGateway: true,
        ipMasq: false,
        hairpinMode: false,
        ipam: {
          type: 'host-local',
          dataDir: join(dir, 'ipam'),
          ranges: [[{ subnet }], ...(subnet6 ? [[{ subnet: subnet6 }]] : [])],
          routes: [{ dst: '0.0.0.0/0' }, ...(subnet6 ? [{ dst: '::/0' }] : [])],
        },
      };
      const conflist: Conflist = { cniVersion: '1.0.0', name: 'isonet', plugins: [bridge, { type: 'ippc-isolation', socket }] };
      const baseConflist: Conflist = { cniVersion: '1.0.0', name: 'isonet', plugins: [bridge] };
      const lines: string[] = [];
      let child: ReturnType<Scratch['spawn']> | undefined;
      let inproc: IsolationNodeDaemon | undefined;
      const spec = { id, nodeAddresses: [nodeAddress, ...(nodeAddress6 ? [nodeAddress6] : [])], subnets: [subnet, ...(subnet6 ? [subnet6] : [])] };
      const agent: EmulatedAgent = {
        id,
        ns: id,
        nsPath: scratch.nsPath(id),
        nodeAddress,
        nodeAddress6,
        subnet,
        subnet6,
        gateway: `${TEST_NET}.${i}.1`,
        socket,
        dataDir: join(dir, 'data'),
        conflist,
        baseConflist,
        cni: createCniRunner(scratch, id, [pluginDir, '/usr/lib/cni']),
        async status() {
          const res = await agentRequest(socket, 'GET', '/status');
          return JSON.parse(res.body) as NodeDaemonStatus;
        },
        async resync() {
          const res = await agentRequest(socket, 'POST', '/resync');
          if (res.status !== 200) throw new Error(`resync on ${id}: ${res.body}`);
        },
        logs: () => [...lines],
        async stopDaemon() {
          if (inproc) {
            await inproc.close();
            inproc = undefined;
          }
          if (child && child.exitCode === null && child.signalCode === null) {
            const c = child;
            await new Promise<void>((resolve) => {
              const kill = setTimeout(() => c.kill('SIGKILL'), 5_000);
              c.once('exit', () => {
                clearTimeout(kill);
                resolve();
              });
              c.kill('SIGTERM');
            });
          }
          child = undefined;
        },
        async startDaemon() {
          if (options.daemons === 'in-process') {
            inproc = createIsolationNodeDaemon({
              agent: spec,
              client: client!,
              enforcer: { netns: scratch.nsPath(id), table },
              socketPath: socket,
              dataDir: join(dir, 'data'),
              applyTimeoutMs: options.applyTimeoutMs,
              logger: log,
            });
            inProcess.push(inproc);
            await inproc.start();
          } else {
            const args = [
              '--import',
              'tsx',
              packageBin('@ippc/isolation', 'ippc-isolation-node'),
              `--service=${serviceAddress}`,
              '--no_auth',
              `--agent_id=${id}`,
              `--socket=${socket}`,
              `--data_dir=${join(dir, 'data')}`,
              `--table=${table}`,
            ];
            for (const a of spec.nodeAddresses) args.push(`--node_address=${a}`);
            for (const s of spec.subnets) args.push(`--subnet=${s}`);
            if (options.applyTimeoutMs) args.push(`--apply_timeout=${options.applyTimeoutMs}ms`);
            let ready: () => void = () => undefined;
            const started = new Promise<void>((resolve) => (ready = resolve));
            child = scratch.spawn(id, process.execPath, args, {
              cwd: PACKAGE_DIR,
              env: { ...process.env, IPPC_LOG_LEVEL: process.env.IPPC_LOG_LEVEL ?? 'info' },
              onLine: (line) => {
                lines.push(line);
                if (lines.length > 200) lines.shift();
                if (line.includes('"ready":true')) ready();
              },
            });
            const c = child;
            await Promise.race([
              started,
              new Promise((_, reject) =>
                c.once('exit', (code) => reject(new Error(`ippc-isolation-node on ${id} exited with ${code}:\n${lines.slice(-20).join('\n')}`))),
              ),
              new Promise((_, reject) =>
                setTimeout(() => reject(new Error(`ippc-isolation-node on ${id} not ready in 30 s:\n${lines.slice(-20).join('\n')}`)), 30_000).unref(),
              ),
            ]);
          }
        },
      };
      agents.push(agent);
    }
    if (dual) for (const a of agents) await waitForNoTentative(scratch, a.ns);
    await Promise.all(agents.map((a) => a.startDaemon()));

    const emulation: Emulation = {
      scratch,
      pluginDir,
      pluginFlavor: plugin.flavor,
      get service() {
        if (!service) throw new Error('the isolation service is stopped: startService() first');
        return service;
      },
      serviceAddress,
      client,
      agents,
      containers,
      async addContainer(agentId, name, groups, opts = {}) {
        const agent = agents.find((a) => a.id === agentId);
        if (!agent) throw new Error(`no agent ${agentId}`);
        const ns = `${agentId}-${name}`;
        await scratch.addNs(ns);
        if (dual) await scratch.sh(ns, NO_DAD);
        const call = {
          containerId: `ctr-${name}`,
          netns: scratch.nsPath(ns),
          ifName: 'eth0',
          networkInfo: { name: 'isonet', ...(groups.length > 0 ? { groups } : {}) },
        };
        let result: Record<string, unknown>;
        try {
          result = await agent.cni.add(opts.conflist ?? agent.conflist, call);
        } catch (err) {
          // Like a runtime: every ADD is followed by a DEL, even a failed one.
          await agent.cni.del(opts.conflist ?? agent.conflist, call).catch(() => undefined);
          await scratch.exec(undefined, 'ip', ['netns', 'del', scratch.ns(ns)]);
          throw err;
        }
        const ips = (result.ips as { address: string }[]).map((ip) => ip.address.split('/')[0]!);
        if (dual) {
          await waitForNoTentative(scratch, ns);
          await waitForNoTentative(scratch, agent.ns);
        }
        const container: EmulatedContainer = {
          name,
          ns,
          nsPath: scratch.nsPath(ns),
          agentId,
          containerId: call.containerId,
          ifName: 'eth0',
          address: ips.find((a) => !a.includes(':'))!,
          address6: ips.find((a) => a.includes(':')),
          groups,
          result,
        };
        containers.set(name, container);
        return container;
      },
      async removeContainer(name, opts = {}) {
        const c = containers.get(name);
        if (!c) return;
        const agent = agents.find((a) => a.id === c.agentId)!;
        if (opts.netnsGone) await scratch.exec(undefined, 'ip', ['netns', 'del', scratch.ns(c.ns)]);
        await agent.cni.del(agent.conflist, { containerId: c.containerId, ifName: c.ifName, netns: opts.netnsGone ? undefined : c.nsPath }, c.result);
        if (!opts.netnsGone) await scratch.exec(undefined, 'ip', ['netns', 'del', scratch.ns(c.ns)]);
        containers.delete(name);
      },
      async settle(timeoutMs = 10_000) {
        const deadline = Date.now() + timeoutMs;
        // Agents tell the service about their members in the background (local first): wait until
        // every agent's checkpoint is at the service, then until every agent applied the result.
        for (const a of agents) {
          for (;;) {
            const st = await a.status();
            if (st.connected && st.unsynced === 0) break;
            if (Date.now() > deadline)
              throw new Error(`agent ${a.id} did not sync its members to the service: ${JSON.stringify(st)}\n${a.logs().slice(-10).join('\n')}`);
            await new Promise((r) => setTimeout(r, 10));
          }
        }
        const res = await client!.awaitApplied(undefined, Math.max(1, deadline - Date.now()));
        if (!res.allApplied) throw new Error(`agents did not apply revision ${res.revision} in ${timeoutMs} ms: ${JSON.stringify(res.agents)}`);
        // The service remembers acknowledgements of earlier daemon processes; ask the daemons too.
        for (const a of agents) {
          for (;;) {
            const st = await a.status();
            if (st.connected && st.epoch === service!.store.epoch && st.appliedRevision >= res.revision) break;
            if (Date.now() > deadline)
              throw new Error(`agent ${a.id} did not apply revision ${res.revision}: ${JSON.stringify(st)}\n${a.logs().slice(-10).join('\n')}`);
            await new Promise((r) => setTimeout(r, 10));
          }
        }
      },
      async stopService() {
        const s = service;
        service = undefined;
        await s?.close();
      },
      async startService() {
        if (service) return;
        await rm(serviceSocket, { force: true });
        service = await createIsolationService(serviceOptions);
        await service.listen(serviceAddress);
      },
      async close() {
        await Promise.allSettled(agents.map((a) => a.stopDaemon()));
        client?.close();
        await service?.close();
        await scratch.cleanup();
      },
    };
    await emulation.settle(30_000);
    return emulation;
  } catch (err) {
    await Promise.allSettled(inProcess.map((a) => a.close()));
    client?.close();
    await service?.close();
    await scratch.cleanup();
    throw err;
  }
}
