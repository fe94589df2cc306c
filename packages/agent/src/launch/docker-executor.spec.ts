import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { silentLogger } from '@ippc/core';
import { parseResources } from '@ippc/mesos';
import { JSON_TYPE, openStream, waitFor } from '@ippc/mesos/testing';
import { ContainerInfo_DockerInfo_Network as Network, ContainerInfo_Type, TaskState, type ExecutorInfo, type TaskInfo } from '@ippc/proto';
import { startAgent, type StartedAgent } from '../server.js';
import { fakeMasterHooks, FakeContainerizer, FakeMaster, framework, task } from '../testing/fakes.js';

// A custom executor whose ExecutorInfo.container is DOCKER, at the agent's seam with a
// containerizer (a fake that supports it): launched as any custom executor, with its container and
// Mesos's executor environment, and each of its tasks reporting the container's addresses.

const FID = 'M-0000';

const dockerExecutor = (id: string): ExecutorInfo => ({
  executorId: { value: id },
  frameworkId: { value: FID },
  command: { value: 'exec node "$MESOS_SANDBOX/executor.mjs"', uris: [], arguments: [] },
  resources: parseResources('cpus:0.1;mem:32'),
  container: {
    type: ContainerInfo_Type.DOCKER,
    networkInfos: [{ name: 'user-net', groups: [], ipAddresses: [], portMappings: [] }],
    docker: { image: 'ippc/node:test', network: Network.USER, portMappings: [], parameters: [] },
  },
});

const taskFor = (id: string, executor: ExecutorInfo): TaskInfo => {
  const t = task(id, { executor });
  delete t.command;
  return t;
};

describe('a custom executor in a DOCKER container', () => {
  let dir: string;
  let master: FakeMaster;
  let agent: StartedAgent | undefined;
  fakeMasterHooks(
    'cp-docker-ex-',
    (d, m) => {
      dir = d;
      master = m;
    },
    () => agent,
    () => (agent = undefined),
  );

  it("is launched with the executor's ContainerInfo and environment, and its tasks report the container's address", async () => {
    const fake = new FakeContainerizer();
    fake.networkInfos = [{ name: 'user-net', ipAddresses: [{ ipAddress: '10.103.0.7' }], groups: [], portMappings: [] }];
    agent = await startAgent({
      master: master.address,
      auth: { token: 'secret' },
      ip: '127.0.0.1',
      port: 0,
      workDir: mkdtempSync(join(dir, 'work-')),
      resources: parseResources('cpus:2;mem:1024'),
      containerizers: [fake],
      statusUpdateRetryIntervalMs: 60_000,
      registrationBackoffMs: 50,
      log: silentLogger(),
    });
    await master.registered(1);
    const ex = dockerExecutor('dex');
    master.send({ $case: 'runTask', value: { framework: framework(), task: taskFor('d1', ex) } });
    await waitFor(() => fake.launched.length === 1, 'the executor container launched (not refused)');
    const spec = fake.launched[0]!;
    assert.equal(spec.containerInfo?.type, ContainerInfo_Type.DOCKER);
    assert.equal(spec.containerInfo?.docker?.image, 'ippc/node:test');
    assert.equal(spec.task.executor?.executorId?.value, 'dex', 'the containerizer sees a task that brings its executor');
    assert.equal(spec.environment.MESOS_AGENT_ENDPOINT, `127.0.0.1:${agent.port}`);
    assert.equal(spec.environment.MESOS_EXECUTOR_ID, 'dex');

    const api = `${agent.url}/api/v1/executor`;
    const ids = { framework_id: { value: FID }, executor_id: { value: 'dex' } };
    const s = await openStream(api, JSON.stringify({ type: 'SUBSCRIBE', ...ids, subscribe: {} }), { 'content-type': JSON_TYPE, accept: JSON_TYPE });
    assert.equal(s.status, 200);
    master.send({ $case: 'runTask', value: { framework: framework(), task: taskFor('d2', ex) } });
    for (const [tid, n] of [
      ['d1', 1],
      ['d2', 2],
    ] as const) {
      await fetch(api, {
        method: 'POST',
        headers: { 'content-type': JSON_TYPE },
        body: JSON.stringify({
          type: 'UPDATE',
          ...ids,
          update: { status: { task_id: { value: tid }, state: 'TASK_RUNNING', source: 'SOURCE_EXECUTOR', uuid: Buffer.alloc(16, n).toString('base64') } },
        }),
      });
      const u = await master.next((x) => x.status?.taskId?.value === tid && x.status.state === TaskState.TASK_RUNNING);
      assert.deepEqual(
        u.status!.containerStatus!.networkInfos.map((ni) => ni.ipAddresses.map((a) => a.ipAddress)),
        [['10.103.0.7']],
        `${tid} reports the executor container's address`,
      );
    }
    assert.equal(fake.launched.length, 1, 'one container for both tasks');
    s.close();
  });
});
