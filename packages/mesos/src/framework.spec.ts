import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameworkInfo_Capability_Type } from '@ippc/proto';
import { frameworkRole, hasCapability, isPartitionAware } from './framework.js';

describe('framework info', () => {
  it('answers capabilities and the role', () => {
    const info = { name: 'f', user: 'u', roles: ['web', 'db'], capabilities: [{ type: FrameworkInfo_Capability_Type.PARTITION_AWARE }] };
    assert.equal(isPartitionAware(info), true);
    assert.equal(hasCapability(info, FrameworkInfo_Capability_Type.TASK_KILLING_STATE), false);
    assert.equal(isPartitionAware(undefined), false);
    assert.equal(frameworkRole(info), 'web');
    assert.equal(frameworkRole({ name: 'f', user: 'u', roles: [], capabilities: [], role: 'r' }), 'r');
    assert.equal(frameworkRole({ name: 'f', user: 'u', roles: [], capabilities: [] }), '*');
  });
});
