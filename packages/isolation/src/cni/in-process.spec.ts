import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CniRequest } from '@ippc/core';
import { createInProcessCniPlugin } from './in-process.js';

function target(socketPath: string, serving = true) {
  const seen: CniRequest[] = [];
  return {
    seen,
    agent: {
      socketPath,
      serving,
      async cni(req: CniRequest) {
        seen.push(req);
        return req.containerId === 'bad'
          ? { status: 400 as const, body: '{"cniVersion":"1.0.0","code":7,"msg":"no"}' }
          : { status: 200 as const, body: '{"cniVersion":"1.0.0"}' };
      },
    },
  };
}

const env = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'c1',
  CNI_NETNS: '/run/netns/c1',
  CNI_IFNAME: 'eth0',
  CNI_ARGS: 'A=1',
  CNI_PATH: '/opt/cni/bin',
  PATH: '/bin',
};

describe('createInProcessCniPlugin', () => {
  it('passes the CNI environment and stdin as the forwarder would, and answers as it prints', async () => {
    const t = target('/run/x/iso.sock');
    const plugin = createInProcessCniPlugin(t.agent);
    const stdin = JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'ippc-isolation', socket: '/run/x/../x/iso.sock' });
    assert.deepEqual(await plugin({ env, stdin }), { exitCode: 0, stdout: '{"cniVersion":"1.0.0"}', stderr: '' });
    assert.deepEqual(t.seen, [{ command: 'ADD', containerId: 'c1', netns: '/run/netns/c1', ifName: 'eth0', args: 'A=1', stdin }]);
    assert.deepEqual(await plugin({ env: { ...env, CNI_CONTAINERID: 'bad' }, stdin }), {
      exitCode: 1,
      stdout: '{"cniVersion":"1.0.0","code":7,"msg":"no"}',
      stderr: '',
    });
  });

  it('serves the default socket when the config names none, and undecodable configs there', async () => {
    const t = target('/run/ippc/isolation.sock');
    const plugin = createInProcessCniPlugin(t.agent);
    assert.equal((await plugin({ env, stdin: '{"cniVersion":"1.0.0","name":"n","type":"ippc-isolation"}' }))?.exitCode, 0);
    assert.equal((await plugin({ env, stdin: 'not json' }))?.exitCode, 0);
    assert.equal(t.seen.length, 2);
  });

  it('declines (the binary runs) for another daemon’s socket, or while the agent is not serving', async () => {
    const other = target('/run/x/iso.sock');
    assert.equal(await createInProcessCniPlugin(other.agent)({ env, stdin: '{"name":"n","socket":"/run/y/iso.sock"}' }), undefined);
    assert.equal(await createInProcessCniPlugin(other.agent)({ env, stdin: '{"name":"n"}' }), undefined, 'no socket: the default one, not this agent');
    const stopped = target('/run/x/iso.sock', false);
    assert.equal(await createInProcessCniPlugin(stopped.agent)({ env, stdin: '{"name":"n","socket":"/run/x/iso.sock"}' }), undefined);
    assert.equal(other.seen.length + stopped.seen.length, 0);
  });
});
