import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isIppcError } from '@ippc/core';
import { DEFAULT_IP_SOURCES, latestRunningStatus, parseIp, taskAddresses, validateIpSources } from './ip-sources.js';
import type { MesosTask } from './mesos-state.js';

describe('validateIpSources', () => {
  it('accepts the four sources in any order, and the mesos-dns default', () => {
    assert.deepEqual(validateIpSources(['host', 'docker', 'mesos', 'netinfo']), ['host', 'docker', 'mesos', 'netinfo']);
    assert.deepEqual(DEFAULT_IP_SOURCES, ['netinfo', 'mesos', 'host']);
  });
  it('rejects with mesos-dns messages, in its order', () => {
    const reject = (list: string[], message: string) =>
      assert.throws(
        () => validateIpSources(list),
        (e: unknown) => isIppcError(e, 'DNS_INVALID_IP_SOURCES') && e.message === message,
      );
    reject([], 'empty ip sources');
    reject(['host', 'host'], 'duplicate ip source specified');
    reject(['host', 'host', 'bogus'], 'duplicate ip source specified');
    reject(['netinfo', 'autoip'], 'invalid ip source "autoip"');
    reject(['NETINFO'], 'invalid ip source "NETINFO"');
  });
});

describe('parseIp', () => {
  it('accepts IPv4 and IPv6 and prints them canonically', () => {
    assert.deepEqual(parseIp('10.0.0.5'), { family: 4, ip: '10.0.0.5' });
    assert.deepEqual(parseIp('FD01:0:0:0:0:0:0:2'), { family: 6, ip: 'fd01::2' });
    assert.deepEqual(parseIp(' fd01::2 '), { family: 6, ip: 'fd01::2' });
  });
  it('treats IPv4-mapped IPv6 as IPv4, as Go does', () => {
    assert.deepEqual(parseIp('::ffff:10.0.0.9'), { family: 4, ip: '10.0.0.9' });
    assert.deepEqual(parseIp('::FFFF:a00:9'), { family: 4, ip: '10.0.0.9' });
  });
  it('accepts an IPv6 address with a prefix length, as the Mesos CNI isolator reports it (beyond mesos-dns)', () => {
    assert.deepEqual(parseIp('fd10:220::5/64'), { family: 6, ip: 'fd10:220::5' });
  });
  it('drops anything that is not an address', () => {
    for (const bad of ['', 'agent1', '10.0.0.2/24', '300.1.1.1', 'fd01::2::3', 'fd01::2/129', 'fd01::2/x', 'fe80::1%eth0', undefined, 42, null]) {
      assert.equal(parseIp(bad), undefined, String(bad));
    }
  });
});

describe('latestRunningStatus', () => {
  it('picks the TASK_RUNNING status with the greatest timestamp, wherever it is', () => {
    const statuses = [
      { state: 'TASK_RUNNING', timestamp: 300, labels: [{ key: 'n', value: 'newest' }] },
      { state: 'TASK_STARTING', timestamp: 400 },
      { state: 'TASK_RUNNING', timestamp: 200, labels: [{ key: 'n', value: 'older' }] },
    ];
    assert.equal(latestRunningStatus(statuses)?.labels?.[0]?.value, 'newest');
  });
  it('gives undefined without a running status', () => {
    assert.equal(latestRunningStatus([{ state: 'TASK_STAGING', timestamp: 1 }]), undefined);
    assert.equal(latestRunningStatus(undefined), undefined);
  });
});

describe('taskAddresses', () => {
  const agent = [{ family: 4 as const, ip: '10.0.0.5' }];
  const task = (status: object): MesosTask => ({ id: 't', state: 'TASK_RUNNING', statuses: [{ state: 'TASK_RUNNING', timestamp: 1, ...status }] });

  it('uses the first source that yields a parseable IP', () => {
    const t = task({
      labels: [
        { key: 'MesosContainerizer.NetworkSettings.IPAddress', value: 'garbage' },
        { key: 'Docker.NetworkSettings.IPAddress', value: '172.17.0.3' },
      ],
    });
    // netinfo: nothing; mesos: only an unparseable value; docker: yes.
    assert.deepEqual(taskAddresses(t, agent, ['netinfo', 'mesos', 'docker', 'host']).ipv4, '172.17.0.3');
    assert.equal(taskAddresses(t, agent, ['netinfo', 'mesos', 'docker', 'host']).source, 'docker');
    assert.equal(taskAddresses(t, agent, ['netinfo', 'mesos', 'host']).source, 'host');
    assert.equal(taskAddresses(t, [], ['netinfo', 'mesos']).source, undefined);
  });

  it('reads every network and address, then answers the first IPv4 and first IPv6', () => {
    const t = task({
      container_status: {
        network_infos: [
          { name: 'a', ip_addresses: [{ protocol: 'IPv6', ip_address: 'fd00::a' }] },
          {
            name: 'b',
            ip_addresses: [
              { protocol: 'IPv4', ip_address: '10.2.0.2' },
              { protocol: 'IPv4', ip_address: '10.2.0.3' },
            ],
          },
        ],
      },
    });
    const r = taskAddresses(t, agent, DEFAULT_IP_SOURCES);
    assert.deepEqual(
      r.all.map((a) => a.ip),
      ['fd00::a', '10.2.0.2', '10.2.0.3'],
    );
    assert.equal(r.ipv4, '10.2.0.2');
    assert.equal(r.ipv6, 'fd00::a');
  });

  it('falls back to the 0.25 top-level ip_address only when ip_addresses is absent or empty', () => {
    const legacy = task({ container_status: { network_infos: [{ ip_address: '10.3.0.1' }, { ip_addresses: [], ip_address: '10.3.0.2' }] } });
    assert.deepEqual(
      taskAddresses(legacy, agent, ['netinfo']).all.map((a) => a.ip),
      ['10.3.0.1', '10.3.0.2'],
    );
    const both = task({ container_status: { network_infos: [{ ip_addresses: [{ ip_address: '10.4.0.1' }], ip_address: '10.3.0.9' }] } });
    assert.deepEqual(
      taskAddresses(both, agent, ['netinfo']).all.map((a) => a.ip),
      ['10.4.0.1'],
    );
  });
});
