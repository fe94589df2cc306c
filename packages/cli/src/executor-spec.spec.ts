import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ContainerInfo_Type, ExecutorInfo, ExecutorInfo_Type } from '@ippc/proto';
import { MOUNT } from '@ippc/testbed';
import { checkSameExecutor, executorAgents, placeOnExecutor, SHELL_EXECUTOR_COMMAND, shellExecutorInfo, withFrameworkId } from './executor-spec.js';
import { planTaskRun } from './task-spec.js';
import { fixtureState } from './testing-state.js';

const bytes = (e: ExecutorInfo | undefined) => Buffer.from(ExecutorInfo.encode(e!).finish()).toString('hex');
const usage = (pattern: RegExp) => (err: Error & { code?: string }) => err.code === 'CLI_USAGE' && pattern.test(err.message);

/** The fixture with executor `ex` of ippc-cli on agent M-S1 (10.99.0.12): in `executors`, and a running task of it. */
function withExecutor(options: { task?: boolean; executors?: boolean } = {}) {
  const state = fixtureState();
  const f = state.frameworks[0]!;
  if (options.executors !== false)
    f.executors = [{ executor_id: 'ex', name: 'ippc shell executor ex', framework_id: 'M-0000', slave_id: 'M-S1', resources: {} }];
  if (options.task !== false) f.tasks.push({ ...f.tasks[0]!, id: 'ex-web-1', name: 'ex-web', executor_id: 'ex', slave_id: 'M-S1', container: undefined });
  state.frameworks.push({ ...f, id: 'M-0001', name: 'other', executors: [{ executor_id: 'ex2', slave_id: 'M-S0' }], tasks: [] });
  return state;
}

describe('the shell executor of task run --executor', () => {
  it('is the agent’s shell executor from the mounted workspace, with its own resources and the flags’ networks', () => {
    const plan = planTaskRun('ex-web', 'exec busybox httpd -f -p 80', { executor: 'ex', network: ['ippc-bridge'], group: ['web'] });
    const e = shellExecutorInfo(plan.executor!, 'F-1');
    assert.equal(SHELL_EXECUTOR_COMMAND, `exec node ${MOUNT}/packages/agent/executors/shell-executor.mjs`);
    assert.equal(e.command?.value, 'exec node /opt/ippc/packages/agent/executors/shell-executor.mjs');
    assert.equal(e.command?.shell, true);
    assert.equal(e.type, ExecutorInfo_Type.CUSTOM);
    assert.deepEqual([e.executorId?.value, e.frameworkId?.value], ['ex', 'F-1']);
    assert.deepEqual(
      e.resources.map((r) => [r.name, r.scalar?.value, r.allocationInfo?.role]),
      [
        ['cpus', 0.1, '*'],
        ['mem', 32, '*'],
      ],
    );
    assert.equal(e.container?.type, ContainerInfo_Type.MESOS);
    assert.deepEqual(
      e.container?.networkInfos.map((n) => [n.name, n.groups]),
      [['ippc-bridge', ['web']]],
    );
    assert.equal(shellExecutorInfo({ id: 'plain', networkInfos: [] }).container, undefined, 'no network: the agent’s');
  });

  it('is the same bytes for the same flags whatever the task, and different bytes for other networks (Mesos compares them)', () => {
    const flags = { executor: 'ex', network: ['ippc-bridge'], group: ['web'], ip: ['10.100.0.40'], hostname: 'ex' };
    const first = planTaskRun('ex-web', 'exec busybox httpd -f -p 80', { ...flags, cpus: '0.5', label: ['a=b'] });
    const second = planTaskRun('ex-api', 'exec busybox httpd -f -p 8000', { ...flags, network: ['ippc-bridge'], group: ['web'] });
    assert.equal(bytes(first.spec.executor), bytes(second.spec.executor));
    assert.equal(bytes(withFrameworkId(first.spec, 'F-1').executor), bytes(withFrameworkId(second.spec, 'F-1').executor));
    assert.equal(bytes(withFrameworkId(first.spec, 'F-1').executor), bytes(shellExecutorInfo(first.executor!, 'F-1')));
    const other = planTaskRun('ex-api', 'x', { ...flags, group: ['db'] });
    assert.notEqual(bytes(other.spec.executor), bytes(first.spec.executor));
    assert.equal(withFrameworkId(first.spec, undefined), first.spec);
  });
});

describe('which agent a task of an executor goes to', () => {
  it('finds the agents an executor of the framework runs on, from its executors and its tasks', () => {
    assert.deepEqual(executorAgents(withExecutor(), 'ex', 'ippc-cli'), ['M-S1']);
    assert.deepEqual(executorAgents(withExecutor({ executors: false }), 'ex', 'ippc-cli'), ['M-S1'], 'from a task with executor_id');
    assert.deepEqual(executorAgents(withExecutor({ task: false }), 'ex', 'ippc-cli'), ['M-S1'], 'an executor whose tasks ended');
    assert.deepEqual(executorAgents(withExecutor(), 'ex2', 'ippc-cli'), [], "another framework's executor is not ours");
    assert.deepEqual(executorAgents(withExecutor(), 'nope', 'ippc-cli'), []);
  });

  it('a new executor goes where --agent says; a running one decides, and --agent must name its agent', () => {
    const agents = ['10.99.0.11', '10.99.0.12'];
    assert.deepEqual(placeOnExecutor(fixtureState(), 'ex', 'ippc-cli', '0', agents), { agent: '0', running: false });
    assert.deepEqual(placeOnExecutor(fixtureState(), 'ex', 'ippc-cli', undefined, agents), { running: false });
    const state = withExecutor();
    assert.deepEqual(placeOnExecutor(state, 'ex', 'ippc-cli', undefined, agents), { agent: 'M-S1', running: true });
    for (const same of ['1', '10.99.0.12', 'M-S1'])
      assert.deepEqual(placeOnExecutor(state, 'ex', 'ippc-cli', same, agents), { agent: 'M-S1', running: true }, same);
    for (const other of ['0', '10.99.0.11', 'M-S0'])
      assert.throws(() => placeOnExecutor(state, 'ex', 'ippc-cli', other, agents), usage(/executor 'ex' runs on agent 10\.99\.0\.12.*drop --agent/), other);
  });

  it('refuses before Mesos does a task whose networks or groups differ from what the running executor’s tasks report', () => {
    const state = withExecutor();
    checkSameExecutor(state, 'ex', 'ippc-cli', { networks: ['ippc-bridge'], groups: ['web'] });
    assert.throws(
      () => checkSameExecutor(state, 'ex', 'ippc-cli', { networks: [], groups: [] }),
      usage(/runs on agent 10\.99\.0\.12 with --network ippc-bridge --group web; .*this one has no --network/),
    );
    assert.throws(() => checkSameExecutor(state, 'ex', 'ippc-cli', { networks: ['ippc-bridge'], groups: ['db'] }), usage(/--group db/));
    checkSameExecutor(withExecutor({ task: false }), 'ex', 'ippc-cli', { networks: [], groups: [] }); // no running task: Mesos judges
  });
});
