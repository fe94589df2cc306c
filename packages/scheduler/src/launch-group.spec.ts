import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allocateResources, formatResources, parseResources, rangesOf } from '@ippc/mesos';
import { ExecutorInfo_Type, Offer_Operation_Type, schedulerv1, type Offer } from '@ippc/proto';
import { Scheduler } from './client.js';
import { SchedulerError } from './errors.js';

// Task groups from the framework's side: a group built from an offer (the DEFAULT executor's
// resources first, then each task's, none taken twice) and the ACCEPT with one LAUNCH_GROUP that
// launchGroup sends, with `send` (the call to the master) replaced as in offers.spec.ts.

const offer = (id: string, resources = 'cpus:1;mem:256;disk:256;ports:[31000-31003]'): Offer =>
  ({ id: { value: id }, agentId: { value: 'A-S0' }, hostname: 'h', resources: allocateResources(parseResources(resources), '*') }) as unknown as Offer;

function scheduler(): { s: Scheduler; sent: Partial<schedulerv1.Call>[] } {
  const s = new Scheduler({ master: '127.0.0.1:9', auth: { disabled: true }, framework: { name: 'spec', id: 'F-0000' }, reconnect: false } as never);
  const sent: Partial<schedulerv1.Call>[] = [];
  s.send = async (call) => {
    sent.push(call);
  };
  return { s, sent };
}

describe('Scheduler task groups', () => {
  it('builds a group from an offer: a DEFAULT executor on the networks, command tasks without executor, no resource taken twice', () => {
    const { s } = scheduler();
    const o = offer('o1');
    const { executor, tasks } = s.groupFromOffer(o, {
      executor: { id: 'pod-1', networks: [{ name: 'blue', groups: ['pod'], ipAddresses: [], portMappings: [] }] },
      tasks: [
        { name: 'web', command: 'exec httpd -f -p 8080', ports: 1 },
        { name: 'sidecar', command: 'sleep 100', cpus: 0.2, mem: 64, ports: 1 },
      ],
    });
    assert.equal(executor.type, ExecutorInfo_Type.DEFAULT);
    assert.equal(executor.executorId?.value, 'pod-1');
    assert.equal(executor.command, undefined);
    assert.equal(executor.container?.networkInfos[0]?.name, 'blue');
    assert.equal(formatResources(executor.resources), 'cpus(allocated: *):0.1; mem(allocated: *):32; disk(allocated: *):32');
    assert.deepEqual(
      tasks.map((t) => [t.name, t.agentId?.value, t.executor, t.command?.value, formatResources(t.resources)]),
      [
        ['web', 'A-S0', undefined, 'exec httpd -f -p 8080', 'cpus(allocated: *):0.1; mem(allocated: *):32; ports(allocated: *):[31000-31000]'],
        ['sidecar', 'A-S0', undefined, 'sleep 100', 'cpus(allocated: *):0.2; mem(allocated: *):64; ports(allocated: *):[31001-31001]'],
      ],
    );
    assert.notEqual(rangesOf(tasks[0]!.resources, 'ports')[0]?.begin, rangesOf(tasks[1]!.resources, 'ports')[0]?.begin);
  });

  it('refuses a group the offer cannot hold, and a task spec with an executor of its own', () => {
    const { s } = scheduler();
    assert.throws(
      () => s.groupFromOffer(offer('o1', 'cpus:0.15;mem:256;disk:256'), { tasks: [{ name: 'a', command: 'true' }] }),
      (e: unknown) => e instanceof SchedulerError && e.code === 'RESOURCES_INVALID' && /cannot hold task 'a' of the task group/.test(e.message),
    );
    assert.throws(
      () => s.groupFromOffer(offer('o1', 'cpus:1;mem:256'), { tasks: [{ name: 'a', command: 'true' }] }),
      (e: unknown) => e instanceof SchedulerError && e.code === 'RESOURCES_INVALID' && /the executor/.test(e.message),
      'the DEFAULT executor needs disk',
    );
    assert.throws(
      () => s.groupFromOffer(offer('o1'), { tasks: [{ name: 'a', executor: { executorId: { value: 'x' }, resources: [] } }] }),
      (e: unknown) => e instanceof SchedulerError && e.code === 'TASK_SPEC_INVALID',
    );
  });

  it("sends ACCEPT with one LAUNCH_GROUP, fills in the executor's framework id, and spends the offers as launch does", async () => {
    const { s, sent } = scheduler();
    // The framework id arrives with SUBSCRIBED; here it is the one the options name.
    const o = offer('o1');
    s.offers.set('o1', o);
    s.offers.set('o2', offer('o2'));
    const { executor, tasks } = s.groupFromOffer(o, {
      executor: { id: 'pod-1' },
      tasks: [
        { name: 'a', command: 'true' },
        { name: 'b', command: 'true' },
      ],
    });
    await s.launchGroup(o, executor, tasks, { refuseSeconds: 1 });
    assert.equal(sent.length, 1);
    const acceptCall = sent[0]!;
    assert.equal(acceptCall.type, schedulerv1.Call_Type.ACCEPT);
    assert.deepEqual(acceptCall.accept?.offerIds, [{ value: 'o1' }]);
    assert.deepEqual(acceptCall.accept?.filters, { refuseSeconds: 1 });
    const ops = acceptCall.accept?.operations ?? [];
    assert.equal(ops.length, 1);
    assert.equal(ops[0]?.type, Offer_Operation_Type.LAUNCH_GROUP);
    assert.deepEqual(ops[0]?.launchGroup?.executor?.frameworkId, { value: 'F-0000' });
    assert.equal(ops[0]?.launchGroup?.executor?.executorId?.value, 'pod-1');
    assert.deepEqual(
      ops[0]?.launchGroup?.taskGroup?.tasks.map((t) => t.name),
      ['a', 'b'],
    );
    assert.deepEqual([...s.offers.keys()], ['o2'], 'the used offer is spent');
    // A refused call puts the offer back.
    s.send = async () => {
      throw new Error('UNAVAILABLE: no connection');
    };
    await assert.rejects(s.launchGroup(['o2'], executor, tasks), /UNAVAILABLE/);
    assert.deepEqual([...s.offers.keys()], ['o2']);
  });
});
