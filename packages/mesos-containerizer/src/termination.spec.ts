import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TaskStatus_Reason } from '@ippc/proto';
import { describeExit } from './termination.js';

describe('Mesos containerizer: exits', () => {
  it('words exits as Mesos does', () => {
    assert.equal(describeExit({ exitCode: 0 }), 'exited with status 0');
    assert.equal(describeExit({ signal: 9 }), 'terminated with signal Killed');
    assert.equal(describeExit({ signal: 15 }), 'terminated with signal Terminated');
    assert.equal(TaskStatus_Reason.REASON_CONTAINER_LAUNCH_FAILED, 21);
  });
});
