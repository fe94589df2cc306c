import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isIppcError } from '@ippc/core';
import { FrameworkInfo, TaskStatus, TaskState } from '@ippc/proto';
import { fromV1Json, toV1Json } from './v1-json.js';

describe('v1 API JSON', () => {
  it('writes messages with the proto field names, enums by name and bytes as base64', () => {
    const status = TaskStatus.fromPartial({
      taskId: { value: 't1' },
      state: TaskState.TASK_RUNNING,
      uuid: Buffer.from([1, 2, 3]),
      containerStatus: { networkInfos: [{ name: 'blue', ipAddresses: [{ ipAddress: '10.100.0.5' }], groups: [], portMappings: [] }] },
    });
    assert.deepEqual(toV1Json(TaskStatus, status), {
      task_id: { value: 't1' },
      state: 'TASK_RUNNING',
      uuid: 'AQID',
      container_status: { network_infos: [{ name: 'blue', ip_addresses: [{ ip_address: '10.100.0.5' }] }] },
    });
  });

  it('reads what Mesos reads: proto names (and proto3 JSON names), unknown keys ignored', () => {
    const info = fromV1Json(
      FrameworkInfo,
      { user: 'root', name: 'fw', failover_timeout: 60, webuiUrl: 'http://x', capabilities: [{ type: 'PARTITION_AWARE' }], surprise: 1 },
      'FrameworkInfo',
    );
    assert.equal(info.failoverTimeout, 60);
    assert.equal(info.webuiUrl, 'http://x');
    assert.equal(info.capabilities.length, 1);
    assert.equal((toV1Json(FrameworkInfo, info) as { failover_timeout?: number }).failover_timeout, 60);
  });

  it('refuses what is not an object with JSON_INVALID', () => {
    for (const bad of [[], null, 'x', 3]) {
      assert.throws(
        () => fromV1Json(FrameworkInfo, bad, 'FrameworkInfo'),
        (e: unknown) => isIppcError(e) && e.code === 'JSON_INVALID' && /Expecting a JSON object for FrameworkInfo/.test((e as Error).message),
      );
    }
  });
});
