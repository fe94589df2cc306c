// Every network mode against the real daemon: what the container gets, what TASK_RUNNING reports,
// IPv6 on a USER network created with IPv6, HOST as the agent's own container, and port mappings
// reached from outside the container.
import assert from 'node:assert/strict';
import { readlinkSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ContainerInfo_DockerInfo_Network as Network, NetworkInfo_Protocol, TaskState, TaskStatus_Source } from '@ippc/proto';
import type { DockerContainerizer } from './docker-containerizer.js';
import { createHarness, dockerTask, eventually, ports, scalar, type Harness, type TestTask } from './testing/int-harness.js';
import { AGENT_ID_LABEL, CONTAINER_ID_LABEL, FRAMEWORK_ID_LABEL, OWNER_LABEL, SCOPE_LABEL, TASK_ID_LABEL } from './labels.js';

const USER4 = 'ippc-dkr-modes-u4';
const USER6 = 'ippc-dkr-modes-u6';

let h: Harness;
let c: DockerContainerizer;

before(async () => {
  h = await createHarness();
  c = h.containerizer();
  await h.network(USER4, { v4: '10.230.1.0/24' });
  await h.network(USER6, { v4: '10.230.2.0/24', v6: 'fd10:230:2::/64' });
});

after(async () => {
  await h?.teardown();
});

/** Launches, checks the STARTING → RUNNING pair, and returns the RUNNING status. */
async function launchRunning(t: TestTask) {
  await c.launch(t.spec);
  assert.deepEqual(
    t.statuses.map((s) => TaskState[s.state]),
    ['TASK_STARTING', 'TASK_RUNNING'],
    JSON.stringify(t.statuses.map((s) => s.message)),
  );
  const [starting, running] = t.statuses;
  // TASK_STARTING carries nothing: the agent fills in its own IP.
  assert.equal(starting!.containerStatus, undefined);
  assert.equal(starting!.source, TaskStatus_Source.SOURCE_EXECUTOR);
  assert.equal(running!.source, TaskStatus_Source.SOURCE_EXECUTOR);
  return running!;
}

async function inspectOf(t: TestTask) {
  const dockerId = c.describe(t.containerId)?.dockerId;
  assert.ok(dockerId, 'the containerizer knows the Docker id');
  return h.docker.getContainer(dockerId).inspect();
}

async function killAndCheckGone(t: TestTask): Promise<void> {
  const dockerId = c.describe(t.containerId)?.dockerId;
  assert.equal(await c.destroy(t.containerId, { gracePeriodMs: 0 }), true);
  assert.equal((await c.wait(t.containerId)).state, TaskState.TASK_KILLED);
  if (dockerId) await assert.rejects(h.docker.getContainer(dockerId).inspect(), /no such container/i);
}

const SLEEP = 'sleep 300';

describe('HOST (the default)', () => {
  it("runs in the machine's network namespace, named and labelled, and reports no address of its own", async () => {
    const t = dockerTask(h, { command: 'readlink /proc/self/ns/net; exec sleep 300' });
    const running = await launchRunning(t);
    assert.equal(running.containerStatus, undefined, 'no network_infos: the agent adds its IP');
    const data = JSON.parse(Buffer.from(running.data!).toString('utf8')) as Array<{ Id: string; Name: string }>;
    const info = await inspectOf(t);
    assert.equal(data[0]!.Id, info.Id, 'data is the inspect output');
    assert.equal(info.Name, `/mesos-${t.containerId}`);
    assert.equal(info.HostConfig.NetworkMode, 'host');
    const labels = info.Config.Labels;
    assert.equal(labels[OWNER_LABEL], 'ippc');
    assert.equal(labels[SCOPE_LABEL], h.scope);
    assert.equal(labels[AGENT_ID_LABEL], 'agent-S0');
    assert.equal(labels[FRAMEWORK_ID_LABEL], 'framework-0000');
    assert.equal(labels[TASK_ID_LABEL], t.taskId);
    assert.equal(labels[CONTAINER_ID_LABEL], t.containerId);
    assert.ok(info.Config.Env.includes('MESOS_SANDBOX=/mnt/mesos/sandbox'));
    assert.ok(info.Config.Env.includes(`MESOS_TASK_ID=${t.taskId}`));
    const netns = await eventually(() => t.stdout().trim() || undefined, 'the task to print its netns');
    assert.equal(netns, readlinkSync('/proc/self/ns/net'));
    assert.deepEqual(c.containers(), [t.containerId]);
    assert.deepEqual((await c.status(t.containerId)).containerId, { value: t.containerId });
    assert.equal(await c.usage!(t.containerId), undefined, "the machine's interfaces are not the task's");
    await killAndCheckGone(t);
    assert.deepEqual(c.containers(), []);
  });

  it("when the agent is a container, HOST joins the agent container's network namespace", async () => {
    // A pretend agent: a plain container from the base image on the default bridge.
    const agent = await h.docker.createContainer({
      Image: h.image,
      Entrypoint: ['/bin/sh'],
      Cmd: ['-c', SLEEP],
      Labels: h.labels,
      HostConfig: { NetworkMode: 'bridge' },
    });
    await agent.start();
    const inAgent = h.containerizer({ hostNetwork: { container: agent.id } });
    const t = dockerTask(h, { command: 'ip -4 -o addr show eth0; exec sleep 300' });
    await inAgent.launch(t.spec);
    assert.deepEqual(
      t.statuses.map((s) => TaskState[s.state]),
      ['TASK_STARTING', 'TASK_RUNNING'],
    );
    assert.equal(t.statuses[1]!.containerStatus, undefined, 'HOST reports no address: the agent adds its own');
    const task = await h.docker.getContainer(inAgent.describe(t.containerId)!.dockerId!).inspect();
    const agentInfo = await agent.inspect();
    assert.equal(task.HostConfig.NetworkMode, `container:${agent.id}`);
    assert.equal(readlinkSync(`/proc/${task.State.Pid}/ns/net`), readlinkSync(`/proc/${agentInfo.State.Pid}/ns/net`), 'same network namespace');
    assert.notEqual(readlinkSync(`/proc/${task.State.Pid}/ns/net`), readlinkSync('/proc/self/ns/net'), "not the machine's");
    const agentIp = agentInfo.NetworkSettings.Networks.bridge!.IPAddress;
    const line = await eventually(() => t.stdout().trim() || undefined, 'the task to print its address');
    assert.match(line, new RegExp(`inet ${agentIp.replace(/\./g, '\\.')}/`), "the task sees the agent's address");
    await inAgent.destroy(t.containerId, { gracePeriodMs: 0 });
    await agent.remove({ force: true });
  });
});

describe('BRIDGE', () => {
  it("reports Docker's bridge address in a copy of network_infos[0]", async () => {
    const t = dockerTask(h, {
      network: Network.BRIDGE,
      networkInfos: [
        { groups: ['web'], labels: { labels: [{ key: 'app', value: 'shop' }] }, ipAddresses: [{ protocol: NetworkInfo_Protocol.IPv4 }], portMappings: [] },
      ],
      command: 'ip -4 -o addr show eth0; exec sleep 300',
    });
    const running = await launchRunning(t);
    const info = await inspectOf(t);
    const ip = info.NetworkSettings.Networks.bridge!.IPAddress;
    assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/);
    const ni = running.containerStatus!.networkInfos;
    assert.equal(ni.length, 1);
    assert.deepEqual(ni[0]!.groups, ['web']);
    assert.deepEqual(
      ni[0]!.labels?.labels.map((l) => [l.key, l.value]),
      [['app', 'shop']],
    );
    assert.deepEqual(
      ni[0]!.ipAddresses.map((a) => [a.ipAddress, a.protocol]),
      [[ip, undefined]],
    );
    const line = await eventually(() => t.stdout().trim() || undefined, 'the task to print its address');
    assert.match(line, new RegExp(`inet ${ip.replace(/\./g, '\\.')}/`));
    const usage = await c.usage!(t.containerId);
    assert.ok(usage && usage.rxPackets >= 0 && usage.txBytes >= 0, `network counters of eth0: ${JSON.stringify(usage)}`);
    await killAndCheckGone(t);
  });
});

describe('NONE', () => {
  it('has only a loopback and reports no address', async () => {
    const t = dockerTask(h, { network: Network.NONE, command: 'ip -o link | cut -d: -f2; exec sleep 300' });
    const running = await launchRunning(t);
    assert.equal(running.containerStatus, undefined);
    assert.equal((await inspectOf(t)).HostConfig.NetworkMode, 'none');
    const links = await eventually(() => t.stdout().trim() || undefined, 'the task to list its links');
    assert.deepEqual(
      links.split('\n').map((l) => l.trim()),
      ['lo'],
    );
    await killAndCheckGone(t);
  });
});

describe('USER', () => {
  it('joins the network named by network_infos[0] and reports its address with the name', async () => {
    const t = dockerTask(h, {
      network: Network.USER,
      networkInfos: [{ name: USER4, groups: ['db'], ipAddresses: [], portMappings: [] }],
      command: SLEEP,
    });
    const running = await launchRunning(t);
    const info = await inspectOf(t);
    assert.equal(info.HostConfig.NetworkMode, USER4);
    const ip = info.NetworkSettings.Networks[USER4]!.IPAddress;
    assert.match(ip, /^10\.230\.1\.\d+$/);
    const ni = running.containerStatus!.networkInfos[0]!;
    assert.equal(ni.name, USER4);
    assert.deepEqual(ni.groups, ['db']);
    assert.deepEqual(ni.ipAddresses, [{ ipAddress: ip }]);
    await killAndCheckGone(t);
  });

  it('on a network created with IPv6 reports the IPv4 and the global IPv6 address (protocol IPv6)', async () => {
    const t = dockerTask(h, {
      network: Network.USER,
      networkInfos: [{ name: USER6, groups: [], ipAddresses: [], portMappings: [] }],
      command: 'ip -6 -o addr show eth0 scope global; exec sleep 300',
    });
    const running = await launchRunning(t);
    const info = await inspectOf(t);
    const net = info.NetworkSettings.Networks[USER6]!;
    assert.match(net.IPAddress, /^10\.230\.2\.\d+$/);
    assert.match(net.GlobalIPv6Address, /^fd10:230:2::/);
    const ni = running.containerStatus!.networkInfos[0]!;
    assert.equal(ni.name, USER6);
    assert.deepEqual(ni.ipAddresses, [{ ipAddress: net.IPAddress }, { ipAddress: net.GlobalIPv6Address, protocol: NetworkInfo_Protocol.IPv6 }]);
    const line = await eventually(() => t.stdout().trim() || undefined, 'the task to print its IPv6 address');
    assert.ok(line.includes(`inet6 ${net.GlobalIPv6Address}/64`), line);
    await killAndCheckGone(t);
  });

  it('the network parameter overrides the mode (HOST task put on a USER network)', async () => {
    const t = dockerTask(h, { docker: { parameters: [{ key: 'network', value: USER4 }] }, command: SLEEP });
    const running = await launchRunning(t);
    const info = await inspectOf(t);
    assert.equal(info.HostConfig.NetworkMode, USER4);
    assert.deepEqual(running.containerStatus!.networkInfos[0]!.ipAddresses, [{ ipAddress: info.NetworkSettings.Networks[USER4]!.IPAddress }]);
    await killAndCheckGone(t);
  });
});

describe('port mappings', () => {
  // busybox httpd serves a page naming the task; the test reaches it from the host on 127.0.0.1.
  async function serveAndFetch(network: Network, hostPort: number, networkInfos = [] as TaskOptionsNetworkInfos) {
    const t = dockerTask(h, {
      network,
      networkInfos,
      docker: { portMappings: [{ hostPort, containerPort: 8080, protocol: 'tcp' }] },
      resources: [scalar('cpus', 0.1), scalar('mem', 64), ports(32000, 32009)],
      command: 'mkdir -p /tmp/www && echo "hello from $MESOS_TASK_ID" > /tmp/www/index.html && exec busybox httpd -f -p 8080 -h /tmp/www',
    });
    await launchRunning(t);
    const info = await inspectOf(t);
    assert.deepEqual(info.HostConfig.PortBindings, { '8080/tcp': [{ HostIp: '', HostPort: String(hostPort) }] });
    const body = await eventually(
      async () => {
        try {
          const res = await fetch(`http://127.0.0.1:${hostPort}/`, { signal: AbortSignal.timeout(1_000) });
          return res.ok ? await res.text() : undefined;
        } catch {
          return undefined;
        }
      },
      `http://127.0.0.1:${hostPort}/`,
      10_000,
    );
    assert.equal(body.trim(), `hello from ${t.taskId}`);
    await killAndCheckGone(t);
  }

  it('BRIDGE: a host port from the offered range reaches the task from outside the container', async () => {
    await serveAndFetch(Network.BRIDGE, 32001);
  });

  it('USER: the same through a user-defined network', async () => {
    await serveAndFetch(Network.USER, 32002, [{ name: USER4, groups: [], ipAddresses: [], portMappings: [] }]);
  });
});

type TaskOptionsNetworkInfos = NonNullable<Parameters<typeof dockerTask>[1]['networkInfos']>;
