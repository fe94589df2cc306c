import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IsolationError } from '../errors.js';
import type { Member, MemberKey } from '../model.js';
import { handleCni, type CniBackend } from './handler.js';

function fakeBackend(fail?: Error) {
  const calls: { op: string; arg: unknown }[] = [];
  const backend: CniBackend = {
    async attach(m: Member) {
      calls.push({ op: 'attach', arg: m });
      if (fail) throw fail;
    },
    async detach(k: MemberKey) {
      calls.push({ op: 'detach', arg: k });
    },
    async check(m: Member) {
      calls.push({ op: 'check', arg: m });
      if (fail) throw fail;
    },
    async gc(network, valid) {
      calls.push({ op: 'gc', arg: { network, valid } });
    },
    async status() {
      if (fail) throw fail;
    },
  };
  return { backend, calls };
}

const prev10 = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'isobr1' }, { name: 'veth1' }, { name: 'eth0', sandbox: '/run/netns/x' }],
  ips: [
    { interface: 2, address: '10.240.1.5/24', gateway: '10.240.1.1' },
    { interface: 2, address: 'fd10:240:0:1::5/64' },
  ],
  routes: [{ dst: '0.0.0.0/0' }],
  dns: {},
};
const config = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    cniVersion: '1.0.0',
    name: 'isonet',
    type: 'ippc-isolation',
    args: { 'org.apache.mesos': { network_info: { name: 'isonet', groups: ['web', 'db'], labels: { labels: [{ key: 'k', value: 'v' }] } } } },
    prevResult: prev10,
    ...extra,
  });
const add = { command: 'ADD', containerId: 'c1', netns: '/run/netns/x', ifName: 'eth0' };

describe('CNI handler', () => {
  it('ADD attaches the addresses of prevResult with the Mesos groups and passes prevResult through unchanged', async () => {
    const { backend, calls } = fakeBackend();
    const res = await handleCni({ ...add, stdin: config() }, backend, 'a1');
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), prev10);
    const m = calls[0]?.arg as Member;
    assert.deepEqual(
      [m.agentId, m.containerId, m.ifName, m.network, m.addresses, m.groups],
      ['a1', 'c1', 'eth0', 'isonet', ['10.240.1.5', 'fd10:240:0:1::5'], ['db', 'web']],
    );
  });

  it('reads CNI 0.2.0 results (ip4/ip6) and configs without groups', async () => {
    const { backend, calls } = fakeBackend();
    const prev02 = { cniVersion: '0.2.0', ip4: { ip: '10.240.1.9/24', gateway: '10.240.1.1' }, dns: {} };
    const res = await handleCni(
      { ...add, stdin: JSON.stringify({ cniVersion: '0.3.1', name: 'n', type: 'ippc-isolation', prevResult: prev02 }) },
      backend,
      'a1',
    );
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), prev02);
    assert.deepEqual([(calls[0]?.arg as Member).addresses, (calls[0]?.arg as Member).groups], [['10.240.1.9'], []]);
  });

  it('DEL needs neither CNI_NETNS nor prevResult; CHECK verifies; GC keeps the valid attachments of its network', async () => {
    const { backend, calls } = fakeBackend();
    assert.deepEqual(
      await handleCni(
        { command: 'DEL', containerId: 'c1', ifName: 'eth0', stdin: JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'ippc-isolation' }) },
        backend,
        'a1',
      ),
      { status: 200, body: '' },
    );
    assert.deepEqual(calls[0], { op: 'detach', arg: { agentId: 'a1', containerId: 'c1', ifName: 'eth0' } });
    assert.equal((await handleCni({ ...add, command: 'CHECK', stdin: config() }, backend, 'a1')).status, 200);
    assert.equal(calls[1]?.op, 'check');
    await handleCni(
      {
        command: 'GC',
        stdin: JSON.stringify({
          cniVersion: '1.1.0',
          name: 'isonet',
          type: 'ippc-isolation',
          'cni.dev/valid-attachments': [{ containerID: 'c7', ifname: 'eth0' }],
        }),
      },
      backend,
      'a1',
    );
    assert.deepEqual(calls[2], { op: 'gc', arg: { network: 'isonet', valid: [{ containerId: 'c7', ifName: 'eth0' }] } });
  });

  it('answers every bad request with a CNI error code and a message that says what to do', async () => {
    const { backend, calls } = fakeBackend();
    const err = async (req: Parameters<typeof handleCni>[0]) => {
      const res = await handleCni(req, backend, 'a1');
      assert.equal(res.status, 400);
      return JSON.parse(res.body) as { cniVersion: string; code: number; msg: string };
    };
    assert.deepEqual(await err({ ...add, stdin: '{nope' }), { cniVersion: '1.0.0', code: 6, msg: (await err({ ...add, stdin: '{nope' })).msg });
    const noPrev = await err({ ...add, stdin: config({ prevResult: undefined }) });
    assert.equal(noPrev.code, 7);
    assert.match(noPrev.msg, /chained plugin: list it after an interface plugin/);
    assert.equal((await err({ ...add, stdin: config({ prevResult: { cniVersion: '1.0.0', ips: [] } }) })).code, 7);
    const badGroups = await err({ ...add, stdin: config({ args: { 'org.apache.mesos': { network_info: { groups: 'web' } } } }) });
    assert.match(badGroups.msg, /must be a list of strings/);
    assert.equal((await err({ ...add, netns: '', stdin: config() })).code, 4);
    assert.equal((await err({ ...add, containerId: '', stdin: config() })).code, 4);
    assert.equal((await err({ ...add, containerId: 'bad id!', stdin: config() })).code, 7);
    const unknown = await err({ ...add, command: 'FROB', stdin: config() });
    assert.deepEqual([unknown.code, /knows ADD, DEL, CHECK, GC, STATUS and VERSION/.test(unknown.msg)], [4, true]);
    const old = await err({ ...add, stdin: config({ cniVersion: '0.1.0' }) });
    assert.deepEqual([old.code, old.cniVersion], [1, '0.1.0']);
    assert.equal(calls.length, 0, 'nothing reached the backend');
  });

  it('maps backend failures to CNI codes: 11 (try again later) for timeouts and outages', async () => {
    const { backend } = fakeBackend(new IsolationError('ISOLATION_TIMEOUT', 'not enforced in time'));
    const res = await handleCni({ ...add, stdin: config() }, backend, 'a1');
    assert.deepEqual(JSON.parse(res.body), { cniVersion: '1.0.0', code: 11, msg: 'ippc-isolation: not enforced in time', details: 'ISOLATION_TIMEOUT' });
    const status = await handleCni({ command: 'STATUS', stdin: config() }, backend, 'a1');
    assert.equal(JSON.parse(status.body).code, 50);
    const version = await handleCni({ command: 'VERSION', stdin: JSON.stringify({ cniVersion: '0.4.0' }) }, backend, 'a1');
    assert.deepEqual(JSON.parse(version.body), { cniVersion: '0.4.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
  });
});
