import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ContainerInfo_DockerInfo_Network, ContainerInfo_Type, NetworkInfo_Protocol } from '@ippc/proto';
import { parseLabel, parsePortMapping, planTaskRun } from './task-spec.js';

/** Without ts-proto's `_unknownFields` bookkeeping. */
const plain = (x: unknown): unknown => JSON.parse(JSON.stringify(x, (k, v: unknown) => (k === '_unknownFields' ? undefined : v)));

const usage = (pattern: RegExp) => (err: Error & { code?: string }) => err.code === 'CLI_USAGE' && pattern.test(err.message);

describe('task run flags', () => {
  it('a task without --network has no ContainerInfo: it shares the agent network (mixed mode)', () => {
    const plan = planTaskRun('plain', undefined, { cmd: 'exec busybox httpd -f -p $PORT0', port: '1' });
    assert.equal(plan.containerizer, 'MESOS');
    assert.equal(plan.spec.container, undefined);
    assert.equal(plan.spec.ports, 1);
    assert.equal(plan.spec.command, 'exec busybox httpd -f -p $PORT0');
  });

  it('--network, --group and --ip opt a Mesos task in: one NetworkInfo per network, groups on each, the address on the first', () => {
    const plan = planTaskRun('web', 'sleep 1', { network: ['blue', 'red'], group: ['web', 'db'], ip: ['10.100.0.9'], label: ['team=a', 'empty='] });
    const c = plan.spec.container!;
    assert.equal(c.type, ContainerInfo_Type.MESOS);
    assert.deepEqual(plain(c.networkInfos.map((n) => [n.name, n.groups, n.ipAddresses])), [
      ['blue', ['web', 'db'], [{ protocol: NetworkInfo_Protocol.IPv4, ipAddress: '10.100.0.9' }]],
      ['red', ['web', 'db'], []],
    ]);
    assert.deepEqual(plan.spec.labels, {
      labels: [
        { key: 'team', value: 'a' },
        { key: 'empty', value: '' },
      ],
    });
    assert.deepEqual(plan.groups, ['web', 'db']);
  });

  it('a Mesos task takes its port mappings on the first network and their host ports from the offer', () => {
    const plan = planTaskRun('web', 'x', { network: ['blue'], portMapping: ['35010:80', '35011:53/UDP'] });
    assert.deepEqual(plain(plan.spec.container!.networkInfos[0]!.portMappings), [
      { hostPort: 35010, containerPort: 80, protocol: 'tcp' },
      { hostPort: 35011, containerPort: 53, protocol: 'udp' },
    ]);
    assert.deepEqual(plan.spec.ports, [35010, 35011]);
  });

  it('Docker: --image implies the Docker containerizer; the mode defaults to USER with --network, else HOST', () => {
    const host = planTaskRun('d', 'x', { image: 'ippc/node:1' });
    assert.equal(host.spec.container!.type, ContainerInfo_Type.DOCKER);
    assert.equal(host.spec.container!.docker!.network, ContainerInfo_DockerInfo_Network.HOST);
    assert.equal(host.dockerNetwork, 'HOST');
    const user = planTaskRun('d', 'x', { image: 'ippc/node:1', network: ['ippc-user'], group: ['g'] });
    assert.equal(user.spec.container!.docker!.network, ContainerInfo_DockerInfo_Network.USER);
    assert.equal(user.spec.container!.networkInfos[0]!.name, 'ippc-user');
    const bridge = planTaskRun('d', 'x', { docker: true, image: 'i', dockerNetwork: 'bridge', portMapping: ['35010:80'] });
    assert.equal(bridge.spec.container!.docker!.network, ContainerInfo_DockerInfo_Network.BRIDGE);
    assert.deepEqual(plain(bridge.spec.container!.docker!.portMappings), [{ hostPort: 35010, containerPort: 80, protocol: 'tcp' }]);
    assert.deepEqual(bridge.spec.container!.networkInfos, []);
  });

  it('combinations only Mesos judges go through unchanged (a USER task without a network fails at the agent with its message)', () => {
    const plan = planTaskRun('d', 'x', { image: 'i', dockerNetwork: 'USER' });
    assert.equal(plan.spec.container!.docker!.network, ContainerInfo_DockerInfo_Network.USER);
    assert.deepEqual(plan.spec.container!.networkInfos, []);
  });

  it('refuses malformed flags with CLI_USAGE and says what to write', () => {
    assert.throws(() => planTaskRun('web', undefined, {}), usage(/a command is required/));
    assert.throws(() => planTaskRun('bad name', 'x', {}), usage(/task name/));
    assert.throws(() => planTaskRun('w', 'x', { containerizer: 'rkt' }), usage(/mesos or docker/));
    assert.throws(() => planTaskRun('w', 'x', { containerizer: 'mesos', image: 'i' }), usage(/Docker containerizer/));
    assert.throws(() => planTaskRun('w', 'x', { docker: true }), usage(/--image/));
    assert.throws(() => planTaskRun('w', 'x', { image: 'i', dockerNetwork: 'overlay' }), usage(/host, bridge, none or user/));
    assert.throws(() => planTaskRun('w', 'x', { ip: ['10.0.0.1'] }), usage(/--ip needs --network/));
    assert.throws(() => planTaskRun('w', 'x', { group: ['web'] }), usage(/--group needs --network/));
    assert.throws(() => planTaskRun('w', 'x', { network: ['n'], ip: ['10.0.0.300'] }), usage(/not an IPv4 or IPv6/));
    for (const bad of ['1:2', 'fd10::1::2', '010.0.0.1'])
      assert.throws(() => planTaskRun('w', 'x', { network: ['n'], ip: [bad] }), usage(/not an IPv4 or IPv6/), bad);
    assert.throws(() => planTaskRun('w', 'x', { port: '1', portMapping: ['1:2'] }), usage(/not both/));
    assert.throws(() => planTaskRun('w', 'x', { port: '-1' }), usage(/positive integer/));
    assert.throws(() => planTaskRun('w', 'x', { cpus: 'lots' }), usage(/--cpus/));
  });

  it('parses port mappings and labels', () => {
    assert.deepEqual(parsePortMapping('8080:80'), { hostPort: 8080, containerPort: 80, protocol: 'tcp' });
    assert.throws(() => parsePortMapping('80'), usage(/HOST:CONTAINER/));
    assert.throws(() => parsePortMapping('70000:80'), usage(/between 1 and 65535/));
    assert.deepEqual(parseLabel('a=b=c'), { key: 'a', value: 'b=c' });
    assert.throws(() => parseLabel('=v'), usage(/KEY=VALUE/));
  });

  it('--executor: the command is the task’s data, the networks and groups are the executor container’s', () => {
    const plan = planTaskRun('ex-web', undefined, {
      executor: 'ex',
      cmd: 'exec busybox httpd -f -p 80',
      network: ['ippc-bridge'],
      group: ['web'],
      cpus: '0.2',
    });
    assert.equal(plan.spec.command, undefined);
    assert.equal(plan.spec.data, 'exec busybox httpd -f -p 80');
    assert.equal(plan.spec.container, undefined, 'the task asks for no network itself');
    assert.equal(plan.spec.cpus, 0.2);
    assert.equal(plan.spec.executor!.executorId?.value, 'ex');
    assert.deepEqual(plain(plan.spec.executor!.container!.networkInfos.map((n) => [n.name, n.groups])), [['ippc-bridge', ['web']]]);
    assert.deepEqual([plan.containerizer, plan.networks, plan.groups, plan.executor?.id], ['MESOS', ['ippc-bridge'], ['web'], 'ex']);
    assert.equal(planTaskRun('t', 'sleep 1', { executor: 'ex' }).spec.executor!.container, undefined, 'no --network: the agent’s network');
  });

  it('--executor refuses what a task of the shell executor cannot have', () => {
    assert.throws(() => planTaskRun('t', 'x', { executor: 'bad id' }), usage(/--executor 'bad id'/));
    assert.throws(() => planTaskRun('t', 'x', { executor: 'ex', image: 'i' }), usage(/Mesos container/));
    assert.throws(() => planTaskRun('t', 'x', { executor: 'ex', containerizer: 'docker' }), usage(/Mesos container/));
    assert.throws(() => planTaskRun('t', 'x', { executor: 'ex', port: '1' }), usage(/--port and --port-mapping/));
    assert.throws(() => planTaskRun('t', 'x', { executor: 'ex', portMapping: ['35010:80'] }), usage(/--port and --port-mapping/));
    assert.throws(() => planTaskRun('t', 'x', { executor: 'ex', group: ['web'] }), usage(/--group needs --network/));
    assert.throws(() => planTaskRun('t', undefined, { executor: 'ex' }), usage(/a command is required/));
  });

  it('accepts an IPv6 address request', () => {
    const plan = planTaskRun('w', 'x', { network: ['n'], ip: ['fd00::5'] });
    assert.deepEqual(plain(plan.spec.container!.networkInfos[0]!.ipAddresses), [{ protocol: NetworkInfo_Protocol.IPv6, ipAddress: 'fd00::5' }]);
  });
});
