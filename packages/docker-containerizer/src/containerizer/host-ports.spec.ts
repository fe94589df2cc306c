// The containerizer with a host port forwarder, against an in-memory daemon: what Docker published
// is forwarded before TASK_RUNNING and no longer once the container is gone, a launch whose ports
// cannot be forwarded fails its task and leaves nothing behind, and recovery forwards exactly the
// ports of the containers still running.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { silentLogger, type ExecutorStatus, type KnownContainer, type LaunchSpec } from '@ippc/core';
import {
  ContainerInfo_DockerInfo_Network as Network,
  ContainerInfo_Type,
  TaskState,
  TaskStatus_Reason,
  Value_Type,
  type ContainerInfo,
  type ContainerInfo_DockerInfo,
  type Resource,
} from '@ippc/proto';
import { createDockerContainerizer } from '../docker-containerizer.js';
import { createFakeDaemon, type FakeDaemon } from '../testing/fake-daemon.js';
import { createFakeHostPortForwarder, type FakeHostPortForwarder } from '../testing/fake-host-port-forwarder.js';

const sandboxes = mkdtempSync(join(tmpdir(), 'dkr-ports-spec-'));
after(() => rmSync(sandboxes, { recursive: true, force: true }));

const portsResource = (begin: number, end: number): Resource => ({
  name: 'ports',
  type: Value_Type.RANGES,
  ranges: { range: [{ begin, end }] },
  reservations: [],
});

interface Task {
  spec: LaunchSpec;
  statuses: ExecutorStatus[];
  known(): KnownContainer;
}

function task(id: string, network: Network, docker: Partial<ContainerInfo_DockerInfo> = {}, resources = [portsResource(31000, 31009)]): Task {
  const container: ContainerInfo = {
    type: ContainerInfo_Type.DOCKER,
    networkInfos: network === Network.USER ? [{ name: 'user-net', groups: [], ipAddresses: [], portMappings: [] }] : [],
    docker: { image: 'ippc/base:test', network, portMappings: [], parameters: [], ...docker },
  };
  const statuses: ExecutorStatus[] = [];
  const spec: LaunchSpec = {
    containerId: { value: id },
    frameworkId: { value: 'framework-0000' },
    agentId: { value: 'agent-S0' },
    task: { name: id, taskId: { value: `task-${id}` }, resources, command: { value: 'exec sleep 60', uris: [], arguments: [] }, container, limits: {} },
    executor: { executorId: { value: `task-${id}` }, resources: [], container },
    containerInfo: container,
    sandboxDirectory: mkdtempSync(join(sandboxes, `${id}-`)),
    environment: {},
    sendStatus: (s) => statuses.push(s),
  };
  const known = (): KnownContainer => ({ ...spec, containerizer: 'docker' });
  return { spec, statuses, known };
}

const tcp = (hostPort: number) => ({ protocol: 'tcp' as const, hostPort });
const udp = (hostPort: number) => ({ protocol: 'udp' as const, hostPort });
const states = (t: Task) => t.statuses.map((s) => TaskState[s.state]);

function containerizer(daemon: FakeDaemon, forwarder: FakeHostPortForwarder) {
  return createDockerContainerizer({ docker: daemon.docker, hostPorts: forwarder, scope: 'spec', logger: silentLogger(), defaultGracePeriodMs: 0 });
}

describe('host ports with a forwarder', () => {
  it('forwards the ports Docker published in the task’s range before TASK_RUNNING, and stops once the container is gone', async () => {
    const daemon = createFakeDaemon();
    const forwarder = createFakeHostPortForwarder();
    const c = containerizer(daemon, forwarder);
    const t = task('c1', Network.BRIDGE, {
      portMappings: [{ hostPort: 31000, containerPort: 80, protocol: 'tcp' }],
      parameters: [
        { key: 'publish', value: '31005:53/udp' }, // a parameter counts as much as a mapping
        { key: 'publish', value: '127.0.0.1:31006:81' }, // only on the daemon's loopback: not forwarded
        { key: 'publish', value: '40000:82' }, // outside the task's ports: not forwarded
      ],
    });
    const atRunning: unknown[] = [];
    const send = t.spec.sendStatus!;
    t.spec.sendStatus = (s) => {
      if (s.state === TaskState.TASK_RUNNING) atRunning.push(forwarder.published().get('c1'));
      send(s);
    };
    await c.launch(t.spec);
    assert.deepEqual(states(t), ['TASK_STARTING', 'TASK_RUNNING']);
    assert.deepEqual(atRunning, [[tcp(31000), udp(31005)]], 'forwarded before TASK_RUNNING was sent');
    assert.deepEqual(c.describe('c1')?.hostPorts, [tcp(31000), udp(31005)]);
    assert.equal(await c.destroy('c1'), true);
    assert.equal((await c.wait('c1')).state, TaskState.TASK_KILLED);
    assert.deepEqual([...forwarder.published().keys()], []);
    assert.deepEqual(forwarder.calls, ['publish c1 31000/tcp,31005/udp', 'unpublish c1']);
    assert.deepEqual(daemon.present(), []);
    await c.close();
  });

  it('forwards USER tasks’ ports too, and asks nothing for a task that publishes none', async () => {
    const daemon = createFakeDaemon();
    const forwarder = createFakeHostPortForwarder();
    const c = containerizer(daemon, forwarder);
    const user = task('u1', Network.USER, { portMappings: [{ hostPort: 31009, containerPort: 80 }] });
    const host = task('h1', Network.HOST);
    await Promise.all([c.launch(user.spec), c.launch(host.spec)]);
    assert.deepEqual(forwarder.published(), new Map([['u1', [tcp(31009)]]]));
    await Promise.all([c.destroy('u1'), c.destroy('h1')]);
    assert.deepEqual(forwarder.calls, ['publish u1 31009/tcp', 'unpublish u1']);
    await c.close();
  });

  it('a launch whose ports cannot be forwarded fails its task, never reports it running, and leaves nothing behind', async () => {
    const daemon = createFakeDaemon();
    const forwarder = createFakeHostPortForwarder();
    forwarder.failing.add('publish');
    const c = containerizer(daemon, forwarder);
    const t = task('f1', Network.BRIDGE, { portMappings: [{ hostPort: 31001, containerPort: 80 }] });
    await c.launch(t.spec);
    const end = await c.wait('f1');
    const message = "Failed to forward host ports 31001/tcp to the agent's addresses: publish: nft -f - exited with 1: Error: Could not process rule";
    assert.deepEqual(end, { state: TaskState.TASK_FAILED, reason: TaskStatus_Reason.REASON_CONTAINER_LAUNCH_FAILED, message });
    assert.deepEqual(states(t), ['TASK_STARTING', 'TASK_FAILED']);
    assert.equal(t.statuses[1]!.message, message);
    assert.deepEqual(daemon.present(), [], 'the container is removed');
    assert.deepEqual(forwarder.published(), new Map(), 'nothing forwarded');
    assert.deepEqual(c.containers(), []);
    // The forwarder works again: the next launch runs.
    forwarder.failing.clear();
    const next = task('f2', Network.BRIDGE, { portMappings: [{ hostPort: 31001, containerPort: 80 }] });
    await c.launch(next.spec);
    assert.deepEqual(states(next), ['TASK_STARTING', 'TASK_RUNNING']);
    await c.destroy('f2');
    await c.close();
  });

  it('recover forwards exactly the ports of the running containers it found, dropping the others', async () => {
    const daemon = createFakeDaemon();
    const forwarder = createFakeHostPortForwarder();
    const before = containerizer(daemon, forwarder);
    const [a, b, gone] = [task('r1', Network.BRIDGE), task('r2', Network.BRIDGE), task('r3', Network.BRIDGE)];
    a.spec.containerInfo!.docker!.portMappings = [{ hostPort: 31002, containerPort: 80 }];
    b.spec.containerInfo!.docker!.portMappings = [{ hostPort: 31003, containerPort: 80 }];
    gone.spec.containerInfo!.docker!.portMappings = [{ hostPort: 31004, containerPort: 80 }];
    for (const t of [a, b, gone]) await before.launch(t.spec);
    // The agent stops (containers keep running); while it is away r2 exits and r3 is removed.
    await before.close();
    assert.deepEqual([...forwarder.published().keys()], ['r1', 'r2', 'r3'], 'the rules outlive the agent');
    daemon
      .present()
      .find((x) => x.name === 'mesos-r2')!
      .exit(0);
    await daemon.docker.getContainer('mesos-r3').remove({ force: true });

    const after = containerizer(daemon, forwarder);
    await after.recover([a.known(), b.known(), gone.known()]);
    assert.deepEqual(forwarder.published(), new Map([['r1', [tcp(31002)]]]));
    assert.equal(forwarder.calls.at(-1), 'recover r1');
    assert.equal((await after.wait('r2')).message, 'Container exited with status 0');
    assert.equal((await after.wait('r3')).message, 'Executor terminated');
    await after.destroy('r1');
    assert.deepEqual(forwarder.published(), new Map());
    await after.close();
  });

  it('an agent that cannot forward stops at recover', async () => {
    const forwarder = createFakeHostPortForwarder({ stale: [tcp(31007)] });
    forwarder.failing.add('recover');
    const c = containerizer(createFakeDaemon(), forwarder);
    await assert.rejects(c.recover([]), /recover: nft -f - exited with 1/);
    await c.close();
  });
});
