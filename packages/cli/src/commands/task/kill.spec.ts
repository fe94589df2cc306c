import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { taskViews } from '../../tasks-view.js';
import { fixtureState } from '../../testing-state.js';
import { findTask } from './kill.js';

describe('task kill', () => {
  it('finds a task by id, or by a name only one task has', () => {
    const tasks = taskViews(fixtureState());
    assert.equal(findTask(tasks, 'web').id, 'web-00000001');
    assert.equal(findTask(tasks, 'plain-00000002').name, 'plain');
    assert.throws(() => findTask(tasks, 'nope'), { code: 'CLI_TASK_NOT_FOUND' });
    const twice = [...tasks, { ...tasks[0]!, id: 'web-00000009' }];
    assert.throws(() => findTask(twice, 'web'), { code: 'CLI_USAGE' });
  });
});
