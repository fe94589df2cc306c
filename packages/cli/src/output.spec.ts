import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeError } from './output.js';

describe('cli errors', () => {
  it('says what to do when the Docker daemon does not answer', () => {
    const err = Object.assign(new Error('connect ENOENT /var/run/docker.sock'), { code: 'ENOENT', syscall: 'connect', address: '/var/run/docker.sock' });
    const body = describeError(err);
    assert.equal(body.code, 'DOCKER_UNAVAILABLE');
    assert.match(body.message, /ippc doctor/);
    assert.deepEqual(describeError(new Error('boom')), { code: 'INTERNAL', message: 'boom' });
  });
});
