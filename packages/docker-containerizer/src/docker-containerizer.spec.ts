// The containerizer's verbs without a daemon: what launch refuses before it reaches the daemon, a
// launch that ends at the image or at the run options, and the bookkeeping wait, status, destroy,
// describe and usage answer from. The daemon itself is the integration tests' (*.int.ts).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type Docker from 'dockerode';
import { isIppcError, silentLogger, type ExecutorStatus, type LaunchSpec } from '@ippc/core';
import {
  ContainerInfo_DockerInfo_Network as Network,
  ContainerInfo_Type,
  TaskState,
  TaskStatus_Reason,
  TaskStatus_Source,
  type ContainerInfo,
} from '@ippc/proto';
import { createDockerContainerizer } from './docker-containerizer.js';

const sandboxes = mkdtempSync(join(tmpdir(), 'dkr-spec-'));
after(() => rmSync(sandboxes, { recursive: true, force: true }));

/** A daemon that has no image; any other call fails the test. */
function daemonWithoutImages(): Docker {
  const missing = Object.assign(new Error('(HTTP code 404) no such image'), { statusCode: 404, json: { message: 'No such image' } });
  return new Proxy({ getImage: () => ({ inspect: () => Promise.reject(missing) }) } as unknown as Docker, {
    get: (target, key) => (key in target ? target[key as keyof Docker] : assert.fail(`unexpected daemon call ${String(key)}`)),
  });
}

/** A daemon that has every image; any other call fails the test. */
function daemonWithImages(): Docker {
  return new Proxy({ getImage: () => ({ inspect: () => Promise.resolve({}) }) } as unknown as Docker, {
    get: (target, key) => (key in target ? target[key as keyof Docker] : assert.fail(`unexpected daemon call ${String(key)}`)),
  });
}

function spec(containerId: string, container: ContainerInfo | undefined, statuses: ExecutorStatus[] = []): LaunchSpec {
  const sandboxDirectory = mkdtempSync(join(sandboxes, 'sandbox-'));
  return {
    containerId: { value: containerId },
    frameworkId: { value: 'framework-0000' },
    agentId: { value: 'agent-S0' },
    task: { name: 'web', taskId: { value: 'web-1' }, resources: [], command: { value: 'exec sleep 60', uris: [], arguments: [] }, container, limits: {} },
    executor: { executorId: { value: 'web-1' }, resources: [], container },
    containerInfo: container,
    sandboxDirectory,
    environment: {},
    sendStatus: (s) => statuses.push(s),
  };
}

const docker = (network = Network.HOST, rest: Partial<ContainerInfo> = {}): ContainerInfo => ({
  type: ContainerInfo_Type.DOCKER,
  networkInfos: [],
  docker: { image: 'ippc/base:test', network, portMappings: [], parameters: [] },
  ...rest,
});

const launchFailed = (message: string) => (e: unknown) => isIppcError(e, 'CONTAINER_LAUNCH_FAILED') && (e as Error).message === message;

describe('createDockerContainerizer', () => {
  it('refuses a hostNetwork that is neither host nor a container', () => {
    for (const hostNetwork of [{ container: '' }, 'bridge'] as const) {
      assert.throws(
        () => createDockerContainerizer({ docker: daemonWithImages(), hostNetwork: hostNetwork as never }),
        (e: unknown) => isIppcError(e, 'DOCKER_OPTIONS_INVALID'),
      );
    }
  });

  it('launch refuses what it cannot run before it reaches the daemon', async () => {
    const c = createDockerContainerizer({ docker: daemonWithImages(), logger: silentLogger() });
    assert.equal(c.supports(docker()), true);
    assert.equal(c.supports({ type: ContainerInfo_Type.MESOS, networkInfos: [] } as ContainerInfo), false);
    assert.equal(c.supports(undefined), false);
    await assert.rejects(
      c.launch({ ...spec('c', docker()), containerId: { value: 'c', parent: { value: 'p' } } }),
      launchFailed('Nested containers are not supported'),
    );
    await assert.rejects(c.launch(spec('', docker())), launchFailed('The container id is empty'));
    await assert.rejects(c.launch(spec('c', undefined)), launchFailed('The docker containerizer launches only containers of type DOCKER'));
    await assert.rejects(
      c.launch(spec('c', { type: ContainerInfo_Type.DOCKER, networkInfos: [] } as ContainerInfo)),
      launchFailed("DockerInfo 'docker' is not set for DOCKER typed ContainerInfo"),
    );
    const noImage = docker();
    noImage.docker!.image = '';
    await assert.rejects(c.launch(spec('c', noImage)), launchFailed("DockerInfo 'image' is not set"));
    assert.deepEqual(c.containers(), []);
    await assert.rejects(c.wait('c'), (e: unknown) => isIppcError(e, 'CONTAINER_NOT_FOUND'));
    await c.close();
  });

  it('a missing image fails the launch before the executor part; wait, status and describe tell', async () => {
    const c = createDockerContainerizer({ docker: daemonWithoutImages(), logger: silentLogger() });
    const statuses: ExecutorStatus[] = [];
    await assert.rejects(
      c.launch(spec('c1', docker(), statuses)),
      launchFailed("Image 'ippc/base:test' is not on the Docker daemon and pulling is disabled: load or build it first"),
    );
    assert.deepEqual(statuses, []);
    assert.deepEqual(c.containers(), []);
    assert.deepEqual(await c.wait('c1'), {
      state: TaskState.TASK_FAILED,
      reason: TaskStatus_Reason.REASON_CONTAINER_LAUNCH_FAILED,
      message: "Failed to launch container: Image 'ippc/base:test' is not on the Docker daemon and pulling is disabled: load or build it first",
    });
    assert.deepEqual(await c.status('c1'), { containerId: { value: 'c1' }, networkInfos: [] });
    assert.equal(c.describe('c1')?.phase, 'terminated');
    assert.equal(c.describe('c1')?.name, 'mesos-c1');
    assert.equal(await c.destroy('c1'), true);
    await assert.rejects(c.launch(spec('c1', docker())), launchFailed('Container c1 already started'));
    await c.close();
  });

  it('run options that cannot be made fail the task as the docker executor reports it', async () => {
    const c = createDockerContainerizer({ docker: daemonWithImages(), logger: silentLogger() });
    const statuses: ExecutorStatus[] = [];
    await c.launch(spec('c2', docker(Network.USER), statuses));
    const failed = { state: TaskState.TASK_FAILED, message: 'Failed to create docker run options: No network info found in container info' };
    assert.deepEqual(statuses, [
      { source: TaskStatus_Source.SOURCE_EXECUTOR, state: TaskState.TASK_STARTING },
      { source: TaskStatus_Source.SOURCE_EXECUTOR, ...failed, reason: undefined },
    ]);
    assert.deepEqual(await c.wait('c2'), failed);
    assert.deepEqual(c.describe('c2'), { containerId: 'c2', name: 'mesos-c2', phase: 'terminated', termination: failed });
    await c.close();
  });

  it('knows nothing of containers it never held', async () => {
    const c = createDockerContainerizer({ docker: daemonWithImages(), logger: silentLogger() });
    await assert.rejects(c.wait('nope'), (e: unknown) => isIppcError(e, 'CONTAINER_NOT_FOUND'));
    await assert.rejects(c.status('nope'), (e: unknown) => isIppcError(e, 'CONTAINER_NOT_FOUND'));
    assert.equal(await c.destroy('nope'), false);
    assert.equal(c.describe('nope'), undefined);
    assert.equal(await c.usage?.('nope'), undefined);
    await c.close();
  });

  it('launches nothing once closed', async () => {
    const c = createDockerContainerizer({ docker: daemonWithImages(), logger: silentLogger() });
    await c.close();
    await c.close();
    await assert.rejects(c.launch(spec('c3', docker())), launchFailed('The docker containerizer is closed'));
  });
});
