import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  FrameworkInfo_Capability_Type,
  Offer_Operation_Type,
  schedulerv1,
  TaskState,
  TaskStatus_Reason,
  TaskStatus_Source,
  Value_Type,
  type Offer,
  type TaskInfo,
  type TaskStatus,
} from '@ippc/proto';
import { allocateResources, formatResources, parseResources, rangesContain, rangesOf, scalarOf } from '@ippc/mesos';
import { isIppcError } from '@ippc/core';
import { Master } from './master.js';
import { masterState } from './http/state.js';
import { FakeAgent, FakeFramework } from './testing/fakes.js';
import { VALIDATION_CASES } from './testing/validation-cases.js';

const { Call_Type, Event_Type } = schedulerv1;

const subscribeCall = (name = 'fw', extra: Partial<schedulerv1.Call_Subscribe['frameworkInfo']> = {}): schedulerv1.Call => ({
  type: Call_Type.SUBSCRIBE,
  subscribe: { frameworkInfo: { user: 'root', name, capabilities: [], roles: [], ...extra } },
});

function commandTask(id: string, agentId: string, resources = 'cpus:0.1;mem:32'): TaskInfo {
  return {
    name: id,
    taskId: { value: id },
    agentId: { value: agentId },
    resources: allocateResources(parseResources(resources), '*'),
    command: { value: 'sleep 100', uris: [], arguments: [] },
    limits: {},
  };
}

describe('master (in memory)', () => {
  let master: Master;
  let agent: FakeAgent;
  let agentId: string;
  let fw: FakeFramework;
  let frameworkId: string;
  let streamId: string;

  const call = (c: Partial<schedulerv1.Call>) => master.handleCall({ frameworkId: { value: frameworkId }, ...c } as schedulerv1.Call, streamId);
  const launch = (offer: Offer, tasks: TaskInfo[], refuseSeconds = 0) =>
    call({
      type: Call_Type.ACCEPT,
      accept: { offerIds: [offer.id!], operations: [{ type: Offer_Operation_Type.LAUNCH, launch: { taskInfos: tasks } }], filters: { refuseSeconds } },
    });

  beforeEach(() => {
    master = new Master({ ip: '127.0.0.1', port: 5050, id: 'M', allocationIntervalMs: 50, agentReregisterTimeoutMs: 200 });
    agent = new FakeAgent();
    agentId = master.registerAgent(
      {
        agent: { hostname: 'a1', resources: parseResources('cpus:2;mem:1024;ports:[31000-31004]'), attributes: [] },
        version: 't',
        pid: 'slave(1)@127.0.0.2:5051',
      },
      agent,
    );
    fw = new FakeFramework();
    ({ frameworkId, streamId } = master.subscribe(subscribeCall(), fw));
  });
  after(() => master?.stop());

  it('subscribes, names ids after the master id, and offers the agent resources', async () => {
    assert.equal(agentId, 'M-S0');
    assert.equal(frameworkId, 'M-0000');
    assert.equal(fw.events[0]?.type, Event_Type.SUBSCRIBED);
    assert.equal(fw.events[0]?.subscribed?.frameworkId?.value, frameworkId);
    const offer = await fw.offer();
    assert.equal(offer.agentId?.value, agentId);
    assert.equal(offer.hostname, 'a1');
    assert.equal(formatResources(offer.resources), 'cpus(allocated: *):2; mem(allocated: *):1024; ports(allocated: *):[31000-31004]');
    assert.deepEqual(agent.of('agentRegistered')[0]?.agentId, { value: agentId });
    master.stop();
  });

  it('launches a task, forwards status updates, keeps Mesos status history and returns resources', async () => {
    const offer = await fw.offer();
    launch(offer, [commandTask('t1', agentId, 'cpus:0.5;mem:64;ports:[31001-31001]')]);
    const run = agent.of('runTask')[0];
    assert.equal(run?.task?.taskId?.value, 't1');
    assert.equal(run?.framework?.id?.value, frameworkId);
    const state = () => masterState(master).frameworks[0]!.tasks[0]!;
    assert.equal(state().state, 'TASK_STAGING');
    const up = (s: TaskState, uuid: number, extra: Partial<TaskStatus> = {}, latest?: TaskState) =>
      master.statusUpdate(agentId, agent, {
        frameworkId: { value: frameworkId },
        status: {
          taskId: { value: 't1' },
          state: s,
          source: TaskStatus_Source.SOURCE_EXECUTOR,
          uuid: Buffer.alloc(16, uuid),
          timestamp: uuid,
          data: Buffer.from('x'),
          ...extra,
        },
        ...(latest !== undefined ? { latestState: latest } : {}),
      });
    up(TaskState.TASK_STARTING, 1);
    up(TaskState.TASK_RUNNING, 2, { containerStatus: { networkInfos: [{ ipAddresses: [{ ipAddress: '127.0.0.2' }], groups: [], portMappings: [] }] } });
    // A retried RUNNING replaces the last one instead of piling up.
    up(TaskState.TASK_RUNNING, 3, { containerStatus: { networkInfos: [{ ipAddresses: [{ ipAddress: '127.0.0.2' }], groups: [], portMappings: [] }] } });
    const forwarded = await fw.update('t1', TaskState.TASK_RUNNING);
    assert.equal(forwarded.data?.toString(), 'x', 'the framework gets the status as sent');
    assert.deepEqual(
      state().statuses.map((s) => s.state),
      ['TASK_STARTING', 'TASK_RUNNING'],
    );
    assert.equal(state().statuses[1]?.timestamp, 3);
    assert.equal(state().statuses[1]?.container_status?.network_infos?.[0]?.ip_addresses?.[0]?.ip_address, '127.0.0.2');
    assert.equal(master.frameworks.get(frameworkId)!.tasks.get('t1')!.statuses.at(-1)!.data, undefined, 'data is not kept');
    // Resources are in use: the agent's next offer lacks them.
    const left = master.available(master.agents.get(agentId)!);
    assert.equal(scalarOf(left, 'cpus') + scalarOf(master.offered(master.agents.get(agentId)!), 'cpus'), 1.5);
    // Terminal update: resources come back at once, the task completes when acknowledged.
    up(TaskState.TASK_KILLED, 4);
    assert.equal(state().state, 'TASK_KILLED');
    const again = await fw.next((e) => (e.offers?.offers ?? []).some((o) => rangesContain(rangesOf(o.resources, 'ports'), [{ begin: 31001, end: 31001 }])));
    assert.ok(again, 'the freed port is offered again');
    call({ type: Call_Type.ACKNOWLEDGE, acknowledge: { agentId: { value: agentId }, taskId: { value: 't1' }, uuid: Buffer.alloc(16, 4) } });
    assert.equal(agent.of('statusUpdateAcknowledgement').at(-1)?.uuid?.toString('hex'), Buffer.alloc(16, 4).toString('hex'));
    const s = masterState(master).frameworks[0]!;
    assert.equal(s.tasks.length, 0);
    assert.equal(s.completed_tasks[0]?.state, 'TASK_KILLED');
    master.stop();
  });

  for (const c of VALIDATION_CASES) {
    it(`answers TASK_ERROR with Mesos's message: ${c.name}`, async () => {
      const offer = await fw.offer();
      const ids = { agentId, frameworkId, offered: formatResources(offer.resources) };
      const task = c.mutate(commandTask('bad', agentId), ids);
      launch(offer, [task]);
      const status = await fw.update(task.taskId?.value ?? '');
      assert.equal(status.state, TaskState.TASK_ERROR);
      assert.equal(status.source, TaskStatus_Source.SOURCE_MASTER);
      assert.equal(status.reason, TaskStatus_Reason.REASON_TASK_INVALID);
      assert.equal(status.message, typeof c.message === 'string' ? c.message : c.message(ids));
      assert.equal(status.uuid, undefined, 'master-generated updates need no acknowledgement');
      assert.equal(agent.of('runTask').length, 0, 'nothing reaches the agent');
      // Nothing is left behind: the whole offer comes back.
      const again = await fw.offer();
      assert.equal(formatResources(again.resources), ids.offered);
      master.stop();
    });
  }

  it('refuses a duplicate task id, then one of an unreachable task', async () => {
    const offer = await fw.offer();
    launch(offer, [commandTask('dup', agentId), commandTask('dup', agentId)]);
    const err = await fw.next((e) => e.type === Event_Type.UPDATE && e.update?.status?.state === TaskState.TASK_ERROR);
    assert.equal(err.update?.status?.message, 'Task has duplicate ID: dup');
    assert.equal(agent.of('runTask').length, 1, 'the first one was launched');
    master.stop();
  });

  it('answers an ACCEPT on a rescinded, unknown or foreign offer with TASK_LOST REASON_INVALID_OFFERS', async () => {
    const offer = await fw.offer();
    const other = new FakeFramework();
    const otherIds = master.subscribe(subscribeCall('other'), other);
    // Unknown offer.
    call({
      type: Call_Type.ACCEPT,
      accept: { offerIds: [{ value: 'M-O999' }], operations: [{ type: Offer_Operation_Type.LAUNCH, launch: { taskInfos: [commandTask('x1', agentId)] } }] },
    });
    let s = await fw.update('x1');
    assert.equal(s.state, TaskState.TASK_LOST);
    assert.equal(s.reason, TaskStatus_Reason.REASON_INVALID_OFFERS);
    assert.equal(s.source, TaskStatus_Source.SOURCE_MASTER);
    assert.equal(s.message, 'Task launched with invalid offers: Offer M-O999 is no longer valid');
    // Another framework's offer.
    master.handleCall(
      {
        frameworkId: { value: otherIds.frameworkId },
        type: Call_Type.ACCEPT,
        accept: { offerIds: [offer.id!], operations: [{ type: Offer_Operation_Type.LAUNCH, launch: { taskInfos: [commandTask('x2', agentId)] } }] },
      } as schedulerv1.Call,
      otherIds.streamId,
    );
    s = await other.update('x2');
    assert.equal(
      s.message,
      `Task launched with invalid offers: Offer ${offer.id?.value} has invalid framework ${frameworkId} while framework ${otherIds.frameworkId} is expected`,
    );
    assert.ok(master.offers.has(offer.id!.value!), 'the owner keeps its offer');
    // Partition-aware frameworks get TASK_DROPPED.
    const pa = new FakeFramework();
    const paIds = master.subscribe(subscribeCall('pa', { capabilities: [{ type: FrameworkInfo_Capability_Type.PARTITION_AWARE }] }), pa);
    master.handleCall(
      {
        frameworkId: { value: paIds.frameworkId },
        type: Call_Type.ACCEPT,
        accept: { offerIds: [offer.id!, offer.id!], operations: [{ type: Offer_Operation_Type.LAUNCH, launch: { taskInfos: [commandTask('x3', agentId)] } }] },
      } as schedulerv1.Call,
      paIds.streamId,
    );
    s = await pa.update('x3');
    assert.equal(s.state, TaskState.TASK_DROPPED);
    assert.equal(s.message, `Task launched with invalid offers: Duplicate offer ${offer.id?.value} in offer list`);
    // Used offer: once accepted it is gone.
    launch(offer, [commandTask('ok', agentId)]);
    launch(offer, [commandTask('x4', agentId)]);
    s = await fw.update('x4');
    assert.equal(s.message, `Task launched with invalid offers: Offer ${offer.id?.value} is no longer valid`);
    master.stop();
  });

  it('refuses malformed calls and calls of another stream with clear errors', () => {
    const expectCode = (fn: () => void, code: string, text: RegExp) =>
      assert.throws(fn, (err: unknown) => isIppcError(err) && err.code === code && text.test(err.message));
    expectCode(
      () => master.subscribe({ type: Call_Type.SUBSCRIBE } as schedulerv1.Call, new FakeFramework()),
      'CALL_INVALID',
      /^Expecting 'subscribe' to be present$/,
    );
    expectCode(
      () => master.subscribe({ ...subscribeCall(), frameworkId: { value: 'x' } }, new FakeFramework()),
      'CALL_INVALID',
      /^'framework_id' differs from 'subscribe.framework_info.id'$/,
    );
    expectCode(() => master.handleCall({ type: Call_Type.KILL } as schedulerv1.Call, streamId), 'CALL_INVALID', /^Expecting 'framework_id' to be present$/);
    expectCode(() => call({ type: Call_Type.ACCEPT }), 'CALL_INVALID', /^Expecting 'accept' to be present$/);
    expectCode(
      () => call({ type: Call_Type.ACKNOWLEDGE, acknowledge: { agentId: { value: agentId }, taskId: { value: 't' }, uuid: Buffer.alloc(3) } }),
      'CALL_INVALID',
      /UUID/,
    );
    expectCode(() => master.handleCall({ type: Call_Type.REVIVE, frameworkId: { value: 'nope' } } as schedulerv1.Call, streamId), 'FRAMEWORK_UNKNOWN', /nope/);
    expectCode(
      () => master.handleCall({ type: Call_Type.REVIVE, frameworkId: { value: frameworkId } } as schedulerv1.Call, 'other-stream'),
      'STREAM_MISMATCH',
      /didn't match/,
    );
    expectCode(
      () => master.handleCall({ type: Call_Type.REVIVE, frameworkId: { value: frameworkId } } as schedulerv1.Call, undefined),
      'STREAM_MISMATCH',
      /Mesos-Stream-Id/,
    );
    expectCode(
      () => call({ type: Call_Type.ACKNOWLEDGE, acknowledge: { agentId: { value: 'M-S77' }, taskId: { value: 't' }, uuid: Buffer.alloc(16) } }),
      'AGENT_UNKNOWN',
      /M-S77/,
    );
    master.stop();
  });

  it("forwards the acknowledgement of an update for a task it does not know (Mesos's master does): the agent stops resending it", () => {
    const ghost = { agentId: { value: agentId }, frameworkId: { value: frameworkId }, taskId: { value: 'ghost' }, uuid: Buffer.alloc(16, 9) };
    call({ type: Call_Type.ACKNOWLEDGE, acknowledge: { agentId: ghost.agentId, taskId: ghost.taskId, uuid: ghost.uuid } });
    assert.deepEqual(agent.of('statusUpdateAcknowledgement').at(-1), ghost);
    assert.equal(master.frameworks.get(frameworkId)!.tasks.has('ghost'), false, 'no task made of it');
    master.stop();
  });

  it("cannot kill another framework's task: it gets the reconciliation answer and the task lives", async () => {
    const offer = await fw.offer();
    launch(offer, [commandTask('mine', agentId)]);
    const other = new FakeFramework();
    const o = master.subscribe(subscribeCall('other'), other);
    master.handleCall(
      { frameworkId: { value: o.frameworkId }, type: Call_Type.KILL, kill: { taskId: { value: 'mine' }, agentId: { value: agentId } } } as schedulerv1.Call,
      o.streamId,
    );
    const s = await other.update('mine');
    assert.equal(s.state, TaskState.TASK_LOST);
    assert.equal(s.reason, TaskStatus_Reason.REASON_RECONCILIATION);
    assert.equal(s.message, 'Reconciliation: Task is unknown to the agent');
    assert.equal(agent.of('killTask').length, 0);
    // Its own kill goes to the agent, with the kill policy override.
    call({ type: Call_Type.KILL, kill: { taskId: { value: 'mine' }, killPolicy: { gracePeriod: { nanoseconds: 1e9 } } } });
    assert.equal(agent.of('killTask')[0]?.taskId?.value, 'mine');
    assert.equal(agent.of('killTask')[0]?.killPolicy?.gracePeriod?.nanoseconds, 1e9);
    master.stop();
  });

  it('reconciles explicitly and implicitly with the latest state and container_status', async () => {
    const offer = await fw.offer();
    launch(offer, [commandTask('r1', agentId)]);
    master.statusUpdate(agentId, agent, {
      frameworkId: { value: frameworkId },
      status: {
        taskId: { value: 'r1' },
        state: TaskState.TASK_RUNNING,
        uuid: Buffer.alloc(16, 1),
        containerStatus: { networkInfos: [{ ipAddresses: [{ ipAddress: '127.0.0.2' }], groups: [], portMappings: [] }] },
      },
    });
    const seen = fw.events.length;
    call({ type: Call_Type.RECONCILE, reconcile: { tasks: [] } });
    const implicit = await fw.next((e) => e.type === Event_Type.UPDATE && e.update?.status?.reason === TaskStatus_Reason.REASON_RECONCILIATION, seen);
    assert.equal(implicit.update?.status?.state, TaskState.TASK_RUNNING);
    assert.equal(implicit.update?.status?.message, 'Reconciliation: Latest task state');
    assert.equal(implicit.update?.status?.containerStatus?.networkInfos[0]?.ipAddresses[0]?.ipAddress, '127.0.0.2');
    const seen2 = fw.events.length;
    call({ type: Call_Type.RECONCILE, reconcile: { tasks: [{ taskId: { value: 'r1' } }, { taskId: { value: 'ghost' } }] } });
    const ghost = await fw.next((e) => e.update?.status?.taskId?.value === 'ghost', seen2);
    assert.equal(ghost.update?.status?.state, TaskState.TASK_LOST);
    assert.equal(ghost.update?.status?.message, 'Reconciliation: Task is unknown');
    const r1 = await fw.next((e) => e.update?.status?.taskId?.value === 'r1', seen2);
    assert.equal(r1.update?.status?.state, TaskState.TASK_RUNNING);
    master.stop();
  });

  it('declines with a refusal filter and revives', async () => {
    const offer = await fw.offer();
    call({ type: Call_Type.DECLINE, decline: { offerIds: [offer.id!], filters: { refuseSeconds: 60 } } });
    master.allocate();
    assert.equal(master.offers.size, 0, 'filtered for 60 s');
    call({ type: Call_Type.REVIVE });
    const again = await fw.offer();
    assert.equal(again.agentId?.value, agentId);
    master.stop();
  });

  it('rescinds offers when the agent disconnects, and loses its tasks after the timeout', async () => {
    const offer = await fw.offer();
    launch(offer, [commandTask('u1', agentId)]);
    await fw.offer();
    master.agentDisconnected(agentId, agent);
    await fw.next((e) => e.type === Event_Type.RESCIND);
    const lost = await fw.update('u1', TaskState.TASK_LOST);
    assert.equal(lost.reason, TaskStatus_Reason.REASON_AGENT_REMOVED);
    assert.equal(lost.source, TaskStatus_Source.SOURCE_MASTER);
    assert.equal(lost.message, 'Agent a1 is unreachable: health check timed out');
    await fw.next((e) => e.type === Event_Type.FAILURE);
    const state = masterState(master);
    assert.equal(state.unreachable_slaves, 1);
    assert.equal((state.frameworks[0]!.unreachable_tasks as { state: string }[])[0]?.state, 'TASK_UNREACHABLE');
    master.stop();
  });

  it('keeps tasks across an agent re-registration and asks the agent about tasks it did not report', async () => {
    const offer = await fw.offer();
    launch(offer, [commandTask('k1', agentId), commandTask('k2', agentId)]);
    master.agentDisconnected(agentId, agent);
    const again = new FakeAgent();
    const running = {
      name: 'k1',
      taskId: { value: 'k1' },
      frameworkId: { value: frameworkId },
      agentId: { value: agentId },
      state: TaskState.TASK_RUNNING,
      resources: [],
      statuses: [],
      limits: {},
    };
    master.reregisterAgent(
      {
        agent: { id: { value: agentId }, hostname: 'a1', resources: parseResources('cpus:2;mem:1024;ports:[31000-31004]'), attributes: [] },
        version: 't',
        pid: 'slave(1)@127.0.0.2:5051',
        tasks: [running],
        frameworks: [{ id: { value: frameworkId }, user: 'root', name: 'fw', capabilities: [], roles: [] }],
        executorInfos: [],
      },
      again,
    );
    assert.equal(again.of('agentReregistered')[0]?.agentId?.value, agentId);
    assert.deepEqual(
      again.of('reconcileTasks')[0]?.statuses.map((s) => s.taskId?.value),
      ['k2'],
    );
    assert.equal(masterState(master).frameworks[0]!.tasks.find((t) => t.id === 'k1')?.state, 'TASK_RUNNING');
    master.stop();
  });

  it('refuses status updates from an agent that did not register on that connection', () => {
    assert.throws(
      () =>
        master.statusUpdate('M-S9', new FakeAgent(), {
          frameworkId: { value: frameworkId },
          status: { taskId: { value: 'x' }, state: TaskState.TASK_RUNNING },
        }),
      /Agent must \(re-\)register before sending status updates/,
    );
    assert.throws(
      () =>
        master.statusUpdate(agentId, new FakeAgent(), {
          frameworkId: { value: frameworkId },
          status: { taskId: { value: 'x' }, state: TaskState.TASK_RUNNING },
        }),
      /register/,
    );
    master.stop();
  });

  it('refuses agent registrations that break validation', () => {
    assert.throws(
      () =>
        master.registerAgent(
          {
            agent: { hostname: 'b', resources: [{ name: 'cpus', type: Value_Type.SCALAR, scalar: { value: -1 }, reservations: [] }], attributes: [] },
            pid: 'x',
            version: 't',
          },
          new FakeAgent(),
        ),
      /Invalid resources: Invalid scalar resource: value < 0/,
    );
    assert.throws(
      () =>
        master.reregisterAgent(
          {
            agent: { id: { value: 'M-S5' }, hostname: 'b', resources: [], attributes: [] },
            pid: 'x',
            version: 't',
            tasks: [
              { name: 'z', taskId: { value: 'z' }, frameworkId: { value: 'F' }, agentId: { value: 'M-S5' }, state: 1, resources: [], statuses: [], limits: {} },
            ],
            frameworks: [],
            executorInfos: [],
          },
          new FakeAgent(),
        ),
      /Task has an invalid FrameworkID 'F'/,
    );
    master.stop();
  });

  it('tears a framework down: kills its tasks on the agents and completes it', async () => {
    const offer = await fw.offer();
    launch(offer, [commandTask('td', agentId)]);
    call({ type: Call_Type.TEARDOWN });
    assert.equal(agent.of('shutdownFramework')[0]?.frameworkId?.value, frameworkId);
    assert.ok(fw.closed);
    const state = masterState(master);
    assert.equal(state.frameworks.length, 0);
    assert.equal((state.completed_frameworks[0]!.completed_tasks as { state: string }[])[0]?.state, 'TASK_KILLED');
    // It cannot come back.
    const back = new FakeFramework();
    master.subscribe({ ...subscribeCall('fw', { id: { value: frameworkId } }), frameworkId: { value: frameworkId } }, back);
    assert.equal(back.events[0]?.error?.message, 'Framework has been removed');
    master.stop();
  });

  it('fails a framework over to a new subscription and tells the old one', () => {
    const next = new FakeFramework();
    const ids = master.subscribe({ ...subscribeCall('fw', { id: { value: frameworkId } }), frameworkId: { value: frameworkId } }, next);
    assert.equal(ids.frameworkId, frameworkId);
    assert.equal(fw.events.at(-1)?.error?.message, 'Framework failed over');
    assert.ok(fw.closed);
    assert.notEqual(ids.streamId, streamId);
    master.stop();
  });
});

describe('master state watch', () => {
  let master: Master;
  before(() => {
    master = new Master({ ip: '127.0.0.1', port: 5050 });
  });
  after(() => master.stop());
  it('resolves a long poll on the next change', async () => {
    const v = master.stateVersion;
    const t0 = Date.now();
    const waiting = master.waitForChange(v, 5000);
    setTimeout(() => master.subscribe(subscribeCall(), new FakeFramework()), 50);
    await waiting;
    assert.ok(master.stateVersion > v);
    assert.ok(Date.now() - t0 < 2000);
    const t1 = Date.now();
    await master.waitForChange(master.stateVersion, 100);
    assert.ok(Date.now() - t1 >= 90, 'times out without a change');
  });
});
