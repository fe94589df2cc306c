import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createMesosContainerizer } from '@ippc/mesos-containerizer';
import {
  ContainerInfo_Type,
  FrameworkInfo_Capability_Type,
  NetworkInfo_Protocol,
  TaskState,
  TaskStatus_Reason,
  TaskStatus_Source,
  type TaskStatus,
} from '@ippc/proto';
import { parseResources } from '@ippc/mesos';
import { commandExecutorInfo, mergeContainerStatus, portEnvironment } from './agent.js';
import { startAgent, type StartedAgent } from './server.js';
import { fakeMasterHooks, FakeContainerizer, FakeMaster, framework, task } from './testing/fakes.js';

// The agent against a scripted master (the real Agents gRPC service, driven by the test) and a
// fake containerizer at the Containerizer seam (testing/fakes.ts).

describe('agent', () => {
  let dir: string;
  let master: FakeMaster;
  let fake: FakeContainerizer;
  let agent: StartedAgent | undefined;
  let workSeq = 0;
  /** Starts an agent on a fresh work dir (or the given one) and waits until the master registered it. */
  const start = async (extra: Partial<Parameters<typeof startAgent>[0]> = {}) => {
    const regs = master.registrations.length;
    agent = await startAgent({
      master: master.address,
      auth: { token: 'secret' },
      ip: '127.0.0.1',
      ip6: 'fd00::2',
      port: 0,
      workDir: join(dir, `work${workSeq++}`),
      resources: parseResources('cpus:2;mem:1024;ports:[31000-31049]'),
      containerizers: [fake],
      statusUpdateRetryIntervalMs: 200,
      registrationBackoffMs: 50,
      log: (await import('@ippc/core')).silentLogger(),
      ...extra,
    });
    await master.registered(regs + 1);
    return agent;
  };

  fakeMasterHooks(
    'cp-agent-',
    (d, m) => {
      dir = d;
      master = m;
    },
    () => agent,
    () => (agent = undefined),
  );

  it('registers with its resources and pid, then runs a task with PORTn, its environment and the container copied to the executor', async () => {
    fake = new FakeContainerizer();
    const a = await start();
    await master.registered(1);
    const reg = master.registrations[0];
    assert.equal(reg?.$case, 'registerAgent');
    assert.equal(reg.$case === 'registerAgent' && reg.value.pid, `slave(1)@127.0.0.1:${a.port}`);
    const container = { type: ContainerInfo_Type.MESOS, networkInfos: [] };
    master.send({ $case: 'runTask', value: { framework: framework(), task: task('t1', { container }) } });
    master.ack(await master.next((u) => u.status?.taskId?.value === 't1' && u.status.state === TaskState.TASK_STARTING));
    const running = await master.next((u) => u.status?.taskId?.value === 't1' && u.status.state === TaskState.TASK_RUNNING);
    const spec = fake.launched[0]!;
    assert.equal(spec.environment.PORT0, '31005', 'PORT0 is the first port the task lists');
    assert.equal(spec.environment.PORT1, '31002');
    assert.equal(spec.environment.PORTS, '31005,31002');
    assert.equal(spec.environment.GREETING, 'hi');
    assert.equal(spec.environment.MESOS_TASK_ID, 't1');
    assert.equal(spec.environment.MESOS_SANDBOX, spec.sandboxDirectory);
    assert.ok(existsSync(spec.sandboxDirectory));
    assert.equal(spec.executor.container?.type, ContainerInfo_Type.MESOS, "TaskInfo.container is copied into the command executor's ExecutorInfo");
    assert.equal(spec.containerInfo?.type, ContainerInfo_Type.MESOS);
    assert.equal(spec.executor.executorId?.value, 't1');
    const s = running.status!;
    assert.equal(s.source, TaskStatus_Source.SOURCE_EXECUTOR);
    assert.equal(s.agentId?.value, 'M-S0');
    assert.equal(s.uuid?.length, 16);
    assert.deepEqual(
      s.containerStatus?.networkInfos.map((n) => n.ipAddresses.map((ip) => [ip.protocol, ip.ipAddress])),
      [
        [
          [undefined, '127.0.0.1'],
          [NetworkInfo_Protocol.IPv6, 'fd00::2'],
        ],
      ],
      'agent IP and IPv6 when there are no network_infos',
    );
    assert.equal(s.containerStatus?.containerId?.value, spec.containerId.value);
  });

  it('keeps the containerizer network_infos and sends updates in order, one in flight, resent until acknowledged', async () => {
    fake = new FakeContainerizer();
    fake.networkInfos = [{ name: 'blue', groups: ['web'], portMappings: [], ipAddresses: [{ protocol: NetworkInfo_Protocol.IPv4, ipAddress: '10.1.2.3' }] }];
    await start();
    const from = master.updates.length;
    master.send({ $case: 'runTask', value: { framework: framework(), task: task('t2') } });
    const starting = await master.next((u) => u.status?.taskId?.value === 't2' && u.status.state === TaskState.TASK_STARTING, from);
    assert.deepEqual(
      starting.status?.containerStatus?.networkInfos.map((n) => [n.name, n.ipAddresses[0]?.ipAddress]),
      [['blue', '10.1.2.3']],
      'no agent IP when the container has its own',
    );
    // Without an acknowledgement STARTING comes again, and RUNNING waits behind it.
    await master.next((u, i = master.updates.indexOf(u)) => i > master.updates.indexOf(starting) && u.status?.taskId?.value === 't2', from);
    const again = master.updates.slice(master.updates.indexOf(starting) + 1).filter((u) => u.status?.taskId?.value === 't2');
    assert.ok(
      again.every((u) => u.status?.state === TaskState.TASK_STARTING),
      'only the oldest update is in flight',
    );
    assert.equal(Buffer.from(again[0]!.status!.uuid!).toString('hex'), Buffer.from(starting.status!.uuid!).toString('hex'));
    assert.equal(again[0]!.latestState, TaskState.TASK_RUNNING, 'latest_state tells the master how far the task is');
    master.ack(starting);
    const running = await master.next((u) => u.status?.taskId?.value === 't2' && u.status.state === TaskState.TASK_RUNNING, from);
    master.ack(running);
  });

  it('answers a failed launch with TASK_FAILED, SOURCE_AGENT, REASON_CONTAINER_LAUNCH_FAILED and no container_status', async () => {
    fake = new FakeContainerizer();
    fake.failLaunch = "Unknown CNI network 'nope'";
    await start();
    const from = master.updates.length;
    master.send({ $case: 'runTask', value: { framework: framework(), task: task('t3') } });
    const failed = (await master.next((u) => u.status?.taskId?.value === 't3', from)).status!;
    assert.equal(failed.state, TaskState.TASK_FAILED);
    assert.equal(failed.source, TaskStatus_Source.SOURCE_AGENT);
    assert.equal(failed.reason, TaskStatus_Reason.REASON_CONTAINER_LAUNCH_FAILED);
    assert.equal(failed.message, "Failed to launch container: Unknown CNI network 'nope'");
    assert.equal(failed.containerStatus, undefined);
  });

  it("keeps the containerizer's own terminal status when it then fails the launch (one terminal update)", async () => {
    fake = new FakeContainerizer();
    fake.executorFailure = 'Failed to create docker run options: No network info found in container info';
    await start();
    const from = master.updates.length;
    master.send({ $case: 'runTask', value: { framework: framework(), task: task('t3b') } });
    master.ack(await master.next((u) => u.status?.taskId?.value === 't3b' && u.status.state === TaskState.TASK_STARTING, from));
    const failed = (await master.next((u) => u.status?.taskId?.value === 't3b' && u.status.state === TaskState.TASK_FAILED, from)).status!;
    assert.equal(failed.message, 'Failed to create docker run options: No network info found in container info');
    assert.equal(failed.source, TaskStatus_Source.SOURCE_EXECUTOR);
    master.ack(master.updates.find((u) => u.status === failed)!);
    await new Promise((r) => setTimeout(r, 300));
    const terminal = master.updates.slice(from).filter((u) => u.status?.taskId?.value === 't3b' && u.status.state === TaskState.TASK_FAILED);
    assert.equal(new Set(terminal.map((u) => Buffer.from(u.status!.uuid!).toString('hex'))).size, 1, 'no second TASK_FAILED');
  });

  it('kills with the task kill policy, sends TASK_KILLING to frameworks that ask for it, and TASK_KILLED', async () => {
    fake = new FakeContainerizer();
    await start({ statusUpdateRetryIntervalMs: 60_000 });
    const from = master.updates.length;
    master.send({
      $case: 'runTask',
      value: {
        framework: framework([FrameworkInfo_Capability_Type.TASK_KILLING_STATE]),
        task: task('t4', { killPolicy: { gracePeriod: { nanoseconds: 1.5e9 } } }),
      },
    });
    const ackAll = async (state: TaskState) => master.ack(await master.next((u) => u.status?.taskId?.value === 't4' && u.status.state === state, from));
    await ackAll(TaskState.TASK_STARTING);
    await ackAll(TaskState.TASK_RUNNING);
    master.send({ $case: 'killTask', value: { frameworkId: { value: 'M-0000' }, taskId: { value: 't4' } } });
    await ackAll(TaskState.TASK_KILLING);
    const killed = (await master.next((u) => u.status?.taskId?.value === 't4' && u.status.state === TaskState.TASK_KILLED, from)).status!;
    assert.equal(killed.message, 'Command terminated with signal Terminated');
    assert.deepEqual(
      fake.destroyed.map((d) => d.gracePeriodMs),
      [1500],
    );
  });

  it("SHUTDOWN of a command executor kills its task within the agent's shutdown grace (TASK_KILLED); MESSAGE is delivered or dropped, and counted", async () => {
    fake = new FakeContainerizer();
    const a = await start({ statusUpdateRetryIntervalMs: 60_000, defaultKillGracePeriodMs: 2500 });
    const from = master.updates.length;
    master.send({ $case: 'runTask', value: { framework: framework(), task: task('t4b') } });
    master.ack(await master.next((u) => u.status?.taskId?.value === 't4b' && u.status.state === TaskState.TASK_STARTING, from));
    master.ack(await master.next((u) => u.status?.taskId?.value === 't4b' && u.status.state === TaskState.TASK_RUNNING, from));
    // The command executor of a task has the task's id (Mesos's getExecutorInfo).
    master.send({ $case: 'frameworkToExecutor', value: { frameworkId: { value: 'M-0000' }, executorId: { value: 't4b' }, data: Buffer.from('ping') } });
    master.send({ $case: 'frameworkToExecutor', value: { frameworkId: { value: 'M-0000' }, executorId: { value: 'nope' }, data: Buffer.from('ping') } });
    master.send({ $case: 'shutdownExecutor', value: { frameworkId: { value: 'M-0000' }, executorId: { value: 'nope' } } });
    master.send({ $case: 'shutdownExecutor', value: { frameworkId: { value: 'M-0000' }, executorId: { value: 't4b' } } });
    const killed = (await master.next((u) => u.status?.taskId?.value === 't4b' && u.status.state === TaskState.TASK_KILLED, from)).status!;
    assert.equal(killed.source, TaskStatus_Source.SOURCE_EXECUTOR);
    assert.deepEqual(
      fake.destroyed.map((d) => d.gracePeriodMs),
      [2500],
      'one destroy, with the shutdown grace; the unknown executor was left alone',
    );
    assert.deepEqual(a.agent.counters, { validFrameworkMessages: 1, invalidFrameworkMessages: 1 });
    const metrics = await (await fetch(`${a.url}/metrics`)).text();
    assert.match(metrics, /ippc_agent_framework_messages_total\{[^}]*outcome="valid"[^}]*\} 1/);
    assert.match(metrics, /ippc_agent_framework_messages_total\{[^}]*outcome="invalid"[^}]*\} 1/);
  });

  it('survives a restart: re-registers with its id and running tasks, and resends what was not acknowledged', async () => {
    fake = new FakeContainerizer();
    const workDir = join(dir, 'work-restart');
    const a = await start({ statusUpdateRetryIntervalMs: 60_000, workDir });
    const from = master.updates.length;
    master.send({ $case: 'runTask', value: { framework: framework(), task: task('t5') } });
    master.ack(await master.next((u) => u.status?.taskId?.value === 't5' && u.status.state === TaskState.TASK_STARTING, from));
    const running = await master.next((u) => u.status?.taskId?.value === 't5' && u.status.state === TaskState.TASK_RUNNING, from);
    const containerId = fake.launched.at(-1)!.containerId.value!;
    await a.close();
    // Same work dir, a new containerizer instance that finds the container again.
    fake = new FakeContainerizer();
    const from2 = master.updates.length;
    await start({ statusUpdateRetryIntervalMs: 60_000, workDir });
    const rereg = master.registrations.at(-1)!;
    assert.equal(rereg.$case, 'reregisterAgent');
    if (rereg.$case !== 'reregisterAgent') return;
    assert.equal(rereg.value.agent?.id?.value, 'M-S0');
    const t5 = rereg.value.tasks.find((t) => t.taskId?.value === 't5');
    assert.equal(t5?.state, TaskState.TASK_RUNNING, 'the running task keeps its status');
    assert.deepEqual(
      t5?.statuses.map((s: TaskStatus) => s.state),
      [TaskState.TASK_STARTING, TaskState.TASK_RUNNING],
    );
    assert.ok(fake.recovered.some((k) => k.containerId.value === containerId && k.containerizer === 'fake'));
    // The unacknowledged RUNNING is resent with the same uuid.
    const resent = await master.next((u) => u.status?.taskId?.value === 't5', from2);
    assert.equal(Buffer.from(resent.status!.uuid!).toString('hex'), Buffer.from(running.status!.uuid!).toString('hex'));
    master.ack(resent);
    // The recovered container ends; the terminal update follows.
    fake.end(containerId, { state: TaskState.TASK_FINISHED, message: 'Command exited with status 0', exitCode: 0 });
    const done = await master.next((u) => u.status?.taskId?.value === 't5' && u.status.state === TaskState.TASK_FINISHED, from2);
    assert.equal(done.status?.message, 'Command exited with status 0');
  });

  it('a container found running after a restart gets the TASK_RUNNING its agent died before sending', async () => {
    fake = new FakeContainerizer();
    fake.silentStart = true;
    const workDir = join(dir, 'work-silent');
    const a = await start({ statusUpdateRetryIntervalMs: 60_000, workDir });
    const from = master.updates.length;
    master.send({ $case: 'runTask', value: { framework: framework(), task: task('t6') } });
    for (let i = 0; i < 100 && !fake.launched.some((l) => l.task.taskId?.value === 't6'); i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(master.updates.slice(from).filter((u) => u.status?.taskId?.value === 't6').length, 0, 'nothing was sent before the "crash"');
    await a.close();
    fake = new FakeContainerizer();
    await start({ statusUpdateRetryIntervalMs: 60_000, workDir });
    const running = await master.next((u) => u.status?.taskId?.value === 't6', from);
    assert.equal(running.status?.state, TaskState.TASK_RUNNING);
    assert.equal(running.status?.source, TaskStatus_Source.SOURCE_EXECUTOR);
  });

  it('a kill asked for before a restart: a container that ended meanwhile is reported TASK_KILLED, a live one is killed', async () => {
    fake = new FakeContainerizer();
    const workDir = join(dir, 'work-midkill');
    const a = await start({ statusUpdateRetryIntervalMs: 60_000, workDir });
    const from = master.updates.length;
    for (const id of ['t7', 't8']) {
      master.send({ $case: 'runTask', value: { framework: framework(), task: task(id, { killPolicy: { gracePeriod: { nanoseconds: 2e9 } } }) } });
      master.ack(await master.next((u) => u.status?.taskId?.value === id && u.status.state === TaskState.TASK_STARTING, from));
      master.ack(await master.next((u) => u.status?.taskId?.value === id && u.status.state === TaskState.TASK_RUNNING, from));
    }
    const cid = (id: string) => fake.launched.find((l) => l.task.taskId?.value === id)!.containerId.value!;
    const [c7, c8] = [cid('t7'), cid('t8')];
    // The agent "dies" while killing: the containerizer was asked, nothing was reported.
    fake.holdDestroy = true;
    for (const id of ['t7', 't8']) master.send({ $case: 'killTask', value: { frameworkId: { value: 'M-0000' }, taskId: { value: id } } });
    for (let i = 0; i < 100 && fake.destroyed.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(fake.destroyed.length, 2);
    await a.close();
    // t7's container ended while the agent was down, by the signal of the kill; t8's still runs.
    fake = new FakeContainerizer();
    fake.endedWhileDown.set(c7, { state: TaskState.TASK_FAILED, message: 'Command terminated with signal Terminated' });
    const from2 = master.updates.length;
    await start({ statusUpdateRetryIntervalMs: 60_000, workDir });
    const k7 = await master.next((u) => u.status?.taskId?.value === 't7' && u.status.state !== TaskState.TASK_RUNNING, from2);
    assert.equal(TaskState[k7.status!.state!], 'TASK_KILLED');
    assert.equal(k7.status?.message, 'Command terminated with signal Terminated');
    const k8 = await master.next((u) => u.status?.taskId?.value === 't8' && u.status.state !== TaskState.TASK_RUNNING, from2);
    assert.equal(TaskState[k8.status!.state!], 'TASK_KILLED');
    // (t7's ended container is cleaned up with grace 0; t8's kill is finished with its grace period.)
    assert.deepEqual(
      fake.destroyed.find((d) => d.id === c8),
      { id: c8, gracePeriodMs: 2000 },
      'the restarted agent finished the kill of the live one',
    );
  });

  it('reports tasks the master asks about and does not know as lost', async () => {
    fake = new FakeContainerizer();
    await start();
    const from = master.updates.length;
    master.send({
      $case: 'reconcileTasks',
      value: { frameworkId: { value: 'M-0000' }, statuses: [{ taskId: { value: 'ghost' }, state: TaskState.TASK_RUNNING }] },
    });
    const s = (await master.next((u) => u.status?.taskId?.value === 'ghost', from)).status!;
    assert.equal(s.state, TaskState.TASK_LOST);
    assert.equal(s.reason, TaskStatus_Reason.REASON_RECONCILIATION);
    assert.equal(s.source, TaskStatus_Source.SOURCE_AGENT);
  });

  it('with the Mesos containerizer and an isolator that refuses, reports Failed to launch container and leaves nothing', async () => {
    fake = new FakeContainerizer();
    const mesos = createMesosContainerizer({
      runtimeDir: join(dir, 'run'),
      isolators: [
        {
          name: 'test/refuse',
          recover: async () => undefined,
          prepare: async () => {
            throw new Error("Attempted to join CNI network 'blue' multiple times");
          },
          isolate: async () => undefined,
          status: async () => ({ networkInfos: [] }),
          cleanup: async () => undefined,
        },
      ],
    });
    await start({ containerizers: [mesos], workDir: join(dir, 'work-mesos') });
    const from = master.updates.length;
    master.send({ $case: 'runTask', value: { framework: framework(), task: task('t7', { command: { value: 'touch ran', uris: [], arguments: [] } }) } });
    const s = (await master.next((u) => u.status?.taskId?.value === 't7', from)).status!;
    assert.equal(s.state, TaskState.TASK_FAILED);
    assert.equal(s.reason, TaskStatus_Reason.REASON_CONTAINER_LAUNCH_FAILED);
    assert.equal(s.message, "Failed to launch container: Attempted to join CNI network 'blue' multiple times");
    assert.deepEqual(mesos.containers(), []);
  });
});

describe('agent helpers', () => {
  it('computes PORT0..N in the order of the task ranges', () => {
    assert.deepEqual(portEnvironment(parseResources('ports:[31000-31001]')), { PORT0: '31000', PORT1: '31001', PORTS: '31000,31001' });
    assert.deepEqual(portEnvironment(parseResources('cpus:1')), {});
  });
  it('merges ContainerStatus like protobuf MergeFrom and fills in the agent IP only when empty', () => {
    const m = mergeContainerStatus(
      { networkInfos: [{ name: 'a', groups: [], portMappings: [], ipAddresses: [] }] },
      { containerId: { value: 'c' }, networkInfos: [{ name: 'b', groups: [], portMappings: [], ipAddresses: [] }], executorPid: 5 },
      '10.0.0.5',
    );
    assert.deepEqual(
      m.networkInfos.map((n) => n.name),
      ['a', 'b'],
    );
    assert.equal(m.containerId?.value, 'c');
    const empty = mergeContainerStatus(undefined, { networkInfos: [] }, '10.0.0.5');
    assert.deepEqual(empty.networkInfos[0]?.ipAddresses, [{ ipAddress: '10.0.0.5' }]);
  });
  it('names the command executor as Mesos does', () => {
    const e = commandExecutorInfo('F', task('x', { command: { value: 'python3 -m http.server', uris: [], arguments: [] } }), '*');
    assert.equal(e.name, "Command Executor (Task: x) (Command: sh -c 'python3 -m h...')");
    assert.equal(e.executorId?.value, 'x');
  });
});
