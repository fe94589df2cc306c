import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { silentLogger } from '@ippc/core';
import { parseResources } from '@ippc/mesos';
import { call, JSON_TYPE, openStream, waitFor, type Stream } from '@ippc/mesos/testing';
import { FrameworkInfo_Capability_Type, TaskState, TaskStatus_Reason, TaskStatus_Source, type ExecutorInfo, type TaskInfo } from '@ippc/proto';
import { startAgent, type StartedAgent } from '../server.js';
import { fakeMasterHooks, FakeContainerizer, FakeMaster, framework, task } from '../testing/fakes.js';

// A custom executor over the executor HTTP API, played by the test against a real agent (a
// scripted master and a fake containerizer at its seams): SUBSCRIBE and the queued tasks as LAUNCH,
// UPDATE with the executor's uuid and the container's addresses merged in, ACKNOWLEDGED, a second
// task on the same executor (no new container), KILL, MESSAGE both ways, Mesos's refusals, the
// end of the executor's container, the registration timeout and SHUTDOWN.

const FID = 'M-0000';
const json = (r: Buffer) => JSON.parse(r.toString('utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const ofType = (type: string) => (r: Buffer) => json(r).type === type;
const uuid = (n: number) => Buffer.alloc(16, n).toString('base64');

const executorInfo = (id: string, extra: Partial<ExecutorInfo> = {}): ExecutorInfo => ({
  executorId: { value: id },
  frameworkId: { value: FID },
  command: { value: 'my-executor', uris: [], arguments: [] },
  resources: parseResources('cpus:0.1;mem:32'),
  ...extra,
});
/** A task for the executor: `executor` set, no `command` (Mesos: one or the other). */
const taskFor = (id: string, executor: ExecutorInfo): TaskInfo => {
  const t = task(id, { executor });
  delete t.command;
  return t;
};

describe('custom executors over the executor API', () => {
  let dir: string;
  let master: FakeMaster;
  let fake: FakeContainerizer;
  let agent: StartedAgent | undefined;
  const start = async (extra: Partial<Parameters<typeof startAgent>[0]> = {}) => {
    const regs = master.registrations.length;
    agent = await startAgent({
      master: master.address,
      auth: { token: 'secret' },
      ip: '127.0.0.1',
      port: 0,
      workDir: mkdtempSync(join(dir, 'work-')),
      resources: parseResources('cpus:2;mem:1024;ports:[31000-31049]'),
      containerizers: [fake],
      statusUpdateRetryIntervalMs: 60_000,
      registrationBackoffMs: 50,
      log: silentLogger(),
      ...extra,
    });
    await master.registered(regs + 1);
    return agent;
  };
  const api = () => `${agent!.url}/api/v1/executor`;
  const post = (body: object) => call(api(), JSON.stringify(body), { 'content-type': JSON_TYPE });
  const subscribe = (eid: string, extra: object = {}): Promise<Stream> =>
    openStream(api(), JSON.stringify({ type: 'SUBSCRIBE', framework_id: { value: FID }, executor_id: { value: eid }, subscribe: extra }), {
      'content-type': JSON_TYPE,
      accept: JSON_TYPE,
    });
  const update = (eid: string, tid: string, state: string, n: number, extra: object = {}) =>
    post({
      type: 'UPDATE',
      framework_id: { value: FID },
      executor_id: { value: eid },
      update: { status: { task_id: { value: tid }, state, source: 'SOURCE_EXECUTOR', uuid: uuid(n), ...extra } },
    });
  const updateOf = (tid: string, state: TaskState, from = 0) => master.next((u) => u.status?.taskId?.value === tid && u.status.state === state, from);

  fakeMasterHooks(
    'cp-custom-',
    (d, m) => {
      dir = d;
      master = m;
    },
    () => agent,
    () => (agent = undefined),
  );

  it('queues tasks until SUBSCRIBE, forwards UPDATEs with the container address, ACKNOWLEDGED, a second task on the same container, KILL, MESSAGE both ways', async () => {
    fake = new FakeContainerizer();
    fake.networkInfos = [{ name: 'blue', ipAddresses: [{ ipAddress: '10.1.2.3' }], groups: [], portMappings: [] }];
    const a = await start();
    const ex = executorInfo('ex1');
    const from = master.updates.length;
    master.send({ $case: 'runTask', value: { framework: framework(), task: taskFor('c1', ex) } });
    await waitFor(() => fake.launched.length === 1, 'the executor container launched');
    const spec = fake.launched[0]!;
    assert.equal(spec.environment.MESOS_AGENT_ENDPOINT, `127.0.0.1:${a.port}`);
    assert.equal(spec.environment.MESOS_EXECUTOR_ID, 'ex1');
    assert.equal(spec.environment.MESOS_FRAMEWORK_ID, FID);
    assert.equal(spec.environment.MESOS_DIRECTORY, spec.sandboxDirectory);
    assert.equal(spec.environment.MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD, '5secs');
    // A checkpointing framework's executor may outlive the agent: how long, and how often it retries.
    assert.equal(spec.environment.MESOS_CHECKPOINT, '1');
    assert.equal(spec.environment.MESOS_RECOVERY_TIMEOUT, '15mins');
    assert.equal(spec.environment.MESOS_SUBSCRIPTION_BACKOFF_MAX, '2secs', "at most the agent's executor re-registration timeout");
    assert.equal(spec.environment.MESOS_TASK_ID, undefined, 'an executor is not a task');
    const state = (await (await fetch(`${a.url}/state`)).json()) as {
      frameworks: { executors: { id: string; queued_tasks: { id: string; executor_id: string }[] }[] }[];
    };
    assert.deepEqual(
      state.frameworks[0]!.executors[0]!.queued_tasks.map((t) => [t.id, t.executor_id]),
      [['c1', 'ex1']],
      'the task waits for its executor',
    );
    assert.deepEqual(
      [(await update('ex1', 'c1', 'TASK_RUNNING', 1)).status, (await update('ex1', 'c1', 'TASK_RUNNING', 1)).body],
      [403, 'Executor is not subscribed'],
    );
    assert.equal(master.updates.length, from, 'the containerizer statuses of a custom executor are not the tasks statuses');

    const s = await subscribe('ex1');
    assert.equal(s.status, 200);
    const subscribed = json(await s.next(ofType('SUBSCRIBED'))).subscribed;
    assert.equal(subscribed.executor_info.executor_id.value, 'ex1');
    assert.equal(subscribed.framework_info.id.value, FID);
    assert.equal(subscribed.container_id.value, spec.containerId.value);
    assert.equal(json(await s.next(ofType('LAUNCH'))).launch.task.task_id.value, 'c1');

    assert.equal((await update('ex1', 'c1', 'TASK_RUNNING', 1)).status, 202);
    const running = (await updateOf('c1', TaskState.TASK_RUNNING, from)).status!;
    assert.equal(Buffer.from(running.uuid!).toString('base64'), uuid(1), "the executor's uuid");
    assert.equal(running.executorId?.value, 'ex1');
    assert.equal(running.source, TaskStatus_Source.SOURCE_EXECUTOR);
    assert.equal(running.containerStatus?.networkInfos[0]?.ipAddresses[0]?.ipAddress, '10.1.2.3', "the container's address");
    master.ack(master.updates.find((u) => u.status === running)!);
    const acked = json(await s.next(ofType('ACKNOWLEDGED'))).acknowledged;
    assert.deepEqual([acked.task_id.value, acked.uuid], ['c1', uuid(1)]);

    // A second task: LAUNCH at once on the same container, the same address.
    master.send({ $case: 'runTask', value: { framework: framework(), task: taskFor('c2', ex) } });
    assert.equal(json(await s.next((r) => json(r).type === 'LAUNCH' && json(r).launch.task.task_id.value === 'c2')).launch.task.name, 'c2');
    assert.equal(fake.launched.length, 1, 'no second container');
    assert.equal((await update('ex1', 'c2', 'TASK_RUNNING', 2)).status, 202);
    const running2 = await updateOf('c2', TaskState.TASK_RUNNING, from);
    assert.equal(running2.status!.containerStatus?.networkInfos[0]?.ipAddresses[0]?.ipAddress, '10.1.2.3');
    master.ack(running2);

    master.send({ $case: 'killTask', value: { frameworkId: { value: FID }, taskId: { value: 'c2' }, killPolicy: { gracePeriod: { nanoseconds: 1e9 } } } });
    const kill = json(await s.next(ofType('KILL'))).kill;
    assert.deepEqual([kill.task_id.value, kill.kill_policy.grace_period.nanoseconds], ['c2', 1e9]);
    assert.equal((await update('ex1', 'c2', 'TASK_KILLED', 3)).status, 202);
    await updateOf('c2', TaskState.TASK_KILLED, from);

    master.send({ $case: 'frameworkToExecutor', value: { frameworkId: { value: FID }, executorId: { value: 'ex1' }, data: Buffer.from('to-executor') } });
    assert.equal(Buffer.from(json(await s.next(ofType('MESSAGE'))).message.data, 'base64').toString(), 'to-executor');
    const sent = await post({
      type: 'MESSAGE',
      framework_id: { value: FID },
      executor_id: { value: 'ex1' },
      message: { data: Buffer.from('to-framework').toString('base64') },
    });
    assert.equal(sent.status, 202, sent.body);
    await waitFor(() => master.others.some((m) => m.$case === 'executorToFramework'), 'the message reached the master');
    const forwarded = master.others.find((m) => m.$case === 'executorToFramework');
    assert.ok(forwarded?.$case === 'executorToFramework');
    assert.deepEqual([forwarded.value.executorId?.value, Buffer.from(forwarded.value.data!).toString()], ['ex1', 'to-framework']);

    // The executor's container ends with c1 still running: TASK_FAILED from the agent, the master told.
    fake.end(spec.containerId.value!, { state: TaskState.TASK_FAILED, message: 'Command exited with status 1', exitCode: 1 });
    const failed = (await updateOf('c1', TaskState.TASK_FAILED, from)).status!;
    assert.equal(failed.reason, TaskStatus_Reason.REASON_EXECUTOR_TERMINATED);
    assert.equal(failed.source, TaskStatus_Source.SOURCE_AGENT);
    assert.equal(failed.message, 'Executor terminated: Command exited with status 1');
    await waitFor(() => master.others.some((m) => m.$case === 'exitedExecutor'), 'the master heard the executor exit');
    const exited = master.others.find((m) => m.$case === 'exitedExecutor');
    assert.ok(exited?.$case === 'exitedExecutor');
    assert.deepEqual([exited.value.executorId?.value, exited.value.status], ['ex1', 1]);
    await waitFor(() => s.ended, 'the event stream ends');
  });

  it("answers Mesos's refusals of bad executor calls", async () => {
    fake = new FakeContainerizer();
    await start();
    master.send({ $case: 'runTask', value: { framework: framework(), task: taskFor('r1', executorInfo('ex2')) } });
    await waitFor(() => fake.launched.length === 1, 'the executor container launched');
    const s = await subscribe('ex2');
    await s.next(ofType('LAUNCH'));
    const ids = { framework_id: { value: FID }, executor_id: { value: 'ex2' } };
    const status = (extra: object) => ({
      ...ids,
      type: 'UPDATE',
      update: { status: { task_id: { value: 'r1' }, state: 'TASK_RUNNING', source: 'SOURCE_EXECUTOR', uuid: uuid(9), ...extra } },
    });
    const cases: [object, number, string][] = [
      [{ ...ids, type: 'UPDATE', framework_id: { value: 'nope' } }, 400, "Failed to validate Executor::Call: Expecting 'update' to be present"],
      [
        status({ source: 'SOURCE_AGENT' }),
        400,
        `Failed to validate Executor::Call: Received Call from executor ex2 of framework ${FID} with invalid source, expecting 'SOURCE_EXECUTOR'`,
      ],
      [
        status({ state: 'TASK_STAGING' }),
        400,
        `Failed to validate Executor::Call: Received TASK_STAGING from executor ex2 of framework ${FID} which is not allowed`,
      ],
      [
        status({ executor_id: { value: 'other' } }),
        400,
        'Failed to validate Executor::Call: ExecutorID in Call: ex2 does not match ExecutorID in TaskStatus: other',
      ],
      [status({ uuid: undefined }), 400, "Failed to validate Executor::Call: Expecting 'uuid' to be present"],
      [{ type: 'MESSAGE', framework_id: { value: FID } }, 400, 'Failed to convert JSON into Call protobuf: Missing required fields: executor_id'],
      [
        { ...ids, type: 'UPDATE', update: { status: {} } },
        400,
        'Failed to convert JSON into Call protobuf: Missing required fields: update.status.task_id, update.status.state',
      ],
      [{ ...ids, framework_id: { value: 'nope' }, type: 'MESSAGE', message: { data: '' } }, 400, 'Framework cannot be found'],
      [{ ...ids, executor_id: { value: 'nope' }, type: 'MESSAGE', message: { data: '' } }, 400, 'Executor cannot be found'],
    ];
    for (const [body, code, text] of cases) {
      const r = await post(body);
      assert.deepEqual([r.status, r.body], [code, text], JSON.stringify(body));
    }
    assert.equal((await call(api(), '{}', { 'content-type': 'text/plain' })).status, 415);
    assert.equal((await post({ ...ids, type: 'HEARTBEAT' })).status, 202);
    s.close();
  });

  it('an executor that never subscribes is destroyed after the registration timeout; its tasks fail with Mesos reason', async () => {
    fake = new FakeContainerizer();
    await start({ executorRegistrationTimeoutMs: 300 });
    const from = master.updates.length;
    // A framework that does not checkpoint: its executor is not told to wait for a restarted agent.
    master.send({ $case: 'runTask', value: { framework: { ...framework(), checkpoint: false }, task: taskFor('t1', executorInfo('ex3')) } });
    const failed = (await updateOf('t1', TaskState.TASK_FAILED, from)).status!;
    assert.equal(failed.reason, TaskStatus_Reason.REASON_EXECUTOR_REGISTRATION_TIMEOUT);
    assert.equal(failed.message, 'Executor did not register within 300ms', 'the timeout as Mesos prints a duration');
    assert.equal(fake.launched[0]!.environment.MESOS_CHECKPOINT, '0');
    assert.equal(fake.launched[0]!.environment.MESOS_RECOVERY_TIMEOUT, undefined);
    assert.equal(fake.launched[0]!.environment.MESOS_SUBSCRIPTION_BACKOFF_MAX, undefined);
    assert.deepEqual(
      fake.destroyed.map((d) => d.id),
      [fake.launched[0]!.containerId.value],
    );
  });

  it('a task killed before delivery ends TASK_KILLED at once; SHUTDOWN sends the event and destroys the container after the grace', async () => {
    fake = new FakeContainerizer();
    await start({ defaultKillGracePeriodMs: 300 });
    const from = master.updates.length;
    master.send({ $case: 'runTask', value: { framework: framework(), task: taskFor('q1', executorInfo('ex4')) } });
    await waitFor(() => fake.launched.length === 1, 'the executor container launched');
    master.send({ $case: 'killTask', value: { frameworkId: { value: FID }, taskId: { value: 'q1' } } });
    const killed = (await updateOf('q1', TaskState.TASK_KILLED, from)).status!;
    assert.equal(killed.reason, TaskStatus_Reason.REASON_TASK_KILLED_DURING_LAUNCH);
    await waitFor(() => fake.destroyed.length === 1, 'an executor left with nothing to run is shut down');

    master.send({ $case: 'runTask', value: { framework: framework(), task: taskFor('q2', executorInfo('ex5')) } });
    await waitFor(() => fake.launched.length === 2, 'the second executor launched');
    const s = await subscribe('ex5');
    await s.next(ofType('LAUNCH'));
    const asked = Date.now();
    master.send({ $case: 'shutdownExecutor', value: { frameworkId: { value: FID }, executorId: { value: 'ex5' } } });
    await s.next(ofType('SHUTDOWN'));
    await waitFor(() => fake.destroyed.length === 2, 'the container is destroyed after the grace');
    assert.ok(Date.now() - asked >= 250, `destroyed after the grace period (${Date.now() - asked} ms)`);
    const failed = (await updateOf('q2', TaskState.TASK_FAILED, from)).status!;
    assert.equal(failed.reason, TaskStatus_Reason.REASON_EXECUTOR_TERMINATED, 'the executor did not report its task: the agent fails it');
  });

  it('an executor that died while the agent was down: its tasks fail from the agent, and the re-registration does not report it', async () => {
    fake = new FakeContainerizer();
    const workDir = mkdtempSync(join(dir, 'dead-'));
    const first = await start({ workDir });
    const from = master.updates.length;
    master.send({ $case: 'runTask', value: { framework: framework(), task: taskFor('d1', executorInfo('ex9')) } });
    await waitFor(() => fake.launched.length === 1, 'ex9 launched');
    const s = await subscribe('ex9');
    await s.next(ofType('LAUNCH'));
    assert.equal((await update('ex9', 'd1', 'TASK_RUNNING', 21)).status, 202);
    master.ack(await updateOf('d1', TaskState.TASK_RUNNING, from));
    await waitFor(() => first.agent.sum.pendingCount() === 0, 'the acknowledgement was taken');
    const container = fake.launched[0]!.containerId.value!;
    await first.close();
    agent = undefined;
    s.close();
    fake = new FakeContainerizer();
    fake.endedWhileDown.set(container, { state: TaskState.TASK_FAILED, message: 'Command terminated with signal Killed', signal: 'SIGKILL' });
    const regs = master.registrations.length;
    await start({ workDir });
    const hello = master.registrations[regs]!;
    assert.equal(hello?.$case, 'reregisterAgent');
    assert.deepEqual(
      hello.$case === 'reregisterAgent' ? hello.value.executorInfos.map((e) => e.executorId?.value) : [],
      [],
      'an executor that ended holds no resources: the master is not told of it (Mesos skips TERMINATED executors)',
    );
    const failed = (await updateOf('d1', TaskState.TASK_FAILED, from)).status!;
    assert.equal(failed.reason, TaskStatus_Reason.REASON_EXECUTOR_TERMINATED);
    assert.equal(failed.source, TaskStatus_Source.SOURCE_AGENT);
    await waitFor(() => fake.destroyed.some((d) => d.id === container), 'its container is destroyed');
  });

  it('a task that never reached its executor before the agent restarted is dropped when the executor subscribes again (Mesos: REASON_AGENT_RESTARTED)', async () => {
    fake = new FakeContainerizer();
    const workDir = mkdtempSync(join(dir, 'undelivered-'));
    const first = await start({ workDir });
    const from = master.updates.length;
    // The executor's container runs, but the agent dies before the executor subscribes: u1 was never sent.
    master.send({ $case: 'runTask', value: { framework: framework(), task: taskFor('u1', executorInfo('ex10')) } });
    await waitFor(() => fake.launched.length === 1, 'ex10 launched');
    await first.close();
    agent = undefined;
    fake = new FakeContainerizer();
    await start({ workDir });
    const s = await subscribe('ex10', { unacknowledged_tasks: [], unacknowledged_updates: [] });
    await s.next(ofType('SUBSCRIBED'));
    const dropped = (await updateOf('u1', TaskState.TASK_LOST, from)).status!;
    assert.equal(dropped.reason, TaskStatus_Reason.REASON_AGENT_RESTARTED);
    assert.equal(dropped.message, 'Task launched during agent restart');
    assert.equal(dropped.source, TaskStatus_Source.SOURCE_AGENT);
    s.close();
  });

  for (const partitionAware of [false, true]) {
    const lost = partitionAware ? TaskState.TASK_GONE : TaskState.TASK_LOST;
    it(`after an agent restart an executor that re-subscribes keeps its container; one that does not is destroyed, its task ${TaskState[lost]} with Mesos reason`, async () => {
      fake = new FakeContainerizer();
      const fw = framework(partitionAware ? [FrameworkInfo_Capability_Type.PARTITION_AWARE] : []);
      const workDir = mkdtempSync(join(dir, 'restart-'));
      const first = await start({ workDir });
      const from = master.updates.length;
      for (const [tid, eid] of [
        ['k1', 'ex6'],
        ['k2', 'ex7'],
      ] as const) {
        master.send({ $case: 'runTask', value: { framework: fw, task: taskFor(tid, executorInfo(eid)) } });
        await waitFor(() => fake.launched.some((l) => l.executor.executorId?.value === eid), `${eid} launched`);
        const s = await subscribe(eid);
        await s.next(ofType('LAUNCH'));
        assert.equal((await update(eid, tid, 'TASK_RUNNING', tid === 'k1' ? 11 : 12)).status, 202);
        master.ack(await updateOf(tid, TaskState.TASK_RUNNING, from));
      }
      const containerOf = (eid: string) => fake.launched.find((l) => l.executor.executorId?.value === eid)!.containerId.value!;
      const [ex6, ex7] = [containerOf('ex6'), containerOf('ex7')];
      await waitFor(() => first.agent.sum.pendingCount() === 0, 'the acknowledgements were taken');
      await first.close();
      agent = undefined;
      // The same work dir, a containerizer that finds both containers again.
      fake = new FakeContainerizer();
      const from2 = master.updates.length;
      await start({ workDir, executorReregistrationTimeoutMs: 500 });
      assert.deepEqual(fake.recovered.map((k) => k.containerId.value).sort(), [ex6, ex7].sort());
      const back = await subscribe('ex6', { unacknowledged_tasks: [], unacknowledged_updates: [] });
      assert.equal(json(await back.next(ofType('SUBSCRIBED'))).subscribed.container_id.value, ex6, 'the same container');
      // Mesos's `reregisterExecutorTimeout`: the task was started, so it is gone (lost, for a framework
      // that is not partition-aware), not failed.
      const ended = (await updateOf('k2', lost, from2)).status!;
      assert.equal(ended.reason, TaskStatus_Reason.REASON_EXECUTOR_REREGISTRATION_TIMEOUT);
      assert.equal(ended.source, TaskStatus_Source.SOURCE_AGENT);
      assert.equal(ended.message, 'Executor did not reregister within 500ms');
      assert.deepEqual(
        fake.destroyed.map((d) => d.id),
        [ex7],
        'only the executor that did not come back is destroyed',
      );
      back.close();
    });
  }
});
