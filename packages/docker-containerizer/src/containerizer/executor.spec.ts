// A custom executor in a Docker container, against an in-memory daemon: its command, environment,
// sandbox and labels in the create body, no status sent by the containerizer (the executor reports
// its tasks), its address as the container's status, MESOS_AGENT_ENDPOINT as its network reaches an
// agent that is itself a container, and launch failures in Mesos's words with nothing left behind.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isIppcError, silentLogger, type ExecutorStatus, type KnownContainer, type LaunchSpec } from '@ippc/core';
import { ContainerInfo_DockerInfo_Network as Network, ContainerInfo_Type, TaskState, type ContainerInfo, type NetworkInfo } from '@ippc/proto';
import { createDockerContainerizer, type DockerContainerizerOptions } from '../docker-containerizer.js';
import { EXECUTOR_ID_LABEL } from '../labels.js';
import { createFakeDaemon, type FakeDaemon } from '../testing/fake-daemon.js';

const sandboxes = mkdtempSync(join(tmpdir(), 'dkr-exec-spec-'));
after(() => rmSync(sandboxes, { recursive: true, force: true }));

const net = (name?: string): NetworkInfo => ({ ...(name !== undefined ? { name } : {}), groups: [], ipAddresses: [], portMappings: [], labels: undefined });
const ENDPOINT = '10.99.0.2:5051';

interface Executor {
  spec: LaunchSpec;
  statuses: ExecutorStatus[];
  known(): KnownContainer;
}

/** A custom executor's launch as the agent asks for it: the first task brings the executor. */
function executor(id: string, network: Network, networkInfos: NetworkInfo[] = network === Network.USER ? [net('user-net')] : []): Executor {
  const container: ContainerInfo = {
    type: ContainerInfo_Type.DOCKER,
    networkInfos,
    docker: { image: 'ippc/node:test', network, portMappings: [], parameters: [] },
  };
  const info = {
    executorId: { value: `ex-${id}` },
    resources: [],
    command: { value: 'exec node /opt/executors/shell-executor.mjs', uris: [], arguments: [] },
    container,
  };
  const statuses: ExecutorStatus[] = [];
  const spec: LaunchSpec = {
    containerId: { value: id },
    frameworkId: { value: 'framework-0000' },
    agentId: { value: 'agent-S0' },
    task: { name: 'web', taskId: { value: `web-${id}` }, resources: [], executor: info, limits: {} },
    executor: info,
    containerInfo: container,
    sandboxDirectory: mkdtempSync(join(sandboxes, `${id}-`)),
    environment: { MESOS_AGENT_ENDPOINT: ENDPOINT, MESOS_SLAVE_PID: `slave(1)@${ENDPOINT}`, MESOS_EXECUTOR_ID: `ex-${id}`, MESOS_DIRECTORY: '/agent/sandbox' },
    sendStatus: (s) => statuses.push(s),
  };
  // The agent's record of a run names no executor on the task (see recovery): the label tells.
  const known = (): KnownContainer => ({ ...spec, task: { ...spec.task, executor: undefined }, containerizer: 'docker' });
  return { spec, statuses, known };
}

function containerizer(daemon: FakeDaemon, options: DockerContainerizerOptions = {}) {
  return createDockerContainerizer({ docker: daemon.docker, scope: 'spec', logger: silentLogger(), defaultGracePeriodMs: 0, ...options });
}

/** The executor container's environment (the daemon's other containers are pretend agents). */
const env = (daemon: FakeDaemon) =>
  new Map((daemon.containers.find((c) => c.body.name)!.body.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));

describe('a custom executor in a Docker container', () => {
  it('runs the executor command with its environment, the sandbox mounted, its labels; sends no status; reports its address as the status', async () => {
    const daemon = createFakeDaemon({ address: (mode) => (mode === 'user-net' ? '10.103.0.7' : undefined) });
    const c = containerizer(daemon);
    const e = executor('e1', Network.USER);
    await c.launch(e.spec);
    assert.deepEqual(e.statuses, [], 'the executor reports its tasks itself');
    const body = daemon.containers[0]!.body;
    assert.equal(body.name, 'mesos-e1');
    assert.deepEqual(body.Cmd, ['-c', 'exec node /opt/executors/shell-executor.mjs']);
    assert.equal(body.HostConfig?.NetworkMode, 'user-net');
    assert.deepEqual(body.HostConfig?.Binds, [`${e.spec.sandboxDirectory}:/mnt/mesos/sandbox`]);
    assert.equal(body.Labels?.[EXECUTOR_ID_LABEL], 'ex-e1');
    const vars = env(daemon);
    assert.equal(vars.get('MESOS_AGENT_ENDPOINT'), ENDPOINT, "an agent on the machine: its own endpoint, as Mesos's");
    assert.equal(vars.get('MESOS_SANDBOX'), '/mnt/mesos/sandbox');
    assert.equal(vars.get('MESOS_DIRECTORY'), '/agent/sandbox');
    const status = await c.status('e1');
    assert.deepEqual(
      status.networkInfos.map((n) => [n.name, n.ipAddresses.map((a) => a.ipAddress)]),
      [['user-net', ['10.103.0.7']]],
    );
    assert.equal(await c.destroy('e1', { gracePeriodMs: 0 }), true);
    const end = await c.wait('e1');
    assert.equal(end.state, TaskState.TASK_KILLED);
    assert.deepEqual(e.statuses, [], 'no terminal status from the containerizer either');
    assert.equal(daemon.present().length, 0, 'the container is removed');
    await c.close();
  });

  it("gives MESOS_AGENT_ENDPOINT as the executor's network reaches an agent that is a container", async () => {
    const daemon = createFakeDaemon({ address: () => '172.17.0.9' });
    daemon.addContainer('agent-0', { 'cluster-net': '10.99.0.2', bridge: '172.17.0.3' });
    const c = containerizer(daemon, { hostNetwork: { container: 'agent-0' } });
    await c.launch(executor('e2', Network.BRIDGE).spec);
    const vars = env(daemon);
    assert.equal(vars.get('MESOS_AGENT_ENDPOINT'), '172.17.0.3:5051');
    assert.equal(vars.get('MESOS_SLAVE_PID'), 'slave(1)@172.17.0.3:5051');
    assert.deepEqual((await c.status('e2')).networkInfos[0]?.ipAddresses, [{ ipAddress: '172.17.0.9' }]);
    await c.destroy('e2');
    await c.close();
  });

  it('keeps the endpoint on HOST (the agent container’s own namespace): no address of its own, the agent IP is the status', async () => {
    const daemon = createFakeDaemon();
    daemon.addContainer('agent-0', { 'cluster-net': '10.99.0.2' });
    const c = containerizer(daemon, { hostNetwork: { container: 'agent-0' } });
    await c.launch(executor('e3', Network.HOST).spec);
    assert.equal(daemon.containers[1]!.body.HostConfig?.NetworkMode, 'container:agent-0');
    assert.ok((daemon.containers[1]!.body.Env ?? []).includes(`MESOS_AGENT_ENDPOINT=${ENDPOINT}`));
    assert.deepEqual((await c.status('e3')).networkInfos, [], 'the agent fills in its own IP');
    await c.destroy('e3');
    await c.close();
  });

  for (const [what, network, infos, message] of [
    ['USER without network info', Network.USER, [], 'No network info found in container info'],
    ['USER with two networks', Network.USER, [net('a'), net('b')], 'Only a single network can be defined in Docker run'],
    ['USER without a name', Network.USER, [net()], 'No network name found in network info'],
  ] as const) {
    it(`fails the launch in Mesos's words (${what}), creating nothing and sending nothing`, async () => {
      const daemon = createFakeDaemon();
      const c = containerizer(daemon);
      const e = executor('bad', network, [...infos]);
      await assert.rejects(c.launch(e.spec), (err: Error) => isIppcError(err) && err.code === 'CONTAINER_LAUNCH_FAILED' && err.message === message);
      assert.equal(daemon.containers.length, 0);
      assert.deepEqual(e.statuses, []);
      assert.equal((await c.wait('bad')).state, TaskState.TASK_FAILED);
      assert.deepEqual(c.containers(), []);
      await c.close();
    });
  }

  it("fails the launch when the agent's container is not on the executor's network, creating nothing", async () => {
    const daemon = createFakeDaemon();
    daemon.addContainer('agent-0', { 'cluster-net': '10.99.0.2' });
    const c = containerizer(daemon, { hostNetwork: { container: 'agent-0' } });
    const e = executor('lost', Network.USER);
    await assert.rejects(
      c.launch(e.spec),
      /The agent's container 'agent-0' has no address on Docker network 'user-net'.*docker network connect user-net agent-0/,
    );
    assert.equal(daemon.containers.length, 1, 'only the pretend agent');
    assert.deepEqual(c.containers(), []);
    await c.close();
  });

  it('fails the launch when the daemon refuses the container, and removes what it created', async () => {
    const daemon = createFakeDaemon();
    const c = containerizer(daemon);
    const create = daemon.docker.createContainer.bind(daemon.docker);
    daemon.docker.createContainer = (async (body: never) => {
      const container = await create(body);
      return {
        ...container,
        id: container.id,
        start: () => Promise.reject(Object.assign(new Error('x'), { statusCode: 404, json: { message: 'network gone not found' } })),
      };
    }) as never;
    await assert.rejects(
      c.launch(executor('refused', Network.BRIDGE).spec),
      /^Error: Failed to run docker container: network gone not found$|Failed to run docker container: network gone not found/,
    );
    assert.equal(daemon.present().length, 0);
    await c.close();
  });

  it("recovers an executor's container by its label: its address is the status again", async () => {
    const daemon = createFakeDaemon({ address: () => '10.103.0.8' });
    const first = containerizer(daemon);
    const e = executor('r1', Network.USER);
    await first.launch(e.spec);
    await first.close();
    const second = containerizer(daemon);
    await second.recover([e.known()]);
    assert.deepEqual((await second.status('r1')).networkInfos[0]?.ipAddresses, [{ ipAddress: '10.103.0.8' }]);
    await second.destroy('r1');
    assert.equal(daemon.present().length, 0);
    await second.close();
  });
});
