import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resultText, shellJoin } from './run.js';

describe('task run', () => {
  it('joins argv after -- into one shell command, quoting what the shell would split', () => {
    assert.equal(shellJoin(['busybox', 'httpd', '-f', '-p', '80']), 'busybox httpd -f -p 80');
    assert.equal(shellJoin(['sh', '-c', "echo it's $HOME"]), `sh -c 'echo it'\\''s $HOME'`);
  });

  it('says where a started task runs and with which address', () => {
    const text = resultText({
      id: 'web-1',
      name: 'web',
      state: 'TASK_RUNNING',
      agentId: 'S0',
      agent: '10.99.0.11',
      containerizer: 'MESOS',
      networks: ['ippc-bridge'],
      groups: ['web'],
      addresses: [{ network: 'ippc-bridge', address: '10.100.0.2' }],
      ports: [],
    });
    assert.equal(text, 'task web-1 TASK_RUNNING on agent 10.99.0.11: 10.100.0.2 (ippc-bridge)');
  });
});
