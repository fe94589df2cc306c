// A custom executor in a Docker container against the real daemon: the executor program comes from
// the sandbox (mounted at MESOS_SANDBOX) and reaches the agent at MESOS_AGENT_ENDPOINT from inside
// its network: on BRIDGE the agent on the machine through the bridge's gateway, as under Mesos; on
// a USER network a pretend agent container at its own address there. Its address is the
// container's status; once destroyed, no container and no endpoint on the network are left. Bad
// input fails the launch in Mesos's words, creating nothing.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type Docker from 'dockerode';
import { ContainerInfo_DockerInfo_Network as Network, TaskState, type ExecutorInfo, type NetworkInfo } from '@ippc/proto';
import { EXECUTOR_ID_LABEL } from './labels.js';
import { createHarness, dockerTask, eventually, type Harness, type TestTask } from './testing/int-harness.js';

const USER = 'ippc-dkr-exec-u';
const SLEEP = 'exec sleep 300';

// The "executor": asks the agent once, writes the answer into the sandbox, then stays.
const PROBE = `
const fs = require('fs');
const out = (s) => fs.writeFileSync(process.env.MESOS_SANDBOX + '/reached', s);
require('http').get('http://' + process.env.MESOS_AGENT_ENDPOINT + '/api/v1/executor', (r) => {
  let b = '';
  r.on('data', (d) => (b += d));
  r.on('end', () => out(b));
}).on('error', (e) => out('error ' + e.message));
setInterval(() => undefined, 1 << 30);
`;

let h: Harness;

before(async () => {
  h = await createHarness();
  await h.network(USER, { v4: '10.230.9.0/24' });
});

after(async () => {
  await h?.teardown();
});

/** A custom executor's launch: the executor brought by the task, its program in the sandbox. */
function executorTask(network: Network, networkInfos: NetworkInfo[], endpoint: string): TestTask {
  const t = dockerTask(h, { network, networkInfos, command: SLEEP });
  writeFileSync(join(t.sandbox, 'probe.js'), PROBE);
  const executor: ExecutorInfo = {
    executorId: { value: `ex-${t.taskId}` },
    resources: [],
    command: { value: 'exec node "$MESOS_SANDBOX/probe.js"', uris: [], arguments: [] },
    container: t.spec.containerInfo,
  };
  t.spec.task = { ...t.spec.task, command: undefined, executor };
  t.spec.executor = executor;
  t.spec.environment = { MESOS_AGENT_ENDPOINT: endpoint, MESOS_SLAVE_PID: `slave(1)@${endpoint}`, MESOS_EXECUTOR_ID: `ex-${t.taskId}` };
  return t;
}

const reached = (t: TestTask) => {
  try {
    return readFileSync(join(t.sandbox, 'reached'), 'utf8');
  } catch {
    return undefined;
  }
};

async function endpointsOn(network: string): Promise<string[]> {
  const info = (await h.docker.getNetwork(network).inspect()) as { Containers?: Record<string, { Name: string }> };
  return Object.values(info.Containers ?? {}).map((c) => c.Name);
}

describe('a custom executor in a Docker container', () => {
  it('on BRIDGE reaches an agent on the machine through the gateway, reports the bridge address, and is gone once destroyed', async () => {
    // The default bridge's gateway: the machine's address on its Linux bridge (docker0).
    const bridge = (await h.docker.getNetwork('bridge').inspect()) as { Options?: Record<string, string> };
    const device = bridge.Options?.['com.docker.network.bridge.name'] ?? 'docker0';
    // From ip(8), not os.networkInterfaces(): libuv lists only running interfaces, and docker0 has
    // no carrier while no container is on it (a fresh machine).
    const addrs = JSON.parse(execFileSync('ip', ['-j', '-4', 'addr', 'show', 'dev', device], { encoding: 'utf8' })) as { addr_info: { local: string }[] }[];
    const gateway = addrs[0]?.addr_info[0]?.local;
    assert.ok(gateway, `the default bridge's gateway on ${device}`);
    // The "agent": an HTTP server of this process on the bridge's gateway, as a Mesos agent on the machine.
    const server: Server = createServer((req, res) => res.end(`agent ${req.url}`));
    await new Promise<void>((resolve) => server.listen(0, gateway, resolve));
    try {
      const endpoint = `${gateway}:${(server.address() as AddressInfo).port}`;
      const c = h.containerizer();
      const t = executorTask(Network.BRIDGE, [], endpoint);
      await c.launch(t.spec);
      assert.deepEqual(t.statuses, [], 'the containerizer sends no status for an executor');
      assert.equal(await eventually(() => reached(t), 'the executor to reach the agent'), 'agent /api/v1/executor');
      const inspected = await h.docker.getContainer(c.describe(t.containerId)!.dockerId!).inspect();
      assert.equal(inspected.Config.Labels[EXECUTOR_ID_LABEL], `ex-${t.taskId}`);
      assert.ok(inspected.Config.Env.includes(`MESOS_AGENT_ENDPOINT=${endpoint}`), 'the agent on the machine keeps its endpoint');
      const ip = inspected.NetworkSettings.Networks.bridge!.IPAddress;
      assert.deepEqual(
        (await c.status(t.containerId)).networkInfos.map((n) => n.ipAddresses.map((a) => a.ipAddress)),
        [[ip]],
      );
      await killed(c, t);
    } finally {
      server.close();
    }
  });

  it('on a USER network reaches an agent that is a container at its address there, and leaves no endpoint on the network', async () => {
    const agent = await pretendAgent();
    const c = h.containerizer({ hostNetwork: { container: agent.id } });
    const t = executorTask(Network.USER, [{ name: USER, groups: [], ipAddresses: [], portMappings: [] }], '10.99.0.2:5051');
    await c.launch(t.spec);
    const agentIp = (await agent.inspect()).NetworkSettings.Networks[USER]!.IPAddress;
    assert.equal(await eventually(() => reached(t), 'the executor to reach the agent'), 'agent /api/v1/executor');
    const inspected = await h.docker.getContainer(c.describe(t.containerId)!.dockerId!).inspect();
    assert.ok(inspected.Config.Env.includes(`MESOS_AGENT_ENDPOINT=${agentIp}:5051`), inspected.Config.Env.join(' '));
    const ip = inspected.NetworkSettings.Networks[USER]!.IPAddress;
    assert.match(ip, /^10\.230\.9\./);
    const [info] = (await c.status(t.containerId)).networkInfos;
    assert.equal(info?.name, USER);
    assert.deepEqual(info?.ipAddresses, [{ ipAddress: ip }]);
    assert.ok((await endpointsOn(USER)).includes(`mesos-${t.containerId}`));
    await killed(c, t);
    assert.ok(!(await endpointsOn(USER)).includes(`mesos-${t.containerId}`), 'no endpoint left on the network');
  });

  it("fails the launch when the agent's container is not on the executor's network, and for Mesos's bad network input, creating nothing", async () => {
    const agent = await pretendAgent('bridge');
    const c = h.containerizer({ hostNetwork: { container: agent.id } });
    const lost = executorTask(Network.USER, [{ name: USER, groups: [], ipAddresses: [], portMappings: [] }], '10.99.0.2:5051');
    await assert.rejects(c.launch(lost.spec), new RegExp(`The agent's container '${agent.id}' has no address on Docker network '${USER}'`));
    const bad = executorTask(Network.USER, [], '10.99.0.2:5051');
    await assert.rejects(c.launch(bad.spec), /^Error: No network info found in container info$|No network info found in container info/);
    const unknown = executorTask(Network.USER, [{ name: 'ippc-dkr-exec-nope', groups: [], ipAddresses: [], portMappings: [] }], '10.99.0.2:5051');
    const plain = h.containerizer();
    await assert.rejects(plain.launch(unknown.spec), /Failed to run docker container: network ippc-dkr-exec-nope not found/);
    const left = (await h.leftovers()).filter((x) => x.Labels?.[EXECUTOR_ID_LABEL] !== undefined);
    assert.deepEqual(left, [], 'no executor container left');
    for (const t of [lost, bad, unknown]) assert.equal((await (t === unknown ? plain : c).wait(t.containerId)).state, TaskState.TASK_FAILED);
  });
});

/** A pretend agent container serving HTTP on 5051 on every address, on the USER network (or another). */
async function pretendAgent(network = USER): Promise<Docker.Container> {
  const agent = await h.docker.createContainer({
    Image: h.image,
    Entrypoint: ['node', '-e'],
    Cmd: ["require('http').createServer((q, s) => s.end('agent ' + q.url)).listen(5051, '0.0.0.0')"],
    Labels: h.labels,
    HostConfig: { NetworkMode: network },
  });
  await agent.start();
  return agent;
}

async function killed(c: ReturnType<Harness['containerizer']>, t: TestTask): Promise<void> {
  const dockerId = c.describe(t.containerId)!.dockerId!;
  assert.equal(await c.destroy(t.containerId, { gracePeriodMs: 0 }), true);
  assert.equal((await c.wait(t.containerId)).state, TaskState.TASK_KILLED);
  assert.deepEqual(t.statuses, []);
  await assert.rejects(h.docker.getContainer(dockerId).inspect(), /no such container/i);
}
