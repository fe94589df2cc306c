import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  NetworkInfo_Protocol,
  TaskState,
  TaskStatus_Reason,
  TaskStatus_Source,
  type NetworkInfo,
  type Offer,
  type Resource,
  type TaskStatus,
} from '@ippc/proto';
import { addResources, subtractResources, type AgentStateJson } from '@ippc/mesos';
import { type Scheduler, type TaskSpec } from '@ippc/scheduler';
import { createNodeWorld, eventually, getJson, INSPECT_AND_SERVE, type Census, type NodeWorld } from './testing/node-world.js';

// IP-per-container through the real agent: a real master and a real ippc-agent process (in a
// scratch node namespace) with the built-in network/cni isolator, real CNI plugins (Debian's
// bridge, ptp, host-local, portmap; ippc's ippc-ipam installed by the agent) and the real central
// IPAM service. Everything goes through the framework API and /master/state. Needs root.

const net = (name: string, extra: Partial<NetworkInfo> = {}): NetworkInfo => ({ name, groups: [], ipAddresses: [], portMappings: [], ...extra });

let w: NodeWorld;
let s: Scheduler;
let baseline: Census;

/** Every outstanding offer (one agent here): returned resources come back as offers of their own. */
async function offers(): Promise<{ offers: Offer[]; resources: Resource[] }> {
  await s.awaitOffers({ timeoutMs: 20_000 });
  const all = [...s.offers.values()];
  return { offers: all, resources: all.reduce<Resource[]>((acc, o) => addResources(acc, o.resources), []) };
}

async function launch(spec: Omit<TaskSpec, 'command'> & { command?: string }): Promise<{ id: string }> {
  const { id } = (await launchMany([spec]))[0]!;
  return { id };
}

async function launchMany(specs: Array<Omit<TaskSpec, 'command'> & { command?: string }>): Promise<Array<{ id: string }>> {
  const o = await offers();
  let left = o.resources;
  const tasks = specs.map((spec) => {
    const task = s.taskFromOffer(o.offers[0]!, { cpus: 0.1, mem: 32, command: INSPECT_AND_SERVE, ...spec }, left);
    left = subtractResources(left, task.resources);
    return task;
  });
  await s.launch(o.offers, tasks, { refuseSeconds: 0 });
  return tasks.map((t) => ({ id: t.taskId!.value! }));
}

async function kill(id: string): Promise<void> {
  await s.kill(id);
  await s.waitForState(id, 'TASK_KILLED', 30_000);
}

const v4Of = (st: TaskStatus, network?: string) =>
  (st.containerStatus?.networkInfos ?? [])
    .filter((n) => !network || n.name === network)
    .flatMap((n) => n.ipAddresses.filter((a) => a.protocol !== NetworkInfo_Protocol.IPv6).map((a) => a.ipAddress!))[0]!;

const leases = async (network?: string) => w.ipam.client.listLeases(network ? { network } : {});

/** The container id the agent gave a task (from the agent's /state). */
interface ExecutorView {
  container: string;
  directory: string;
  statistics?: Record<string, unknown>;
}
async function executorOf(id: string): Promise<ExecutorView> {
  return eventually<ExecutorView>(async () => {
    const st = await getJson<AgentStateJson>(`${w.agent!.url}/state`);
    for (const f of st.frameworks) for (const e of [...f.executors, ...f.completed_executors]) if (e.id === id) return e as unknown as ExecutorView;
    return undefined;
  }, `the executor of ${id}`);
}

/** The JSON line the task printed (what the container sees). */
async function inspect(
  id: string,
): Promise<{ hostname: string; hosts: string; resolv: string; libprocessIp: string | null; interfaces: Record<string, string[]> }> {
  const { directory } = await executorOf(id);
  const line = await eventually(async () => (await readFile(join(directory, 'stdout'), 'utf8')).split('\n').find((l) => l.startsWith('{')), `output of ${id}`);
  return JSON.parse(line) as never;
}

/** `hello <task>` from the container's server, read from inside the node namespace. */
async function hello(ip: string, port = 8080): Promise<string> {
  return (
    await w.inNode('timeout', ['5', 'bash', '-c', `cat < /dev/tcp/${ip}/${port}`], { timeoutMs: 10_000 }).catch((e: Error) => `unreachable: ${e.message}`)
  ).trim();
}

/** A TCP read from this process (the root namespace: another machine, as far as the node is concerned). */
function readFrom(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port, timeout: 5000 });
    let data = '';
    sock.on('data', (d) => (data += d.toString()));
    sock.on('end', () => resolve(data.trim()));
    sock.on('timeout', () => sock.destroy(new Error(`timeout connecting to ${host}:${port}`)));
    sock.on('error', reject);
  });
}

async function expectClean(what: string): Promise<void> {
  let last: Census | undefined;
  try {
    await eventually(
      async () => {
        last = await w.census();
        return JSON.stringify(last) === JSON.stringify(baseline) ? true : undefined;
      },
      `nothing left behind after ${what}`,
      20_000,
    );
  } catch {
    assert.deepEqual(last, baseline, `nothing left behind after ${what}`);
  }
}

/** The failed launch a framework sees, from the update stream and from /master/state. */
async function expectLaunchFailure(id: string, message: string | RegExp): Promise<void> {
  const failed = await s.waitForState(id, 'TASK_FAILED', 30_000);
  assert.equal(failed.reason, TaskStatus_Reason.REASON_CONTAINER_LAUNCH_FAILED);
  assert.equal(failed.source, TaskStatus_Source.SOURCE_AGENT);
  if (typeof message === 'string') assert.equal(failed.message, message);
  else assert.match(failed.message ?? '', message);
  assert.equal(failed.containerStatus, undefined, 'the task never reached an executor: no container_status (Mesos)');
  const statuses = s.statuses.get(id) ?? [];
  assert.deepEqual(
    statuses.map((x) => TaskState[x.state!]),
    ['TASK_FAILED'],
    'the first and only update',
  );
  const task = await eventually(
    async () => (await w.masterState()).frameworks.flatMap((f) => [...f.tasks, ...f.completed_tasks]).find((t) => t.id === id),
    `${id} in /master/state`,
  );
  assert.equal(task.state, 'TASK_FAILED');
}

const RECORDER = (log: string) => `#!/bin/sh
# A chained CNI plugin that records each call and passes prevResult on (ADD).
conf=$(cat)
if [ "$CNI_COMMAND" = VERSION ]; then echo '{"cniVersion":"1.0.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0"]}'; exit 0; fi
ips=$(printf '%s' "$conf" | jq -c '[.prevResult.ips[]?.address]')
echo "$CNI_COMMAND $CNI_CONTAINERID $CNI_IFNAME $ips \${CNI_NETNS:+netns}" >> ${log}
if [ "$CNI_COMMAND" = ADD ]; then printf '%s' "$conf" | jq -c '.prevResult'; fi
exit 0
`;

const FAILING = (log: string) => `#!/bin/sh
cat > /dev/null
echo "$CNI_COMMAND $CNI_CONTAINERID" >> ${log}
if [ "$CNI_COMMAND" = ADD ]; then echo 'Plugin failed'; echo 'boom on stderr' >&2; exit 1; fi
exit 0
`;

describe('IP-per-container through the agent (network/cni, real plugins, real IPAM)', { timeout: 900_000 }, () => {
  let recorderLog: string;
  let failLog: string;

  before(async () => {
    w = await createNodeWorld({
      agentArgs: [
        // DNS for ippc-ptp only: containers on other networks keep the host's resolver file.
        `--default_container_dns=${JSON.stringify({ mesos: [{ network_mode: 'CNI', network_name: 'ippc-ptp', dns: { nameservers: ['10.236.254.53'], search: ['an.test'], options: ['ndots:2'] } }] })}`,
      ],
    });
    recorderLog = join(w.dir, 'recorder.log');
    failLog = join(w.dir, 'fail.log');
    await w.writePlugin('an-recorder', RECORDER(recorderLog));
    await w.writePlugin('an-fail', FAILING(failLog));
    const ipamSection = (subnet: string) => ({ type: 'ippc-ipam', ranges: [[{ subnet }]], routes: [{ dst: '0.0.0.0/0' }], daemonSocket: w.ipamSocket });
    // Chaining: bridge (with ippc-ipam) -> a recorder -> portmap.
    await w.writeConfig('20-chain.conflist', {
      cniVersion: '1.0.0',
      name: 'an-chain',
      plugins: [
        { type: 'bridge', bridge: `anbr${w.id}c`, isGateway: true, ipMasq: false, ipam: ipamSection(w.subnets.spare[0]!) },
        { type: 'an-recorder' },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    });
    // A plugin that fails ADD after bridge + ippc-ipam succeeded.
    await w.writeConfig('30-fail.conflist', {
      cniVersion: '1.0.0',
      name: 'an-fail',
      plugins: [{ type: 'bridge', bridge: `anbr${w.id}f`, isGateway: true, ipMasq: false, ipam: ipamSection(w.subnets.spare[1]!) }, { type: 'an-fail' }],
    });
    // A Mesos-era single config with a CNI 0.2.0 result (ip4).
    await w.writeConfig('40-v020.conf', {
      cniVersion: '0.2.0',
      name: 'an-v020',
      type: 'bridge',
      bridge: `anbr${w.id}o`,
      isGateway: true,
      ipMasq: false,
      ipam: ipamSection(w.subnets.spare[2]!),
    });
    await w.startAgent();
    await w.waitForAgents(1);
    s = await w.scheduler('cni-tests');
    // portmap creates its chains and jumps once, on first use, and keeps them: warm up, then count.
    const warm = await launch({
      name: 'warm-up',
      command: 'exec sleep 600',
      networks: [net('ippc-bridge', { portMappings: [{ hostPort: 34099, containerPort: 8080 }] })],
    });
    await s.waitForState(warm.id, 'TASK_RUNNING', 30_000);
    await kill(warm.id);
    await eventually(async () => ((await leases()).length === 0 ? true : undefined), 'the warm-up to be cleaned up');
    baseline = await w.census();
  });

  // A failed test must not leave its containers to the next one.
  afterEach(async () => {
    const live = (await w.masterState()).frameworks
      .flatMap((f) => f.tasks)
      .filter((t) => !['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_LOST', 'TASK_ERROR'].includes(t.state));
    for (const t of live) await s.kill(t.id).catch(() => undefined);
    for (const t of live) await s.waitForState(t.id, ['TASK_KILLED', 'TASK_FAILED', 'TASK_FINISHED', 'TASK_LOST'], 30_000).catch(() => undefined);
  });

  after(async () => {
    await w?.dispose();
  });

  it('one network: a unique address from the IPAM service, in TASK_RUNNING and /master/state, reachable, released on kill', async () => {
    const { id } = await launch({ name: 'one', networks: [net('ippc-bridge', { groups: ['web'] })] });
    const running = await s.waitForState(id, 'TASK_RUNNING', 30_000);
    const infos = running.containerStatus!.networkInfos;
    assert.equal(infos.length, 1);
    assert.equal(infos[0]!.name, 'ippc-bridge');
    assert.deepEqual(infos[0]!.groups, ['web']);
    const v4 = v4Of(running);
    const v6 = infos[0]!.ipAddresses.find((a) => a.protocol === NetworkInfo_Protocol.IPv6)?.ipAddress;
    assert.match(v4, new RegExp(`^10\\.236\\.${3 * w.n + 1}\\.`));
    assert.ok(v6 && v6.startsWith(`fd10:236:${w.n.toString(16)}:1:`), `IPv6 from the second range: ${v6}`);
    const held = await leases('ippc-bridge');
    assert.equal(held.length, 1);
    assert.deepEqual(held[0]!.addresses.map((a) => a.address).sort(), [v4, v6!.split('/')[0]].sort());
    assert.deepEqual(held[0]!.groups, ['web']);
    const st = await w.masterState();
    const task = st.frameworks.flatMap((f) => f.tasks).find((t) => t.id === id)!;
    const reported = task.statuses.at(-1)!.container_status!.network_infos![0]!;
    assert.equal(reported.name, 'ippc-bridge');
    assert.ok(reported.ip_addresses!.some((a) => a.ip_address === v4 && a.protocol === 'IPv4'));
    const seen = await inspect(id);
    assert.equal(seen.libprocessIp, '0.0.0.0');
    assert.ok(seen.interfaces.eth0?.includes(v4), JSON.stringify(seen.interfaces));
    assert.equal(await hello(v4), `hello ${id}`);
    // CNI 1.0.0 result, checkpointed as Mesos keeps it.
    const { container } = await executorOf(id);
    const info = JSON.parse(await readFile(join(w.cniRootDir, container, 'ippc-bridge', 'eth0', 'network.info'), 'utf8')) as {
      cniVersion: string;
      ips: Array<{ address: string }>;
    };
    assert.equal(info.cniVersion, '1.0.0');
    assert.ok(info.ips.some((ip) => ip.address.startsWith(`${v4}/`)));
    await kill(id);
    // TASK_KILLED comes when the task ended; the DEL (and the release) follows as the container is destroyed.
    await eventually(async () => ((await leases('ippc-bridge')).length === 0 ? true : undefined), 'the address to be released');
    await expectClean('a kill');
  });

  it('two networks: eth0 and eth1 in request order, each address reported under its network', async () => {
    const { id } = await launch({ name: 'two', networks: [net('ippc-ptp'), net('ippc-bridge')] });
    const running = await s.waitForState(id, 'TASK_RUNNING', 30_000);
    const infos = running.containerStatus!.networkInfos;
    assert.deepEqual(
      infos.map((n) => n.name),
      ['ippc-ptp', 'ippc-bridge'],
    );
    const ptp = v4Of(running, 'ippc-ptp');
    const bridge = v4Of(running, 'ippc-bridge');
    assert.match(ptp, new RegExp(`^10\\.236\\.${3 * w.n + 2}\\.`));
    assert.match(bridge, new RegExp(`^10\\.236\\.${3 * w.n + 1}\\.`));
    const seen = await inspect(id);
    assert.ok(seen.interfaces.eth0?.includes(ptp), `eth0 is the first network: ${JSON.stringify(seen.interfaces)}`);
    assert.ok(seen.interfaces.eth1?.includes(bridge), `eth1 is the second: ${JSON.stringify(seen.interfaces)}`);
    assert.equal(await hello(ptp), `hello ${id}`);
    assert.equal(await hello(bridge), `hello ${id}`);
    const task = (await w.masterState()).frameworks.flatMap((f) => f.tasks).find((t) => t.id === id)!;
    assert.deepEqual(
      task.statuses.at(-1)!.container_status!.network_infos!.map((n) => n.name),
      ['ippc-ptp', 'ippc-bridge'],
    );
    await kill(id);
    await expectClean('a kill of a two-network container');
  });

  it('several containers at once get unique addresses, and the host-local network works beside the ippc-ipam ones', async () => {
    const tasks = await launchMany(
      Array.from({ length: 6 }, (_, i) => ({ name: `many-${i}`, command: 'exec sleep 600', networks: [net(i % 2 ? 'ippc-local' : 'ippc-bridge')] })),
    );
    const running = await Promise.all(tasks.map((t) => s.waitForState(t.id, 'TASK_RUNNING', 30_000)));
    const ips = running.map((r) => v4Of(r));
    assert.equal(new Set(ips).size, ips.length, `unique: ${ips.join(' ')}`);
    const st = await w.masterState();
    const inState = st.frameworks
      .flatMap((f) => f.tasks)
      .filter((t) => t.name.startsWith('many-'))
      .map((t) => t.statuses.at(-1)!.container_status!.network_infos![0]!.ip_addresses![0]!.ip_address);
    assert.deepEqual([...inState].sort(), [...ips].sort());
    for (const t of tasks) await kill(t.id);
    await expectClean('several kills');
  });

  it("unknown network: TASK_FAILED, REASON_CONTAINER_LAUNCH_FAILED, Mesos's message, nothing left behind", async () => {
    const { id } = await launch({ name: 'unknown', networks: [net('an-nope')] });
    await expectLaunchFailure(id, "Failed to launch container: Unknown CNI network 'an-nope'");
    await expectClean('an unknown network');
  });

  it("the same network twice: Mesos's message, nothing left behind", async () => {
    const { id } = await launch({ name: 'twice', networks: [net('ippc-bridge'), net('ippc-bridge')] });
    await expectLaunchFailure(id, "Failed to launch container: Attempted to join CNI network 'ippc-bridge' multiple times");
    await expectClean('a network named twice');
  });

  it('a failing plugin: the plugin message with stdout and stderr, DEL of the whole chain, the address released', async () => {
    const { id } = await launch({ name: 'fails', networks: [net('ippc-bridge'), net('an-fail')] });
    await expectLaunchFailure(
      id,
      /^Failed to launch container: The CNI plugin '.*\/an-fail' failed to attach container [0-9a-f-]{36} to CNI network 'an-fail': stdout='Plugin failed\n', stderr='boom on stderr\n'$/,
    );
    const calls = (await readFile(failLog, 'utf8')).trim().split('\n');
    assert.equal(calls.length, 2, calls.join('\n'));
    assert.match(calls[0]!, /^ADD /);
    assert.match(calls[1]!, /^DEL /, 'a failed ADD is followed by DEL (Mesos)');
    await expectClean('a failing plugin');
    assert.equal((await leases()).length, 0, 'both addresses released (the one of ippc-bridge and the one bridge got before an-fail failed)');
  });

  it('dynamic add and delete of a config: the next launch sees it, and a running container still gets its DEL', async () => {
    const bridge = `anbr${w.id}d`;
    const file = await w.writeConfig('50-dyn.conflist', {
      cniVersion: '1.0.0',
      name: 'an-dyn',
      plugins: [
        {
          type: 'bridge',
          bridge,
          isGateway: true,
          ipMasq: false,
          ipam: { type: 'host-local', ranges: [[{ subnet: `10.236.${3 * w.n + 3}.224/28` }]], dataDir: join(w.workDir, 'cni', 'networks') },
        },
      ],
    });
    const { id } = await launch({ name: 'dyn', networks: [net('an-dyn')] });
    const ip = v4Of(await s.waitForState(id, 'TASK_RUNNING', 30_000));
    assert.match(ip, new RegExp(`^10\\.236\\.${3 * w.n + 3}\\.(22[5-9]|23\\d)$`), 'from the added config');
    await rm(file);
    const second = await launch({ name: 'dyn-gone', networks: [net('an-dyn')] });
    await expectLaunchFailure(second.id, "Failed to launch container: Unknown CNI network 'an-dyn'");
    await kill(id);
    await expectClean('a container whose config was deleted');
    await w.inNode('ip', ['link', 'del', bridge]).catch(() => undefined);
  });

  it('hostname override, /etc/hosts and /etc/hostname of the container', async () => {
    const { id } = await launch({
      name: 'named',
      networks: [net('ippc-bridge')],
      container: { type: 2, hostname: 'an-web-1', networkInfos: [], volumes: [] } as never,
    });
    const ip = v4Of(await s.waitForState(id, 'TASK_RUNNING', 30_000));
    const seen = await inspect(id);
    assert.equal(seen.hostname, 'an-web-1');
    assert.match(seen.hosts, new RegExp(`^${ip.replace(/\./g, '\\.')}\\s+an-web-1$`, 'm'));
    assert.match(seen.hosts, /^127\.0\.0\.1\s+localhost/m);
    await kill(id);
    await expectClean('a named container');
  });

  it('resolver file: --default_container_dns for the network, else the host resolver file', async () => {
    const a = await launch({ name: 'dns-ptp', networks: [net('ippc-ptp')] });
    const b = await launch({ name: 'dns-bridge', networks: [net('ippc-bridge')] });
    await s.waitForState(a.id, 'TASK_RUNNING', 30_000);
    await s.waitForState(b.id, 'TASK_RUNNING', 30_000);
    const ptp = await inspect(a.id);
    assert.match(ptp.resolv, /^nameserver 10\.236\.254\.53$/m);
    assert.match(ptp.resolv, /^search an\.test$/m);
    assert.match(ptp.resolv, /^options ndots:2$/m);
    assert.equal((await inspect(b.id)).resolv, await readFile('/etc/resolv.conf', 'utf8'));
    await kill(a.id);
    await kill(b.id);
    await expectClean('DNS');
  });

  it("port mapping: reachable on the agent's address from another machine", async () => {
    const { id } = await launch({
      name: 'mapped',
      ports: [34042],
      networks: [net('ippc-bridge', { portMappings: [{ hostPort: 34042, containerPort: 8080, protocol: 'tcp' }] })],
    });
    await s.waitForState(id, 'TASK_RUNNING', 30_000);
    await inspect(id);
    assert.equal(await eventually(async () => readFrom(w.agentIp, 34042), 'the mapped port'), `hello ${id}`);
    const task = (await w.masterState()).frameworks.flatMap((f) => f.tasks).find((t) => t.id === id)!;
    assert.deepEqual(task.statuses.at(-1)!.container_status!.network_infos![0]!.port_mappings, [{ host_port: 34042, container_port: 8080, protocol: 'tcp' }]);
    await kill(id);
    await expectClean('a port mapping');
    await assert.rejects(readFrom(w.agentIp, 34042), 'the mapping is gone with the container');
  });

  it('a conflist with chaining: the chained plugin gets prevResult on ADD and its DEL on kill', async () => {
    await writeFile(recorderLog, '');
    const { id } = await launch({ name: 'chain', networks: [net('an-chain')] });
    const ip = v4Of(await s.waitForState(id, 'TASK_RUNNING', 30_000));
    const { container } = await executorOf(id);
    await inspect(id);
    const adds = (await readFile(recorderLog, 'utf8')).trim().split('\n');
    assert.deepEqual(adds, [`ADD ${container} eth0 ["${ip}/27"] netns`]);
    assert.equal(await hello(ip), `hello ${id}`);
    await kill(id);
    await eventually(async () => ((await readFile(recorderLog, 'utf8')).includes(`DEL ${container}`) ? true : undefined), 'the DEL');
    await expectClean('a chained network');
  });

  it('a CNI 0.2.0 single config (ip4 result, ippc-ipam) reports its address as Mesos does', async () => {
    const { id } = await launch({ name: 'v020', networks: [net('an-v020')] });
    const running = await s.waitForState(id, 'TASK_RUNNING', 30_000);
    const ip = v4Of(running);
    assert.equal(running.containerStatus!.networkInfos[0]!.name, 'an-v020');
    const { container } = await executorOf(id);
    const info = JSON.parse(await readFile(join(w.cniRootDir, container, 'an-v020', 'eth0', 'network.info'), 'utf8')) as {
      cniVersion: string;
      ip4: { ip: string };
    };
    assert.equal(info.cniVersion, '0.2.0');
    assert.equal(info.ip4.ip.split('/')[0], ip);
    await inspect(id);
    assert.equal(await hello(ip), `hello ${id}`);
    await kill(id);
    await expectClean('a 0.2.0 network');
  });

  it('network statistics per container, task and network: /metrics, /state, /monitor/statistics and GET_CONTAINERS of /api/v1 (with the addresses)', async () => {
    const { id } = await launch({ name: 'stats', networks: [net('ippc-ptp'), net('ippc-bridge')] });
    const ip = v4Of(await s.waitForState(id, 'TASK_RUNNING', 30_000), 'ippc-bridge');
    await inspect(id);
    for (let i = 0; i < 3; i++) assert.equal(await hello(ip), `hello ${id}`);
    const { container } = await executorOf(id);
    const metrics = await (await fetch(`${w.agent!.url}/metrics`)).text();
    const line = metrics
      .split('\n')
      .find((l) => l.startsWith('ippc_agent_container_net_rx_bytes{') && l.includes(`container_id="${container}"`) && l.includes('network="ippc-bridge"'));
    assert.ok(
      line,
      metrics
        .split('\n')
        .filter((l) => l.includes('net_rx'))
        .join('\n'),
    );
    assert.match(line, new RegExp(`task_id="${id}"`));
    assert.match(line, /interface="eth1"/);
    assert.ok(Number(line.split(' ').at(-1)) > 0, line);
    const ex = await executorOf(id);
    const stats = ex.statistics as {
      net_rx_bytes: number;
      net_tx_packets: number;
      net_interfaces: Array<{ interface: string; network: string; net_rx_bytes: number }>;
    };
    assert.ok(stats.net_rx_bytes > 0 && stats.net_tx_packets > 0, JSON.stringify(stats));
    assert.deepEqual(
      stats.net_interfaces.map((i) => [i.interface, i.network]),
      [
        ['eth0', 'ippc-ptp'],
        ['eth1', 'ippc-bridge'],
      ],
    );
    assert.equal(
      stats.net_rx_bytes,
      stats.net_interfaces.reduce((n, i) => n + i.net_rx_bytes, 0),
    );
    const monitor = await getJson<Array<{ executor_id: string; statistics: { net_tx_bytes: number } }>>(`${w.agent!.url}/monitor/statistics`);
    assert.ok(monitor.find((m) => m.executor_id === id)!.statistics.net_tx_bytes > 0);
    // The agent's operator API: GET_CONTAINERS carries the same container, its addresses and counters.
    const api = await fetch(`${w.agent!.url}/api/v1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${w.token}` },
      body: JSON.stringify({ type: 'GET_CONTAINERS' }),
    });
    assert.equal(api.status, 200, await api.clone().text());
    type Container = {
      executor_id: { value: string };
      container_id: { value: string };
      container_status: { network_infos: Array<{ name: string; ip_addresses: Array<{ ip_address: string }> }> };
      resource_statistics: { net_rx_bytes: number; net_tx_packets: number };
    };
    const { get_containers } = (await api.json()) as { get_containers: { containers: Container[] } };
    const c = get_containers.containers.find((x) => x.executor_id.value === id)!;
    assert.equal(c.container_id.value, container);
    assert.deepEqual(
      c.container_status.network_infos.map((n) => n.name),
      ['ippc-ptp', 'ippc-bridge'],
    );
    assert.ok(
      c.container_status.network_infos[1]!.ip_addresses.some((a) => a.ip_address === ip),
      JSON.stringify(c.container_status),
    );
    assert.ok(c.resource_statistics.net_rx_bytes > 0 && c.resource_statistics.net_tx_packets > 0, JSON.stringify(c.resource_statistics));
    await kill(id);
    await expectClean('statistics');
  });

  it('agent restart with a live container: same address, no DEL, still reachable, state as before', async () => {
    await writeFile(recorderLog, '');
    const { id } = await launch({ name: 'survivor', networks: [net('an-chain'), net('ippc-bridge')] });
    const running = await s.waitForState(id, 'TASK_RUNNING', 30_000);
    const ips = [v4Of(running, 'an-chain'), v4Of(running, 'ippc-bridge')];
    const before = await leases();
    await w.stopAgent('SIGTERM');
    assert.equal(await hello(ips[1]!), `hello ${id}`, 'the container runs on while the agent is away');
    await w.startAgent();
    await w.waitForAgents(1);
    s.reconcile([{ taskId: { value: id } } as never]).catch(() => undefined);
    const task = await eventually(async () => {
      const t = (await w.masterState()).frameworks.flatMap((f) => f.tasks).find((x) => x.id === id);
      return t?.state === 'TASK_RUNNING' ? t : undefined;
    }, 'the task running after the restart');
    assert.deepEqual(
      task.statuses.at(-1)!.container_status!.network_infos!.map((n) => n.ip_addresses![0]!.ip_address),
      ips,
    );
    const after = await leases();
    assert.deepEqual(
      after.map((l) => [l.handle, l.epoch]),
      before.map((l) => [l.handle, l.epoch]),
      'the same leases: no DEL, no new ADD',
    );
    assert.ok(!(await readFile(recorderLog, 'utf8')).includes('DEL'), 'no DEL at recovery');
    assert.equal(await hello(ips[0]!), `hello ${id}`);
    const agentState = await getJson<AgentStateJson>(`${w.agent!.url}/state`);
    const exec = agentState.frameworks.flatMap((f) => f.executors).find((e) => e.id === id)!;
    assert.deepEqual(
      exec.tasks[0]!.statuses.at(-1)!.container_status!.network_infos!.map((n) => n.ip_addresses![0]!.ip_address),
      ips,
    );
    assert.ok((exec.statistics as { net_rx_bytes: number }).net_rx_bytes > 0, 'statistics after recovery');
    await kill(id);
    await expectClean('a recovered container');
  });

  it('a container killed while the agent was down: DEL at recovery, addresses released, TASK_FAILED', async () => {
    await writeFile(recorderLog, '');
    const { id } = await launch({ name: 'victim', command: 'exec sleep 600', networks: [net('an-chain'), net('ippc-bridge')] });
    const running = await s.waitForState(id, 'TASK_RUNNING', 30_000);
    const pid = running.containerStatus!.executorPid!;
    const { container } = await executorOf(id);
    await w.stopAgent('SIGTERM');
    process.kill(pid, 'SIGKILL');
    await w.startAgent();
    await w.waitForAgents(1);
    const failed = await s.waitForState(id, 'TASK_FAILED', 30_000);
    assert.match(failed.message ?? '', /signal|Killed/i);
    await eventually(async () => ((await readFile(recorderLog, 'utf8')).includes(`DEL ${container} eth0`) ? true : undefined), 'the DEL at recovery');
    await eventually(async () => ((await leases()).length === 0 ? true : undefined), 'the addresses released at the IPAM service');
    await expectClean('a container that vanished while the agent was down');
  });
});
