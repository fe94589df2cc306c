import assert from 'node:assert/strict';
import { mkdtempSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { silentLogger, type Termination } from '@ippc/core';
import { containerIdToString, parseResources } from '@ippc/mesos';
import { waitFor } from '@ippc/mesos/testing';
import { ContainerInfo_Type, ExecutorInfo_Type, TaskState, TaskStatus_Reason, TaskStatus_Source, type ExecutorInfo, type TaskInfo } from '@ippc/proto';
import { startAgent, type StartedAgent } from '../server.js';
import { fakeMasterHooks, FakeContainerizer, FakeMaster, framework, task } from '../testing/fakes.js';
import { POD_HOLDER } from './default-executor.js';

// Task groups on the agent's default executor, against a scripted master and a fake containerizer:
// one executor container (the pod, on its network) and each task a nested container in it; a
// second group joins the running pod; a task that fails takes its group down (not the other
// group); a kill kills the group; the pod ends, and the master hears it, when no task is left.

const FID = 'M-0000';
const pod = (id: string): ExecutorInfo => ({
  executorId: { value: id },
  frameworkId: { value: FID },
  type: ExecutorInfo_Type.DEFAULT,
  resources: parseResources('cpus:0.1;mem:32'),
  container: { type: ContainerInfo_Type.MESOS, networkInfos: [{ name: 'blue', groups: [], ipAddresses: [], portMappings: [] }] },
});
const groupTask = (id: string): TaskInfo => task(id, { command: { shell: true, value: `serve ${id}`, uris: [], arguments: [] } });

describe('task groups on the default executor', () => {
  let dir: string;
  let master: FakeMaster;
  let fake: FakeContainerizer;
  let agent: StartedAgent | undefined;

  fakeMasterHooks(
    'cp-pod-',
    (d, m) => {
      dir = d;
      master = m;
    },
    () => agent,
    () => (agent = undefined),
  );

  it('runs a group as nested containers of one pod container, adds a second group to it, and applies the group rules', async () => {
    fake = new FakeContainerizer();
    fake.networkInfos = [{ name: 'blue', ipAddresses: [{ ipAddress: '10.1.2.9' }], groups: [], portMappings: [] }];
    const regs = master.registrations.length;
    const workDir = mkdtempSync(join(dir, 'work-'));
    agent = await startAgent({
      master: master.address,
      auth: { token: 'secret' },
      ip: '127.0.0.1',
      port: 0,
      workDir,
      resources: parseResources('cpus:2;mem:1024;ports:[31000-31049]'),
      containerizers: [fake],
      statusUpdateRetryIntervalMs: 60_000,
      registrationBackoffMs: 50,
      log: silentLogger(),
    });
    await master.registered(regs + 1);
    const from = master.updates.length;
    const latest = (tid: string) => master.updates.filter((u) => u.status?.taskId?.value === tid).at(-1)?.status;
    const reach = (tid: string, state: TaskState) =>
      master
        .next((u) => u.status?.taskId?.value === tid && u.status.state === state, from)
        .then((u) => {
          master.ack(u);
          return u.status!;
        });

    master.send({ $case: 'runTaskGroup', value: { framework: framework(), executor: pod('pod1'), taskGroup: { tasks: [groupTask('g1'), groupTask('g2')] } } });
    const running = await Promise.all(['g1', 'g2'].map(async (t) => (await reach(t, TaskState.TASK_STARTING), await reach(t, TaskState.TASK_RUNNING))));
    for (const t of ['g1', 'g2'])
      assert.equal(
        master.updates.filter((u) => u.status?.taskId?.value === t && u.status.state === TaskState.TASK_STARTING).length,
        1,
        "one TASK_STARTING per task: the agent's, as the default executor's, not the containerizer's too",
      );
    const holder = fake.launched[0];
    assert.equal(
      readlinkSync(join(workDir, 'slaves', 'M-S0', 'frameworks', FID, 'executors', 'pod1', 'runs', 'latest')),
      holder!.containerId.value,
      "Mesos's sandbox layout: runs/latest names the executor's run",
    );
    // The group's nested containers launch in parallel: in whatever order they come.
    const nested = fake.launched.slice(1).sort((x, y) => (x.task.taskId?.value ?? '').localeCompare(y.task.taskId?.value ?? ''));
    assert.equal(holder!.containerId.parent, undefined, 'the pod container first');
    assert.equal(holder!.executor.command?.value, POD_HOLDER);
    assert.deepEqual(
      holder!.containerInfo?.networkInfos.map((n) => n.name),
      ['blue'],
      'the pod joins the executor network',
    );
    assert.deepEqual(
      nested.map((l) => [l.task.taskId?.value, l.containerId.parent?.value]),
      [
        ['g1', holder!.containerId.value],
        ['g2', holder!.containerId.value],
      ],
    );
    assert.equal(nested[0]!.containerInfo?.networkInfos?.length ?? 0, 0, 'a nested container has no network of its own');
    for (const s of running) {
      assert.equal(s.executorId?.value, 'pod1');
      assert.equal(s.containerStatus?.networkInfos[0]?.ipAddresses[0]?.ipAddress, '10.1.2.9', "the pod's address");
    }

    // A second group joins the running pod: one nested container more, no new pod.
    master.send({ $case: 'runTaskGroup', value: { framework: framework(), executor: pod('pod1'), taskGroup: { tasks: [groupTask('h1')] } } });
    await reach('h1', TaskState.TASK_STARTING);
    await reach('h1', TaskState.TASK_RUNNING);
    assert.equal(fake.launched.length, 4);
    assert.equal(fake.launched[3]!.containerId.parent?.value, holder!.containerId.value);

    // g1 fails: g2 (same group) is killed, h1 (another group) runs on.
    fake.end(containerIdToString(nested[0]!.containerId), { state: TaskState.TASK_FAILED, message: 'Command exited with status 3', exitCode: 3 });
    assert.equal((await reach('g1', TaskState.TASK_FAILED)).message, 'Command exited with status 3');
    await reach('g2', TaskState.TASK_KILLED);
    assert.equal(latest('h1')?.state, TaskState.TASK_RUNNING);
    assert.ok(!fake.destroyed.some((d) => d.id === holder!.containerId.value), 'the pod lives on while a task runs');

    // h1 killed: no task left, the pod ends and the master hears the executor exited.
    master.send({ $case: 'killTask', value: { frameworkId: { value: FID }, taskId: { value: 'h1' } } });
    await reach('h1', TaskState.TASK_KILLED);
    await waitFor(() => fake.destroyed.some((d) => d.id === holder!.containerId.value), 'the pod container is destroyed');
    await waitFor(
      () => master.others.some((m) => m.$case === 'exitedExecutor' && m.value.executorId?.value === 'pod1'),
      'the master hears the executor exited',
    );
    assert.equal(master.updates.filter((u) => u.status?.reason === TaskStatus_Reason.REASON_EXECUTOR_TERMINATED).length, 0, 'no task outlived the pod');
  });

  /**
   * A pod of r1 and r2 running (every status acknowledged), then the agent restarted on the same
   * work dir with a containerizer that finds the containers again (those in `endedWhileDown` ended).
   */
  async function podAcrossRestart(podId: string, endedWhileDown: (ids: { pod: string; r1: string; r2: string }) => Map<string, Termination> = () => new Map()) {
    fake = new FakeContainerizer();
    const opts = {
      master: master.address,
      auth: { token: 'secret' },
      ip: '127.0.0.1',
      port: 0,
      workDir: mkdtempSync(join(dir, 'restart-')),
      resources: parseResources('cpus:2;mem:1024;ports:[31000-31049]'),
      statusUpdateRetryIntervalMs: 60_000,
      registrationBackoffMs: 50,
      log: silentLogger(),
    };
    let regs = master.registrations.length;
    agent = await startAgent({ ...opts, containerizers: [fake] });
    await master.registered(regs + 1);
    const from = master.updates.length;
    const reach = (tid: string, state: TaskState) =>
      master
        .next((u) => u.status?.taskId?.value === tid && u.status.state === state, from)
        .then((u) => {
          master.ack(u);
          return u.status!;
        });
    master.send({ $case: 'runTaskGroup', value: { framework: framework(), executor: pod(podId), taskGroup: { tasks: [groupTask('r1'), groupTask('r2')] } } });
    for (const t of ['r1', 'r2']) {
      await reach(t, TaskState.TASK_STARTING);
      await reach(t, TaskState.TASK_RUNNING);
    }
    const idOf = (tid?: string) => containerIdToString(fake.launched.find((l) => (tid ? l.task.taskId?.value === tid : !l.containerId.parent))!.containerId);
    const ids = { pod: idOf(), r1: idOf('r1'), r2: idOf('r2') };
    await waitFor(() => agent!.agent.sum.pendingCount() === 0, 'the acknowledgements were taken');
    await agent.close();
    fake = new FakeContainerizer();
    fake.endedWhileDown = endedWhileDown(ids);
    regs = master.registrations.length;
    agent = await startAgent({ ...opts, containerizers: [fake] });
    await master.registered(regs + 1);
    assert.deepEqual(fake.recovered.map((k) => containerIdToString(k.containerId)).sort(), Object.values(ids).sort(), 'the pod and both nested containers');
    return { ids, reach, from };
  }

  it('after an agent restart the pod and its nested containers are found again and its group rule still holds', async () => {
    const { ids, reach } = await podAcrossRestart('pod2');
    // r1's container ends: r2 (its group) is killed, then the pod ends.
    fake.end(ids.r1, { state: TaskState.TASK_FAILED, message: 'Command exited with status 1', exitCode: 1 });
    await reach('r1', TaskState.TASK_FAILED);
    await reach('r2', TaskState.TASK_KILLED);
    await waitFor(() => fake.destroyed.some((d) => d.id === ids.pod), 'the pod container is destroyed');
  });

  it('a pod whose holder died while the agent was down: every task TASK_FAILED from the agent with REASON_EXECUTOR_TERMINATED, no group kill, the master told', async () => {
    // As the Mesos containerizer finds them: the holder killed, its nested containers gone with it.
    const parentGone: Termination = {
      state: TaskState.TASK_FAILED,
      reason: TaskStatus_Reason.REASON_EXECUTOR_TERMINATED,
      message: 'Abnormal executor termination: parent container is gone',
    };
    const { ids, reach, from } = await podAcrossRestart(
      'pod3',
      (c) =>
        new Map([
          [c.pod, { state: TaskState.TASK_FAILED, message: 'Command terminated with signal Killed', signal: 'SIGKILL' }],
          [c.r1, parentGone],
          [c.r2, parentGone],
        ]),
    );
    for (const t of ['r1', 'r2']) {
      const failed = await reach(t, TaskState.TASK_FAILED);
      assert.equal(failed.reason, TaskStatus_Reason.REASON_EXECUTOR_TERMINATED, `${t}: ${failed.message}`);
      assert.equal(failed.source, TaskStatus_Source.SOURCE_AGENT, `${t}: the agent speaks for the tasks of a dead executor`);
    }
    assert.equal(
      master.updates.slice(from).filter((u) => u.status?.state === TaskState.TASK_KILLED).length,
      0,
      'no group kill by an executor that no longer runs',
    );
    // The master hears it one way or the other, as from Mesos's agent: an ExitedExecutor when the
    // death is handled after the agent re-registered, else a re-registration that no longer lists
    // the executor (an agent that is not registered yet has no master to tell).
    const reregistration = master.registrations.at(-1);
    await waitFor(
      () =>
        master.others.some((m) => m.$case === 'exitedExecutor' && m.value.executorId?.value === 'pod3') ||
        (reregistration?.$case === 'reregisterAgent' && !reregistration.value.executorInfos.some((e) => e.executorId?.value === 'pod3')),
      'the master hears the executor exited',
    );
    await waitFor(() => fake.destroyed.some((d) => d.id === ids.pod), 'the pod container is destroyed');
  });
});
