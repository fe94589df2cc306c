// Every run-options error against the real daemon: the task fails as Mesos's docker executor fails
// it (TASK_STARTING, then TASK_FAILED from the executor, no reason, `Failed to create docker run
// options: <err>`), and nothing is left behind: no container, no endpoint on any network. Daemon
// failures (unknown network, a command that cannot start, a missing image) leave nothing either.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ContainerizerError } from '@ippc/core';
import { ContainerInfo_DockerInfo_Network as Network, TaskState, TaskStatus_Source, type NetworkInfo } from '@ippc/proto';
import type { DockerContainerizer } from './docker-containerizer.js';
import { createHarness, dockerTask, ports, scalar, type Harness, type TaskOptions } from './testing/int-harness.js';

const USER = 'ippc-dkr-errors-u';

let h: Harness;
let c: DockerContainerizer;

before(async () => {
  h = await createHarness();
  c = h.containerizer();
  await h.network(USER, { v4: '10.230.3.0/24' });
});

after(async () => {
  await h?.teardown();
});

const named = (name?: string): NetworkInfo => ({ ...(name ? { name } : {}), groups: [], ipAddresses: [], portMappings: [] });
const mapping = (hostPort: number) => ({ hostPort, containerPort: 80 });

/** What the daemon holds that a failed launch could have changed. */
async function footprint() {
  const networks = await h.docker.listNetworks({ filters: { name: ['ippc-dkr-'] } });
  const endpoints = await Promise.all(
    networks.map(async (n) => [n.Name, Object.keys(((await h.docker.getNetwork(n.Id).inspect()) as { Containers?: object }).Containers ?? {}).sort()]),
  );
  return { networks: networks.map((n) => n.Id).sort(), endpoints: Object.fromEntries(endpoints) as Record<string, string[]> };
}

async function expectFailure(options: TaskOptions, message: string): Promise<void> {
  const before = await footprint();
  const t = dockerTask(h, options);
  await c.launch(t.spec);
  assert.deepEqual(
    t.statuses.map((s) => [TaskState[s.state], s.message]),
    [
      ['TASK_STARTING', undefined],
      ['TASK_FAILED', message],
    ],
  );
  const failed = t.statuses[1]!;
  assert.equal(failed.source, TaskStatus_Source.SOURCE_EXECUTOR);
  assert.equal(failed.reason, undefined, 'Mesos sets no reason');
  assert.equal(failed.containerStatus, undefined);
  const end = await c.wait(t.containerId);
  assert.equal(end.state, TaskState.TASK_FAILED);
  assert.equal(end.message, message);
  assert.deepEqual(c.containers(), []);
  assert.deepEqual(await h.leftovers(), [], 'no container left behind');
  assert.deepEqual(await footprint(), before, 'no network or endpoint changed');
}

const runOptions = (err: string) => `Failed to create docker run options: ${err}`;

describe('run-options errors fail the task as Mesos does and leave nothing behind', () => {
  it('No network info found in container info', async () => {
    await expectFailure({ network: Network.USER, command: 'true' }, runOptions('No network info found in container info'));
  });

  it('Only a single network can be defined in Docker run', async () => {
    await expectFailure(
      { network: Network.USER, networkInfos: [named(USER), named(USER)], command: 'true' },
      runOptions('Only a single network can be defined in Docker run'),
    );
  });

  it('No network name found in network info', async () => {
    await expectFailure({ network: Network.USER, networkInfos: [named()], command: 'true' }, runOptions('No network name found in network info'));
  });

  it('Unable to set hostname with host network mode', async () => {
    await expectFailure({ hostname: 'web', command: 'true' }, runOptions('Unable to set hostname with host network mode'));
  });

  it('Port mappings are only supported for bridge and user-defined networks (HOST and NONE)', async () => {
    for (const network of [Network.HOST, Network.NONE]) {
      await expectFailure(
        { network, docker: { portMappings: [mapping(32020)] }, resources: [ports(32020, 32029)], command: 'true' },
        runOptions('Port mappings are only supported for bridge and user-defined networks'),
      );
    }
  });

  it('Port mappings require resources', async () => {
    await expectFailure(
      { network: Network.BRIDGE, docker: { portMappings: [mapping(32020)] }, resources: [], command: 'true' },
      runOptions('Port mappings require resources'),
    );
  });

  it('Port mappings require port resources', async () => {
    await expectFailure(
      { network: Network.BRIDGE, docker: { portMappings: [mapping(32020)] }, resources: [scalar('cpus', 0.1), scalar('mem', 32)], command: 'true' },
      runOptions('Port mappings require port resources'),
    );
  });

  it('Port [<p>] not included in resources (BRIDGE and USER)', async () => {
    await expectFailure(
      { network: Network.BRIDGE, docker: { portMappings: [mapping(32030)] }, resources: [ports(32020, 32029)], command: 'true' },
      runOptions('Port [32030] not included in resources'),
    );
    await expectFailure(
      {
        network: Network.USER,
        networkInfos: [named(USER)],
        docker: { portMappings: [mapping(32020), mapping(32031)] },
        resources: [ports(32020, 32029)],
        command: 'true',
      },
      runOptions('Port [32031] not included in resources'),
    );
  });

  it('an unsupported docker parameter', async () => {
    await expectFailure(
      { network: Network.BRIDGE, docker: { parameters: [{ key: 'restart', value: 'always' }] }, command: 'true' },
      runOptions("Unsupported docker parameter '--restart=always': a task that ends is over in Mesos; its framework decides whether to launch it again"),
    );
  });

  it('Shell specified but no command value provided', async () => {
    await expectFailure({ network: Network.BRIDGE, command: { uris: [], arguments: [] } }, runOptions('Shell specified but no command value provided'));
  });
});

describe('daemon failures leave nothing behind', () => {
  it('a USER network that does not exist: Failed to run docker container', async () => {
    await expectFailure(
      { network: Network.USER, networkInfos: [named('ippc-dkr-errors-missing')], command: 'true' },
      'Failed to run docker container: network ippc-dkr-errors-missing not found',
    );
  });

  it('a command that cannot start: the created container is removed', async () => {
    const t = dockerTask(h, { network: Network.BRIDGE, command: { shell: false, value: '/no/such/binary', uris: [], arguments: [] } });
    await c.launch(t.spec);
    assert.deepEqual(
      t.statuses.map((s) => TaskState[s.state]),
      ['TASK_STARTING', 'TASK_FAILED'],
    );
    assert.match(t.statuses[1]!.message!, /^Failed to run docker container: .*no such file or directory/);
    assert.deepEqual(await h.leftovers(), []);
  });

  it('an image the daemon does not have (pulling disabled) fails the launch before the executor part', async () => {
    const t = dockerTask(h, { network: Network.BRIDGE, image: 'ippc/does-not-exist:never', command: 'true' });
    await assert.rejects(c.launch(t.spec), (err: unknown) => {
      assert.ok(err instanceof ContainerizerError);
      assert.equal(err.code, 'CONTAINER_LAUNCH_FAILED');
      assert.equal(err.message, "Image 'ippc/does-not-exist:never' is not on the Docker daemon and pulling is disabled: load or build it first");
      return true;
    });
    assert.deepEqual(t.statuses, [], 'no status: the agent reports the launch failure');
    assert.deepEqual(await h.leftovers(), []);
  });

  it('a container that is not DOCKER, or nested, is refused', async () => {
    const t = dockerTask(h, { command: 'true' });
    await assert.rejects(c.launch({ ...t.spec, containerId: { value: 'child', parent: { value: 'parent' } } }), /Nested containers are not supported/);
    await assert.rejects(c.launch({ ...t.spec, containerInfo: undefined }), /launches only containers of type DOCKER/);
    assert.equal(c.supports(undefined), false);
    assert.equal(c.supports(t.spec.containerInfo), true);
  });
});
