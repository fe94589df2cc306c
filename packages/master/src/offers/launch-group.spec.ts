import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { allocateResources, formatResources, parseResources, scalarOf } from '@ippc/mesos';
import { Offer_Operation_Type, schedulerv1, TaskState, TaskStatus_Reason, TaskStatus_Source, type Offer, type TaskInfo } from '@ippc/proto';
import { Master } from '../master.js';
import { masterState } from '../http/state.js';
import { FakeAgent, FakeFramework } from '../testing/fakes.js';
import { GROUP_VALIDATION_CASES, validGroup, type TaskGroup } from '../testing/validation-cases.js';

// LAUNCH_GROUP through the master core, in memory: a valid group reaches the agent as one
// RunTaskGroup and is recorded (tasks STAGING under their executor, the executor on its agent,
// the resources in use); an invalid one fails every task of it and leaves nothing behind.

const { Call_Type, Event_Type } = schedulerv1;
type Operation = schedulerv1.Call_Accept['operations'][number];

describe('LAUNCH_GROUP (in memory)', () => {
  let master: Master;
  let agent: FakeAgent;
  let agentId: string;
  let fw: FakeFramework;
  let frameworkId: string;
  let streamId: string;
  let added: string[];

  const call = (c: Partial<schedulerv1.Call>) => master.handleCall({ frameworkId: { value: frameworkId }, ...c } as schedulerv1.Call, streamId);
  const group = (g: TaskGroup, extra: Partial<Operation> = {}): Operation => ({
    type: Offer_Operation_Type.LAUNCH_GROUP,
    launchGroup: { executor: g.executor, taskGroup: { tasks: g.tasks } },
    ...extra,
  });
  const accept = (offer: Offer, operations: Operation[]) =>
    call({ type: Call_Type.ACCEPT, accept: { offerIds: [offer.id!], operations, filters: { refuseSeconds: 0 } } });

  beforeEach(() => {
    master = new Master({ ip: '127.0.0.1', port: 5050, id: 'M', allocationIntervalMs: 50 });
    added = [];
    master.observers.add({
      taskAdded: (t) => added.push(`${t.taskId?.value}@${t.executorId?.value ?? ''}`),
      taskUpdated: () => {},
      frameworkAdded: () => {},
      frameworkUpdated: () => {},
      frameworkRemoved: () => {},
      agentAdded: () => {},
      agentRemoved: () => {},
      masterStopped: () => {},
    });
    agent = new FakeAgent();
    agentId = master.registerAgent(
      {
        agent: { hostname: 'a1', resources: parseResources('cpus:2;mem:1024;disk:1024;ports:[31000-31004]'), attributes: [] },
        version: 't',
        pid: 'slave(1)@127.0.0.2:5051',
      },
      agent,
    );
    fw = new FakeFramework();
    ({ frameworkId, streamId } = master.subscribe(
      { type: Call_Type.SUBSCRIBE, subscribe: { frameworkInfo: { user: 'root', name: 'pods', capabilities: [], roles: [] } } },
      fw,
    ));
  });
  afterEach(() => master.stop());

  it('sends one RunTaskGroup with the executor and both tasks, records them STAGING under the executor, and offers the rest', async () => {
    const offer = await fw.offer();
    const g = validGroup(agentId, frameworkId);
    accept(offer, [group(g)]);
    const runs = agent.of('runTaskGroup');
    assert.equal(runs.length, 1, 'exactly one RunTaskGroup');
    assert.equal(agent.of('runTask').length, 0);
    const run = runs[0]!;
    assert.equal(run.framework?.id?.value, frameworkId);
    assert.equal(run.executor?.executorId?.value, 'default');
    assert.equal(formatResources(run.executor?.resources ?? []), 'cpus(allocated: *):0.1; mem(allocated: *):32; disk(allocated: *):32');
    assert.deepEqual(
      run.taskGroup?.tasks.map((t) => [t.taskId?.value, t.executor?.executorId?.value]),
      [
        ['t1', 'default'],
        ['t2', 'default'],
      ],
      "each task carries the group's executor",
    );
    assert.deepEqual(added, ['t1@default', 't2@default'], 'observers (operator TASK_ADDED) hear both tasks');

    const state = masterState(master).frameworks[0]!;
    assert.deepEqual(
      state.tasks.map((t) => [t.id, t.state, t.executor_id]),
      [
        ['t1', 'TASK_STAGING', 'default'],
        ['t2', 'TASK_STAGING', 'default'],
      ],
    );
    assert.deepEqual(
      (state.executors as { executor_id: string }[]).map((e) => e.executor_id),
      ['default'],
    );
    assert.equal(master.agents.get(agentId)!.executors.get(frameworkId)?.get('default')?.type, g.executor.type);

    // The next offer lacks the tasks' and the executor's resources: 0.3 cpus, 96 mem, 32 disk.
    const again = await fw.offer();
    assert.equal(scalarOf(again.resources, 'cpus'), 1.7);
    assert.equal(scalarOf(again.resources, 'mem'), 928);
    assert.equal(scalarOf(again.resources, 'disk'), 992);
  });

  it("runs a second group on the running executor without taking the executor's resources again; refuses another ExecutorInfo under its id", async () => {
    let offer = await fw.offer();
    const g = validGroup(agentId, frameworkId);
    accept(offer, [group(g)]);
    offer = await fw.offer();
    const second: TaskGroup = { executor: g.executor, tasks: g.tasks.map((t) => ({ ...t, taskId: { value: `${t.taskId?.value}-b` } })) };
    accept(offer, [group(second)]);
    assert.equal(agent.of('runTaskGroup').length, 2);
    offer = await fw.offer();
    assert.equal(scalarOf(offer.resources, 'cpus'), 1.5, 'only the second tasks took more (0.2 cpus)');
    assert.equal(scalarOf(offer.resources, 'mem'), 864);
    assert.equal(scalarOf(offer.resources, 'disk'), 992, 'the executor took its disk once');
    const changed: TaskGroup = {
      executor: { ...g.executor, resources: allocateResources(parseResources('cpus:0.2;mem:32;disk:32'), '*') },
      tasks: [{ ...g.tasks[0]!, taskId: { value: 't1-c' } }],
    };
    accept(offer, [group(changed)]);
    const err = await fw.update('t1-c', TaskState.TASK_ERROR);
    assert.equal(err.message, 'ExecutorInfo is not compatible with existing ExecutorInfo with same ExecutorID.\n');
    assert.equal(err.reason, TaskStatus_Reason.REASON_TASK_GROUP_INVALID);
    assert.equal(agent.of('runTaskGroup').length, 2);
  });

  for (const c of GROUP_VALIDATION_CASES) {
    it(`fails every task of the group with Mesos's message, and leaves nothing behind: ${c.name}`, async () => {
      const offer = await fw.offer();
      const ids = { agentId, frameworkId, offered: formatResources(offer.resources) };
      const g = c.mutate(validGroup(agentId, frameworkId), ids);
      accept(offer, [group(g)]);
      const expected = typeof c.message === 'string' ? c.message : c.message(ids);
      const updates = fw.events.filter((e) => e.type === Event_Type.UPDATE).map((e) => e.update!.status!);
      assert.deepEqual(
        updates.map((s) => s.taskId?.value),
        g.tasks.map((t) => t.taskId?.value),
        'one update per task of the group',
      );
      for (const s of updates) {
        assert.equal(s.state, TaskState.TASK_ERROR);
        assert.equal(s.source, TaskStatus_Source.SOURCE_MASTER);
        assert.equal(s.reason, TaskStatus_Reason.REASON_TASK_GROUP_INVALID);
        assert.equal(s.message, expected);
      }
      assert.equal(agent.messages.filter((m) => m.message?.$case === 'runTaskGroup' || m.message?.$case === 'runTask').length, 0, 'nothing reaches the agent');
      assert.equal(master.agents.get(agentId)!.executors.size, 0, 'no executor recorded');
      assert.equal(masterState(master).frameworks[0]!.tasks.length, 0);
      const again = await fw.offer();
      assert.equal(formatResources(again.resources), ids.offered, 'the whole offer comes back');
    });
  }

  it('refuses a LAUNCH_GROUP with an operation id; loses its tasks with invalid offers (TASK_LOST, REASON_INVALID_OFFERS)', async () => {
    const offer = await fw.offer();
    const g = validGroup(agentId, frameworkId);
    accept(offer, [group(g, { id: { value: 'op-1' } })]);
    const err = await fw.update('t2', TaskState.TASK_ERROR);
    assert.equal(err.message, 'The `id` field cannot be set on LAUNCH_GROUP operations');
    assert.equal(err.reason, TaskStatus_Reason.REASON_TASK_GROUP_INVALID);
    call({ type: Call_Type.ACCEPT, accept: { offerIds: [{ value: 'M-O999' }], operations: [group(g)] } });
    const lost = await fw.update('t1', TaskState.TASK_LOST);
    assert.equal(lost.reason, TaskStatus_Reason.REASON_INVALID_OFFERS);
    assert.equal(lost.message, 'Task launched with invalid offers: Offer M-O999 is no longer valid');
    assert.equal((await fw.update('t2', TaskState.TASK_LOST)).reason, TaskStatus_Reason.REASON_INVALID_OFFERS);
    assert.equal(agent.of('runTaskGroup').length, 0);
  });

  it('validates a group against what a LAUNCH before it in the same ACCEPT left, and ignores a group without tasks', async () => {
    const offer = await fw.offer();
    const big: TaskInfo = {
      name: 'big',
      taskId: { value: 'big' },
      agentId: { value: agentId },
      resources: allocateResources(parseResources('cpus:1.8;mem:512'), '*'),
      command: { value: 'sleep 100', uris: [], arguments: [] },
      limits: {},
    };
    const g = validGroup(agentId, frameworkId);
    const empty = group({ executor: { ...g.executor, executorId: { value: 'lonely' } }, tasks: [] });
    accept(offer, [{ type: Offer_Operation_Type.LAUNCH, launch: { taskInfos: [big] } }, empty, group(g)]);
    assert.equal(agent.of('runTask').length, 1);
    const err = await fw.update('t1', TaskState.TASK_ERROR);
    assert.equal(
      err.message,
      'Total resources cpus(allocated: *):0.3; mem(allocated: *):96; disk(allocated: *):32 required by task group and its executor are more than available cpus(allocated: *):0.2; mem(allocated: *):512; disk(allocated: *):1024; ports(allocated: *):[31000-31004]',
    );
    assert.equal(agent.of('runTaskGroup').length, 0, 'neither the empty group nor the one too big reached the agent');
    assert.equal(master.agents.get(agentId)!.executors.size, 0, 'the empty group recorded no executor');
  });

  it('KILL of one task of a group goes to the agent for that task alone (the executor kills the rest); reconciliation names the executor', async () => {
    const offer = await fw.offer();
    accept(offer, [group(validGroup(agentId, frameworkId))]);
    call({ type: Call_Type.KILL, kill: { taskId: { value: 't2' }, agentId: { value: agentId } } });
    assert.deepEqual(
      agent.of('killTask').map((k) => k.taskId?.value),
      ['t2'],
    );
    call({ type: Call_Type.RECONCILE, reconcile: { tasks: [{ taskId: { value: 't1' } }] } });
    const s = await fw.next((e) => e.update?.status?.reason === TaskStatus_Reason.REASON_RECONCILIATION);
    assert.equal(s.update?.status?.state, TaskState.TASK_STAGING);
    assert.equal(s.update?.status?.executorId?.value, 'default');
  });
});
