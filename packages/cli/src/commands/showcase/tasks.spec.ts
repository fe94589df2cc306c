import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planTaskRun } from '../../task-spec.js';
import { showcaseTasks } from './tasks.js';

describe('showcase tasks', () => {
  it('covers opt-in and plain tasks, every Docker mode and several groups, and each plans cleanly', () => {
    const tasks = showcaseTasks({ bridge: 'ippc-bridge', ptp: 'ippc-ptp', userNetwork: 'ippc-user', image: 'ippc/node:x' });
    const plans = tasks.map((t) => planTaskRun(t.name, undefined, t.flags));
    assert.deepEqual([...new Set(plans.filter((p) => p.containerizer === 'DOCKER').map((p) => p.dockerNetwork))].sort(), ['BRIDGE', 'HOST', 'NONE', 'USER']);
    assert.ok(
      plans.some((p) => p.containerizer === 'MESOS' && p.networks.length === 0),
      'a plain task',
    );
    assert.deepEqual([...new Set(plans.flatMap((p) => p.groups))].sort(), ['db', 'public', 'web']);
    assert.equal(new Set(tasks.map((t) => t.name)).size, tasks.length);
  });
});
