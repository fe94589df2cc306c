import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadFixture } from './fixtures/index.js';
import { DEFAULT_IP_SOURCES, type IpSource } from './ip-sources.js';
import { buildRecords, collectHostnames, parsePid, parsePortRanges, type RecordSet } from './records.js';

const mesos1x = (ipSources: readonly IpSource[] = DEFAULT_IP_SOURCES) => buildRecords(loadFixture('mesos-1x-state.json'), { domain: 'ippc', ipSources });
const mesos025 = (ipSources: readonly IpSource[] = DEFAULT_IP_SOURCES) => buildRecords(loadFixture('mesos-0.25-state.json'), { domain: 'ippc', ipSources });

const a = (z: RecordSet, name: string) => [...(z.lookup(name)?.a ?? [])];
const aaaa = (z: RecordSet, name: string) => [...(z.lookup(name)?.aaaa ?? [])];
const srv = (z: RecordSet, name: string) => (z.lookup(name)?.srv ?? []).map((s) => `${s.target}:${s.port}`).sort();

describe('buildRecords on a Mesos 1.x state', () => {
  const z = mesos1x();

  it('answers a CNI task with its container address, under the plain and the canonical name', () => {
    assert.deepEqual(a(z, 'web.marathon.ippc'), ['192.168.0.2']);
    assert.deepEqual(a(z, 'web-j845k-s0.marathon.ippc'), ['192.168.0.2']);
    assert.deepEqual(aaaa(z, 'web.marathon.ippc'), []);
  });

  it('answers .agent. names with the agent address (mesos-dns wrote .slave.)', () => {
    assert.deepEqual(a(z, 'web.marathon.agent.ippc'), ['10.0.0.5']);
    assert.deepEqual(a(z, 'web-j845k-s0.marathon.agent.ippc'), ['10.0.0.5']);
    assert.equal(z.exists('web.marathon.slave.ippc'), false);
  });

  it('makes SRV records from resources.ports, pointing at the canonical agent name', () => {
    const target = ['web-j845k-s0.marathon.agent.ippc:31000'];
    assert.deepEqual(srv(z, '_web._tcp.marathon.ippc'), target);
    assert.deepEqual(srv(z, '_web._udp.marathon.ippc'), target);
    assert.deepEqual(srv(z, '_web._tcp.marathon.agent.ippc'), target);
    assert.deepEqual(srv(z, '_db._tcp.marathon.ippc'), ['db-9yj6a-s1.marathon.agent.ippc:31001', 'db-9yj6a-s1.marathon.agent.ippc:31002']);
  });

  it('answers a Docker BRIDGE task with the bridge address from netinfo, a host-network task with the agent address', () => {
    assert.deepEqual(a(z, 'db.marathon.ippc'), ['172.17.0.2']);
    assert.deepEqual(a(z, 'api.marathon.ippc'), ['10.0.0.5']);
  });

  it('answers the first IPv4 and the first IPv6 of a task on several networks', () => {
    assert.deepEqual(a(z, 'multi.marathon.ippc'), ['10.1.0.2']);
    assert.deepEqual(aaaa(z, 'multi.marathon.ippc'), ['fd01::2']);
    assert.deepEqual(a(z, 'dockeruser.marathon.ippc'), ['172.18.0.2']);
    assert.deepEqual(aaaa(z, 'dockeruser.marathon.ippc'), ['fd01::2']);
  });

  it('reads the newest TASK_RUNNING status by timestamp, not by position', () => {
    assert.deepEqual(a(z, 'cache.marathon.ippc'), ['10.1.0.9']);
  });

  it('uses discovery.name and discovery.ports when the task has discovery info', () => {
    assert.deepEqual(a(z, 'search.marathon.ippc'), ['192.168.0.3']);
    assert.equal(z.exists('search-app.marathon.ippc'), false);
    assert.deepEqual(srv(z, '_search._tcp.marathon.ippc'), ['search-dk3bz-s0.marathon.ippc:8080', 'search-dk3bz-s0.marathon.ippc:8081']);
    assert.deepEqual(srv(z, '_search._udp.marathon.ippc'), ['search-dk3bz-s0.marathon.ippc:8081']);
    assert.deepEqual(srv(z, '_http._search._tcp.marathon.ippc'), ['search-dk3bz-s0.marathon.ippc:8080']);
    assert.deepEqual(srv(z, '_admin._search._udp.marathon.ippc'), ['search-dk3bz-s0.marathon.ippc:8081']);
    // Resource ports then only get the .agent. SRV names.
    assert.deepEqual(srv(z, '_search._tcp.marathon.agent.ippc'), ['search-dk3bz-s0.marathon.agent.ippc:31010']);
  });

  it('gives no records to killed, completed, staging tasks or tasks on unknown agents', () => {
    for (const name of ['worker', 'old', 'staging', 'lost']) {
      assert.equal(z.exists(`${name}.marathon.ippc`), false, name);
      assert.equal(z.exists(`${name}.marathon.agent.ippc`), false, name);
    }
    assert.equal(z.exists('_worker._tcp.marathon.ippc'), false);
    assert.equal(z.stats.tasks, 8);
  });

  it('sanitises framework and task names like mesos-dns', () => {
    assert.deepEqual(a(z, 'chronostasksome-box.chronoswitha-space.and.mixed.ippc'), ['10.0.0.7']);
  });

  it('has agent, leader and framework names', () => {
    assert.deepEqual(a(z, 'agent.ippc').sort(), ['10.0.0.5', '10.0.0.6', '10.0.0.7']);
    assert.deepEqual(srv(z, '_agent._tcp.ippc'), ['agent.ippc:5051']);
    assert.deepEqual(a(z, 'leader.ippc'), ['10.0.0.1']);
    assert.deepEqual(a(z, 'master.ippc'), ['10.0.0.1']);
    assert.deepEqual(srv(z, '_leader._tcp.ippc'), ['leader.ippc:5050']);
    assert.deepEqual(a(z, 'marathon.ippc'), ['10.0.0.2']);
    assert.deepEqual(srv(z, '_framework._tcp.marathon.ippc'), ['marathon.ippc:36457']);
  });

  it('knows empty non-terminals, so they are not NXDOMAIN', () => {
    assert.equal(z.exists('ippc'), true);
    assert.equal(z.exists('_tcp.marathon.ippc'), true);
    assert.equal(z.exists('marathon.agent.ippc'), true);
    assert.equal(z.lookup('_tcp.marathon.ippc'), undefined);
    assert.equal(z.exists('nothing.marathon.ippc'), false);
  });

  it('follows the configured source order', () => {
    const host = mesos1x(['host']);
    assert.deepEqual(a(host, 'web.marathon.ippc'), ['10.0.0.5']);
    assert.deepEqual(a(host, 'db.marathon.ippc'), ['10.0.0.6']);
    assert.deepEqual(aaaa(host, 'multi.marathon.ippc'), []);
    const docker = mesos1x(['docker', 'host']);
    assert.deepEqual(a(docker, 'db.marathon.ippc'), ['172.17.0.2']);
    assert.deepEqual(a(docker, 'web.marathon.ippc'), ['10.0.0.5']);
    // Without host, a task with no container address gets no task A record but keeps its .agent. names.
    const netinfoOnly = buildRecords({ ...loadFixture('mesos-1x-state.json') }, { domain: 'IPPC.', ipSources: ['mesos'] });
    assert.equal(netinfoOnly.lookup('web.marathon.ippc'), undefined);
    assert.deepEqual(a(netinfoOnly, 'web.marathon.agent.ippc'), ['10.0.0.5']);
  });

  it('counts what it built', () => {
    assert.equal(z.stats.agents, 3);
    assert.equal(z.stats.frameworks, 2);
    assert.ok(z.stats.records >= z.stats.names);
    assert.deepEqual(z.warnings, []);
  });
});

describe('buildRecords on a Mesos 0.25 state', () => {
  it('reads the top-level ip_address of a 0.25 network_info', () => {
    assert.deepEqual(a(mesos025(), 'legacy.marathon.ippc'), ['10.3.0.1']);
    assert.deepEqual(a(mesos025(), 'legacy-wojt4-s0.marathon.ippc'), ['10.3.0.1']);
  });
  it('reads the 0.25 status labels with the mesos and docker sources', () => {
    assert.deepEqual(a(mesos025(['mesos', 'host']), 'legacy.marathon.ippc'), ['10.3.0.99']);
    assert.deepEqual(a(mesos025(), 'labelled.marathon.ippc'), ['10.3.0.2']);
    assert.deepEqual(a(mesos025(['docker', 'host']), 'labelled.marathon.ippc'), ['10.1.1.10']);
    assert.deepEqual(a(mesos025(), 'dockerish.marathon.ippc'), ['10.1.1.10']);
    assert.deepEqual(a(mesos025(['docker', 'host']), 'dockerish.marathon.ippc'), ['172.17.0.5']);
  });
});

describe('state parsing helpers', () => {
  it('parses pids, including bracketed IPv6 and a missing port', () => {
    assert.deepEqual(parsePid('slave(1)@10.0.0.5:5051'), { host: '10.0.0.5', port: 5051 });
    assert.deepEqual(parsePid('slave(1)@[fd00::5]:5051'), { host: 'fd00::5', port: 5051 });
    assert.deepEqual(parsePid('master@master1'), { host: 'master1', port: undefined });
    assert.equal(parsePid('no-at-sign'), undefined);
    assert.equal(parsePid(undefined), undefined);
  });
  it('expands Mesos range text', () => {
    assert.deepEqual(parsePortRanges('[31000-31002, 31005-31005]'), [31000, 31001, 31002, 31005]);
    assert.deepEqual(parsePortRanges('[]'), []);
    assert.deepEqual(parsePortRanges('31000'), []);
    assert.deepEqual(parsePortRanges(undefined), []);
  });
  it('caps huge port ranges and says so', () => {
    const state = loadFixture('mesos-1x-state.json');
    state.frameworks![0]!.tasks![0]!.resources!.ports = '[1-65535]';
    const z = buildRecords(state, { domain: 'ippc', ipSources: DEFAULT_IP_SOURCES });
    assert.equal(z.lookup('_web._tcp.marathon.ippc')?.srv.length, 1024);
    assert.match(z.warnings.join('\n'), /65535 ports/);
  });
  it('resolves agents given by host name through the caller-supplied addresses', () => {
    const state = loadFixture('mesos-1x-state.json');
    state.slaves![0]!.pid = 'slave(1)@agent1.example:5051';
    assert.deepEqual(collectHostnames(state), ['agent1.example']);
    const unresolved = buildRecords(state, { domain: 'ippc', ipSources: ['host'] });
    assert.equal(unresolved.lookup('api.marathon.ippc'), undefined);
    const resolved = buildRecords(state, {
      domain: 'ippc',
      ipSources: ['host'],
      hostAddresses: new Map([['agent1.example', [{ family: 4, ip: '10.9.9.9' }]]]),
    });
    assert.deepEqual(a(resolved, 'api.marathon.ippc'), ['10.9.9.9']);
  });
  it('skips tasks and frameworks without a usable name, with a warning', () => {
    const state = loadFixture('mesos-1x-state.json');
    state.frameworks![0]!.tasks![0]!.name = '***';
    state.frameworks![1]!.name = '!!!';
    const z = buildRecords(state, { domain: 'ippc', ipSources: DEFAULT_IP_SOURCES });
    assert.equal(z.stats.tasks, 6);
    assert.equal(z.warnings.length, 2);
  });
});

describe('buildRecords on odd input', () => {
  it('never throws on wrongly typed fields: it skips what it cannot read', () => {
    const odd = [
      {},
      { frameworks: [null, 42, { name: 7 }, { name: 'm', tasks: 'x' }], slaves: [null, { id: 3 }, { id: 'a', pid: 9 }] },
      {
        leader: 42,
        slaves: [{ id: 'S0', pid: 'slave(1)@10.0.0.1:notaport' }],
        frameworks: [
          {
            name: 'm',
            pid: {},
            tasks: [
              null,
              {
                id: 't1',
                name: 'x',
                state: 'TASK_RUNNING',
                slave_id: 'S0',
                statuses: 'nope',
                resources: 'x',
                discovery: { name: 'd', ports: { ports: [null, { number: 'x' }, { number: 70000 }] } },
              },
              {
                id: 't2',
                name: 'y',
                state: 'TASK_RUNNING',
                slave_id: 'S0',
                statuses: [
                  null,
                  {
                    state: 'TASK_RUNNING',
                    labels: [null, { key: 'MesosContainerizer.NetworkSettings.IPAddress' }],
                    container_status: { network_infos: [null, { ip_addresses: [null, {}] }] },
                  },
                ],
              },
            ],
          },
        ],
      },
    ];
    for (const state of odd) {
      assert.doesNotThrow(() => buildRecords(state as never, { domain: 'ippc', ipSources: ['netinfo', 'mesos', 'docker', 'host'] }));
    }
    const z = buildRecords(odd[2] as never, { domain: 'ippc', ipSources: DEFAULT_IP_SOURCES });
    assert.deepEqual(a(z, 'y.m.ippc'), ['10.0.0.1'], 'falls through to the agent address');
    assert.equal(z.lookup('_d._tcp.m.ippc'), undefined);
  });
});
