import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExecutorInfo_Type, TaskState, type Offer, type Resource, type TaskStatus } from '@ippc/proto';
import { groupFromOffer } from '@ippc/scheduler';
import { groupResultOf, groupResultText } from './commands/task/group.js';
import { parseGroupTask, planTaskGroup } from './group-spec.js';

const usage = (pattern: RegExp) => (err: Error & { code?: string }) => err.code === 'CLI_USAGE' && pattern.test(err.message);
const scalar = (name: string, value: number): Resource => ({ name, type: 0, scalar: { value }, allocationInfo: { role: '*' } }) as Resource;
const offer = {
  id: { value: 'O1' },
  agentId: { value: 'S1' },
  hostname: '10.99.0.11',
  resources: [scalar('cpus', 4), scalar('mem', 1024), scalar('disk', 1024)],
} as unknown as Offer;

describe('task group flags', () => {
  const flags = {
    task: ['back=exec busybox httpd -f -p 127.0.0.1:9000', 'front=curl -s http://127.0.0.1:9000/ > x; exec busybox httpd -f -p 80'],
    network: ['ippc-bridge'],
    group: ['web'],
    label: ['org.ippc.showcase=true'],
    mem: '64',
  };

  it('plans a DEFAULT executor on the pod’s networks and one command task per --task, in order', () => {
    const plan = planTaskGroup('pod', flags, 'pod-12345678');
    assert.deepEqual([plan.name, plan.executor.id, plan.executor.name, plan.networks, plan.groups], ['pod', 'pod-12345678', 'pod', ['ippc-bridge'], ['web']]);
    assert.deepEqual(
      plan.executor.networks?.map((n) => [n.name, n.groups]),
      [['ippc-bridge', ['web']]],
    );
    assert.deepEqual(
      plan.tasks.map((t) => [t.name, t.command, t.mem, t.labels?.labels[0]?.key]),
      [
        ['back', 'exec busybox httpd -f -p 127.0.0.1:9000', 64, 'org.ippc.showcase'],
        ['front', 'curl -s http://127.0.0.1:9000/ > x; exec busybox httpd -f -p 80', 64, 'org.ippc.showcase'],
      ],
    );
    assert.match(planTaskGroup('pod', flags).executor.id, /^pod-[0-9a-f]{8}$/);
  });

  it('becomes one LAUNCH_GROUP of groupFromOffer: the executor on the networks, the tasks without networks or executor of their own', () => {
    const plan = planTaskGroup('pod', flags, 'pod-1');
    const { executor, tasks } = groupFromOffer(offer, { executor: plan.executor, tasks: plan.tasks });
    assert.equal(executor.type, ExecutorInfo_Type.DEFAULT);
    assert.equal(executor.executorId?.value, 'pod-1');
    assert.deepEqual(
      executor.container?.networkInfos.map((n) => n.name),
      ['ippc-bridge'],
    );
    assert.deepEqual(
      tasks.map((t) => [t.name, t.command?.value, t.container, t.executor]),
      [
        ['back', flags.task[0]!.slice(5), undefined, undefined],
        ['front', flags.task[1]!.slice(6), undefined, undefined],
      ],
    );
  });

  it('refuses malformed groups with CLI_USAGE and says what to write', () => {
    assert.throws(() => planTaskGroup('pod', {}), usage(/at least one --task NAME=COMMAND/));
    assert.throws(() => planTaskGroup('bad pod', { task: ['a=x'] }), usage(/pod name 'bad pod'/));
    assert.throws(() => planTaskGroup('pod', { task: ['a=x', 'a=y'] }), usage(/--task a is given twice/));
    assert.throws(() => planTaskGroup('pod', { task: ['a=x'], group: ['web'] }), usage(/--group needs --network/));
    assert.throws(() => planTaskGroup('pod', { task: ['a=x'], ip: ['10.0.0.1'] }), usage(/--ip needs --network: a pod/));
    assert.throws(() => planTaskGroup('pod', { task: ['a=x'], cpus: '0' }), usage(/--cpus/));
    assert.throws(() => parseGroupTask('noequals'), usage(/NAME=COMMAND/));
    assert.throws(() => parseGroupTask('a='), usage(/NAME=COMMAND/));
    assert.throws(() => parseGroupTask('=x'), usage(/NAME=COMMAND/));
    assert.throws(() => parseGroupTask('a b=x'), usage(/--task name 'a b'/));
    assert.deepEqual(parseGroupTask('a=echo a=b'), { name: 'a', command: 'echo a=b' });
  });

  it('says where the pod runs, its one address and each task', () => {
    const plan = planTaskGroup('pod', flags, 'pod-1');
    const running = {
      state: TaskState.TASK_RUNNING,
      containerStatus: { networkInfos: [{ name: 'ippc-bridge', groups: ['web'], ipAddresses: [{ ipAddress: '10.100.0.7' }], portMappings: [] }] },
    } as unknown as TaskStatus;
    const tasks = [
      { id: 'back-1', name: 'back' },
      { id: 'front-2', name: 'front' },
    ];
    const r = groupResultOf(plan, '10.99.0.11', 'S1', tasks, [running, running]);
    assert.deepEqual(r.addresses, [{ network: 'ippc-bridge', address: '10.100.0.7' }]);
    assert.equal(
      groupResultText(r),
      ['pod pod (executor pod-1) on agent 10.99.0.11: 10.100.0.7 (ippc-bridge)', '  task back-1 TASK_RUNNING', '  task front-2 TASK_RUNNING'].join('\n'),
    );
    const launched = groupResultOf(plan, '10.99.0.11', 'S1', tasks, []);
    assert.deepEqual(
      launched.tasks.map((t) => t.state),
      ['LAUNCHED', 'LAUNCHED'],
    );
    assert.match(groupResultText(launched), /no address reported yet/);
  });
});
