import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ContainerInfo_Type, TaskState, type TaskInfo } from '@ippc/proto';
import { isTerminalState, taskFromTaskInfo, TERMINAL_STATES } from './task.js';

describe('terminal task states (Mesos isTerminalState)', () => {
  it('are exactly finished, failed, killed, error, lost, dropped, gone and gone by operator', () => {
    const terminal = Object.values(TaskState).filter((v): v is TaskState => typeof v === 'number' && isTerminalState(v));
    assert.deepEqual(terminal.map((s) => TaskState[s]).sort(), [
      'TASK_DROPPED',
      'TASK_ERROR',
      'TASK_FAILED',
      'TASK_FINISHED',
      'TASK_GONE',
      'TASK_GONE_BY_OPERATOR',
      'TASK_KILLED',
      'TASK_LOST',
    ]);
    assert.equal(TERMINAL_STATES.size, 8);
  });
  it('running, killing, staging, unreachable, unknown and no state at all are not', () => {
    for (const s of [
      TaskState.TASK_RUNNING,
      TaskState.TASK_KILLING,
      TaskState.TASK_STAGING,
      TaskState.TASK_STARTING,
      TaskState.TASK_UNREACHABLE,
      TaskState.TASK_UNKNOWN,
      undefined,
    ]) {
      assert.equal(isTerminalState(s), false, String(s));
    }
  });
});

describe('taskFromTaskInfo (Mesos protobuf::createTask)', () => {
  const info = (extra: Partial<TaskInfo> = {}): TaskInfo =>
    ({
      name: 'web',
      taskId: { value: 't1' },
      agentId: { value: 'ignored: the context says where it runs' },
      resources: [{ name: 'cpus', type: 0, scalar: { value: 0.1 } }],
      ...extra,
    }) as TaskInfo;

  it('keeps name, ids and resources, starts in TASK_STAGING with no statuses', () => {
    const t = taskFromTaskInfo(info(), { frameworkId: 'fw', agentId: 'a1', frameworkUser: 'alice' });
    assert.equal(t.name, 'web');
    assert.deepEqual(t.taskId, { value: 't1' });
    assert.deepEqual(t.frameworkId, { value: 'fw' });
    assert.deepEqual(t.agentId, { value: 'a1' });
    assert.equal(t.state, TaskState.TASK_STAGING);
    assert.deepEqual(t.statuses, []);
    assert.deepEqual(t.resources, info().resources);
    assert.deepEqual(t.limits, {});
    assert.equal(t.executorId, undefined);
    assert.equal(t.container, undefined);
  });

  it("takes the user from the task's command, else its executor's, else the framework's", () => {
    assert.equal(
      taskFromTaskInfo(info({ command: { user: 'bob' } as TaskInfo['command'] }), { frameworkId: 'fw', agentId: 'a', frameworkUser: 'alice' }).user,
      'bob',
    );
    const executor = { executorId: { value: 'e1' }, command: { user: 'carol' } } as TaskInfo['executor'];
    const withExecutor = taskFromTaskInfo(info({ executor }), { frameworkId: 'fw', agentId: 'a', frameworkUser: 'alice' });
    assert.equal(withExecutor.user, 'carol');
    assert.deepEqual(withExecutor.executorId, { value: 'e1' });
    assert.equal(taskFromTaskInfo(info(), { frameworkId: 'fw', agentId: 'a', frameworkUser: 'alice' }).user, 'alice');
    assert.equal(taskFromTaskInfo(info(), { frameworkId: 'fw', agentId: 'a' }).user, undefined);
  });

  it('copies container, labels, kill policy and limits; an explicit state wins', () => {
    const container = {
      type: ContainerInfo_Type.MESOS,
      networkInfos: [{ name: 'ippc-bridge', groups: [], ipAddresses: [], portMappings: [] }],
    } as unknown as TaskInfo['container'];
    const labels = { labels: [{ key: 'k', value: 'v' }] };
    const killPolicy = { gracePeriod: { nanoseconds: 1e9 } } as TaskInfo['killPolicy'];
    const t = taskFromTaskInfo(info({ container, labels, killPolicy, limits: { cpus: { value: 2 } } }), {
      frameworkId: 'fw',
      agentId: 'a',
      state: TaskState.TASK_RUNNING,
    });
    assert.deepEqual(t.container, container);
    assert.deepEqual(t.labels, labels);
    assert.deepEqual(t.killPolicy, killPolicy);
    assert.deepEqual(t.limits, { cpus: { value: 2 } });
    assert.equal(t.state, TaskState.TASK_RUNNING);
  });
});
