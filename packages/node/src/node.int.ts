import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Docker from 'dockerode';
import { planBootstrap } from '@ippc/host';
import { ContainerInfo_DockerInfo_Network, ContainerInfo_Type, NetworkInfo_Protocol, type NetworkInfo, type TaskStatus } from '@ippc/proto';
import { addResources, subtractResources, type AgentStateJson } from '@ippc/mesos';
import { type Scheduler, type TaskSpec } from '@ippc/scheduler';
import type { Resource } from '@ippc/proto';
import { AGENT_BIN, createNodeWorld, eventually, getJson, INSPECT_AND_SERVE, type NodeWorld } from './testing/node-world.js';

// The agent as a complete node: the isolation node daemon running in the agent's process (its
// enforcer in the node namespace, ippc-isolation chained into the default networks), the Docker
// containerizer beside the Mesos one (--containerizers=docker,mesos), and the agent's refusal of
// bad flags. Needs root and (for the Docker part) the Docker daemon.

const net = (name: string, extra: Partial<NetworkInfo> = {}): NetworkInfo => ({ name, groups: [], ipAddresses: [], portMappings: [], ...extra });
const v4Of = (st: TaskStatus) =>
  (st.containerStatus?.networkInfos ?? []).flatMap((n) => n.ipAddresses.filter((a) => a.protocol !== NetworkInfo_Protocol.IPv6).map((a) => a.ipAddress!))[0]!;

async function launchMany(s: Scheduler, specs: Array<Omit<TaskSpec, 'command'> & { command?: string }>): Promise<string[]> {
  await s.awaitOffers({ timeoutMs: 20_000 });
  const offers = [...s.offers.values()];
  let left = offers.reduce<Resource[]>((acc, o) => addResources(acc, o.resources), []);
  const tasks = specs.map((spec) => {
    const t = s.taskFromOffer(offers[0]!, { cpus: 0.1, mem: 32, command: INSPECT_AND_SERVE, ...spec }, left);
    left = subtractResources(left, t.resources);
    return t;
  });
  await s.launch(offers, tasks, { refuseSeconds: 0 });
  return tasks.map((t) => t.taskId!.value!);
}

async function serving(w: NodeWorld, id: string): Promise<void> {
  const dir = await eventually(async () => {
    const st = await getJson<AgentStateJson>(`${w.agent!.url}/state`);
    return st.frameworks.flatMap((f) => f.executors).find((e) => e.id === id)?.directory;
  }, `the sandbox of ${id}`);
  await eventually(async () => ((await readFile(join(dir, 'stdout'), 'utf8')).includes('{') ? true : undefined), `${id} serving`);
}

describe('the agent runs the isolation node daemon in its process', { timeout: 300_000 }, () => {
  let w: NodeWorld;
  let s: Scheduler;

  before(async () => {
    w = await createNodeWorld({ isolation: true });
    await w.startAgent();
    await w.waitForAgents(1);
    s = await w.scheduler('isolation-tests');
  });
  after(async () => {
    await w?.dispose();
  });

  it('chains ippc-isolation into the default networks and registers the agent with its subnets', async () => {
    const conf = JSON.parse(await readFile(join(w.configDir, 'ippc-bridge.conflist'), 'utf8')) as { plugins: Array<{ type: string; socket?: string }> };
    assert.deepEqual(
      conf.plugins.map((p) => p.type),
      ['bridge', 'ippc-isolation', 'portmap'],
    );
    assert.equal(conf.plugins[1]!.socket, w.isolation!.socket);
    const { agents } = await w.isolation!.client.listAgents();
    const me = agents.find((a) => a.id === `an-node-${w.id}`);
    assert.ok(me, JSON.stringify(agents));
    assert.deepEqual(me.nodeAddresses, [w.agentIp]);
    // The IPv6 range of ippc-bridge is not announced: the agent has no IPv6 node address to route it through.
    assert.deepEqual([...me.subnets].sort(), [w.subnets.bridge, w.subnets.ptp, w.subnets.local].sort());
    const health = await getJson<{ isolation?: { connected: boolean }; ipam?: { socket: string } }>(`${w.agent!.url}/health`);
    assert.equal(health.ipam?.socket, w.ipamSocket);
    await eventually(
      async () => ((await getJson<{ isolation?: { connected: boolean } }>(`${w.agent!.url}/health`)).isolation?.connected ? true : undefined),
      'the isolation node daemon connected',
    );
  });

  it('enforces groups: a member is reached by its own group, not by another; membership follows the container', async () => {
    // The agent answers ippc-isolation in its own process (no exec, no socket): the installed
    // forwarder is swapped for one that fails and logs, so an exec of it would fail the launch.
    const execLog = join(w.pluginDir, '..', 'ippc-isolation-exec.log');
    const plugin = join(w.pluginDir, 'ippc-isolation');
    await writeFile(
      `${plugin}.tmp`,
      `#!/bin/sh\necho "$CNI_COMMAND" >> ${execLog}\necho '{"cniVersion":"1.0.0","code":999,"msg":"the ippc-isolation binary ran"}'\nexit 1\n`,
      { mode: 0o755 },
    );
    await rename(`${plugin}.tmp`, plugin);
    const [web1, web2, db] = await launchMany(s, [
      { name: 'web-1', networks: [net('ippc-bridge', { groups: ['web'] })] },
      { name: 'web-2', networks: [net('ippc-bridge', { groups: ['web'] })] },
      { name: 'db', networks: [net('ippc-bridge', { groups: ['db'] })] },
    ]);
    const running = await Promise.all([web1!, web2!, db!].map((id) => s.waitForState(id, 'TASK_RUNNING', 30_000)));
    const [ipWeb1, , ipDb] = running.map(v4Of);
    for (const id of [web1!, web2!, db!]) await serving(w, id);
    const members = await w.isolation!.client.listMembers({ agentId: `an-node-${w.id}` });
    assert.deepEqual(
      members.map((m) => `${m.groups.join(',')}:${m.addresses.filter((a) => !a.includes(':')).join(',')}`).sort(),
      running.map((r, i) => `${i < 2 ? 'web' : 'db'}:${v4Of(r)}`).sort(),
    );
    const set = await w.inNode('nft', ['list', 'set', 'inet', 'ippc_isolation', 'm_web_v4']);
    assert.ok(set.includes(ipWeb1!), set);
    // From inside the containers' own namespaces.
    const from = (st: TaskStatus, ip: string) =>
      w
        .inNode('nsenter', [`--net=/proc/${st.containerStatus!.executorPid}/ns/net`, 'timeout', '3', 'bash', '-c', `cat < /dev/tcp/${ip}/8080`], {
          timeoutMs: 10_000,
        })
        .then(
          (out) => out.trim(),
          () => 'blocked',
        );
    assert.equal(await from(running[1]!, ipWeb1!), `hello ${web1}`, 'web reaches web');
    assert.equal(await from(running[2]!, ipWeb1!), 'blocked', 'db does not reach web');
    assert.equal(await from(running[0]!, ipDb!), 'blocked', 'web does not reach db');
    assert.equal((await w.inNode('timeout', ['3', 'bash', '-c', `cat < /dev/tcp/${ipDb}/8080`])).trim(), `hello ${db}`, 'its own agent reaches every member');
    for (const id of [web1!, web2!, db!]) {
      await s.kill(id);
      await s.waitForState(id, 'TASK_KILLED', 30_000);
    }
    await eventually(async () => ((await w.isolation!.client.listMembers({ agentId: `an-node-${w.id}` })).length === 0 ? true : undefined), 'members detached');
    await eventually(async () => ((await w.ipam.client.listLeases()).length === 0 ? true : undefined), 'addresses released');
    assert.equal(await readFile(execLog, 'utf8').catch(() => ''), '', 'no ippc-isolation process ran for the ADDs and DELs of the agent');
  });
});

describe('the agent with --containerizers=docker,mesos', { timeout: 300_000 }, () => {
  let w: NodeWorld;
  let s: Scheduler;
  let docker: Docker;
  let image: string;
  let network: string;
  let available = true;

  before(async () => {
    docker = new Docker();
    try {
      await docker.ping();
    } catch {
      available = false;
      return;
    }
    image = (await planBootstrap()).images.base;
    w = await createNodeWorld({
      agentArgs: ['--containerizers=docker,mesos', '--docker_labels=org.ippc.test=agent-net', '--docker_socket=/var/run/docker.sock'],
    });
    network = `ippc-an-${w.id}`;
    await docker.createNetwork({
      Name: network,
      Driver: 'bridge',
      IPAM: { Config: [{ Subnet: `10.237.${w.n}.0/24` }] },
      Labels: { 'org.ippc.owner': 'ippc', 'org.ippc.test': 'agent-net' },
    });
    await w.startAgent();
    await w.waitForAgents(1);
    s = await w.scheduler('docker-tests');
  });
  after(async () => {
    await w?.dispose();
    if (!available) return;
    for (const c of await docker.listContainers({ all: true, filters: { label: ['org.ippc.test=agent-net', `org.ippc.docker.scope=an-node-${w?.id}`] } }))
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined);
    if (network)
      await docker
        .getNetwork(network)
        .remove()
        .catch(() => undefined);
  });

  it('runs a Docker task on a USER network and a Mesos task on a CNI network side by side, each with its address', async (t) => {
    if (!available) return t.skip('no Docker daemon');
    const [dockerTask, mesosTask] = await launchMany(s, [
      {
        name: 'in-docker',
        command: 'exec sleep 600',
        container: {
          type: ContainerInfo_Type.DOCKER,
          docker: { image, network: ContainerInfo_DockerInfo_Network.USER, portMappings: [], parameters: [] },
          networkInfos: [net(network)],
          volumes: [],
        } as never,
      },
      { name: 'in-mesos', command: 'exec sleep 600', networks: [net('ippc-bridge')] },
    ]);
    const [d, m] = await Promise.all([s.waitForState(dockerTask!, 'TASK_RUNNING', 60_000), s.waitForState(mesosTask!, 'TASK_RUNNING', 30_000)]);
    assert.match(v4Of(d), new RegExp(`^10\\.237\\.${w.n}\\.`));
    assert.equal(d.containerStatus!.networkInfos[0]!.name, network);
    assert.match(v4Of(m), new RegExp(`^10\\.236\\.${3 * w.n + 1}\\.`));
    const containers = await docker.listContainers({ filters: { label: ['org.ippc.test=agent-net', `org.ippc.task-id=${dockerTask}`] } });
    assert.equal(containers.length, 1, 'labelled with the task and our test label');
    const st = await w.masterState();
    const ips = st.frameworks.flatMap((f) => f.tasks).map((x) => x.statuses.at(-1)!.container_status!.network_infos![0]!.ip_addresses![0]!.ip_address);
    assert.deepEqual(ips.sort(), [v4Of(d), v4Of(m)].sort());
    for (const id of [dockerTask!, mesosTask!]) {
      await s.kill(id);
      await s.waitForState(id, 'TASK_KILLED', 60_000);
    }
    await eventually(
      async () =>
        (await docker.listContainers({ all: true, filters: { label: ['org.ippc.test=agent-net', `org.ippc.task-id=${dockerTask}`] } })).length === 0
          ? true
          : undefined,
      'the container removed',
    );
  });

  it("fails a USER task without a network as Mesos does (the Docker containerizer's message through the agent)", async (t) => {
    if (!available) return t.skip('no Docker daemon');
    const [id] = await launchMany(s, [
      {
        name: 'no-net',
        command: 'exec sleep 600',
        container: {
          type: ContainerInfo_Type.DOCKER,
          docker: { image, network: ContainerInfo_DockerInfo_Network.USER, portMappings: [], parameters: [] },
          networkInfos: [],
          volumes: [],
        } as never,
      },
    ]);
    const failed = await s.waitForState(id!, 'TASK_FAILED', 30_000);
    assert.equal(failed.message, 'Failed to create docker run options: No network info found in container info');
  });
});

describe('the agent refuses bad flags with a clear message', () => {
  after(() => rmSync('/tmp/an-never', { recursive: true, force: true }));
  const agent = (args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', AGENT_BIN, '--master=127.0.0.1:1', '--port=0', '--work_dir=/tmp/an-never', '--no_auth', ...args], {
      encoding: 'utf8',
      timeout: 30_000,
    });

  for (const [args, message] of [
    [['--network_cni_config_dir=/tmp/an-none'], "Missing required '--network_cni_plugins_dir' flag"],
    [['--isolation=network/cni,network/other'], 'Using multiple network isolators simultaneously is disallowed'],
    [
      ['--default_container_dns={"mesos":[{"network_mode":"HOST","dns":{"nameservers":["1.1.1.1"]}}]}'],
      'Configuring DNS for HOST network with `--default_container_dns` is not yet supported',
    ],
    [
      ['--install_cni_networks=ippc-bridge=10.236.0.0/33', '--network_cni_config_dir=/tmp/an-none'],
      "'10.236.0.0/33' (ippc-bridge) is not a subnet in CIDR form",
    ],
    [['--containerizers=docker,mesos', '--docker_host_network=bridge'], "--docker_host_network=bridge: use 'host' or 'container:"],
    [
      ['--containerizers=docker,mesos', '--docker_host_ports_via=gateway'],
      "--docker_host_ports_via=gateway: give the IPv4 address at which this agent reaches the Docker daemon's host",
    ],
    [['--work-dir=/tmp/an-never'], "error: unknown option '--work-dir=/tmp/an-never'"],
    [
      ['--executor_shutdown_grace_period=5'],
      "option '--executor_shutdown_grace_period <duration>' argument '5' is invalid. Invalid duration '5': write a number and a unit",
    ],
    [
      ['--executor_reregistration_timeout=soon'],
      "option '--executor_reregistration_timeout <duration>' argument 'soon' is invalid. Invalid duration 'soon': write a number and a unit",
    ],
    [['--docker_kill_orphans=maybe'], "option '--docker_kill_orphans [bool]' argument 'maybe' is invalid. 'maybe' is not a boolean: use true or false"],
    [['--logging_level=LOUD'], "'LOUD' is not a logging level: use INFO, WARNING, ERROR or DEBUG"],
    [['--http_credentials=file:///tmp/an-none/creds'], 'cannot read --http_credentials /tmp/an-none/creds: ENOENT'],
    [['--authenticate_http_readwrite=maybe'], "option '--authenticate_http_readwrite [bool]' argument 'maybe' is invalid."],
  ] as const) {
    it(message, () => {
      const r = agent([...args]);
      assert.equal(r.status, 2, r.stderr);
      assert.ok(r.stderr.includes(message), r.stderr);
    });
  }

  it('lists its flags with their defaults under --help', () => {
    const r = agent(['--help']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Usage: ippc-agent \[options\]/);
    const oneLine = r.stdout.replace(/\s+/g, ' ');
    assert.ok(
      oneLine.includes('--executor_shutdown_grace_period <duration> grace period of a kill when the task has no kill policy (default: "5secs")'),
      oneLine,
    );
    for (const [flag, dflt] of [
      ['--executor_registration_timeout', '1mins'],
      ['--executor_reregistration_timeout', '2secs'],
    ])
      assert.match(oneLine, new RegExp(`${flag} <duration> [^(]+\\(default: "${dflt}"\\)`), flag);
    assert.ok(oneLine.includes('--logging_level <level> INFO, WARNING, ERROR or DEBUG (default: "INFO", env: IPPC_LOG_LEVEL)'), oneLine);
    assert.ok(oneLine.includes('--authenticate_http_readwrite [bool] require the cluster token (or --http_credentials) on the operator API'), oneLine);
    assert.ok(oneLine.includes('POST /api/v1 (Mesos: false) (default: "true"'), oneLine);
  });
});
