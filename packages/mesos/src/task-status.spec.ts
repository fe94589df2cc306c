import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NetworkInfo_Protocol, TaskState, TaskStatus_Reason, TaskStatus_Source, type Task } from '@ippc/proto';
import { createTaskStatus } from './task-status.js';
import { recordStatus } from './task.js';

describe('createTaskStatus', () => {
  it('builds a master status: no uuid, no agent when none is known, a timestamp of now', () => {
    const before = Date.now() / 1000;
    const s = createTaskStatus({
      taskId: 't1',
      state: TaskState.TASK_LOST,
      source: TaskStatus_Source.SOURCE_MASTER,
      reason: TaskStatus_Reason.REASON_RECONCILIATION,
      message: 'Reconciliation: Task is unknown',
    });
    assert.deepEqual(
      { ...s, timestamp: 0 },
      {
        taskId: { value: 't1' },
        state: TaskState.TASK_LOST,
        message: 'Reconciliation: Task is unknown',
        source: TaskStatus_Source.SOURCE_MASTER,
        reason: TaskStatus_Reason.REASON_RECONCILIATION,
        timestamp: 0,
      },
    );
    assert.ok(s.timestamp! >= before && s.timestamp! <= Date.now() / 1000);
  });

  it('gives an agent status a fresh 16-byte uuid each time, and carries what it is given', () => {
    const containerStatus = { networkInfos: [{ ipAddresses: [{ protocol: NetworkInfo_Protocol.IPv4, ipAddress: '10.1.2.3' }], groups: [], portMappings: [] }] };
    const spec = {
      taskId: 't1',
      state: TaskState.TASK_RUNNING,
      source: TaskStatus_Source.SOURCE_EXECUTOR,
      agentId: 'a1',
      executorId: 'e1',
      uuid: true as const,
      containerStatus,
      healthy: true,
      data: new Uint8Array([1]),
    };
    const a = createTaskStatus(spec);
    const b = createTaskStatus(spec);
    assert.equal(a.uuid?.length, 16);
    assert.notDeepEqual(a.uuid, b.uuid);
    assert.deepEqual(a.agentId, { value: 'a1' });
    assert.deepEqual(a.executorId, { value: 'e1' });
    assert.equal(a.containerStatus, containerStatus);
    assert.equal(a.healthy, true);
    assert.deepEqual([...a.data!], [1]);
    assert.equal(createTaskStatus({ ...spec, uuid: undefined }).uuid, undefined);
  });
});

describe('recordStatus', () => {
  it("keeps one status per state change, without data, and the task's latest state", () => {
    const task: Task = {
      name: 't',
      taskId: { value: 't' },
      frameworkId: { value: 'f' },
      agentId: { value: 'a' },
      state: TaskState.TASK_STAGING,
      resources: [],
      statuses: [],
      limits: {},
    };
    const running = createTaskStatus({ taskId: 't', state: TaskState.TASK_RUNNING, source: TaskStatus_Source.SOURCE_EXECUTOR, data: new Uint8Array([9]) });
    recordStatus(task, running);
    recordStatus(task, { ...running, healthy: true });
    assert.equal(task.statuses.length, 1);
    assert.equal(task.statuses[0]!.healthy, true);
    assert.equal(task.statuses[0]!.data, undefined);
    recordStatus(task, createTaskStatus({ taskId: 't', state: TaskState.TASK_UNREACHABLE, source: TaskStatus_Source.SOURCE_MASTER }), TaskState.TASK_LOST);
    assert.deepEqual(
      task.statuses.map((s) => s.state),
      [TaskState.TASK_RUNNING, TaskState.TASK_UNREACHABLE],
    );
    assert.equal(task.state, TaskState.TASK_LOST);
  });
});
