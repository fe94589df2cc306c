import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NetworkInfo_Protocol, type NetworkInfo } from '@ippc/proto';
import { containerIdFromString, containerIdToString, networkInfoFromMesosJson, networkInfoOfCniArgs, networkInfoToMesosJson } from './cni-args.js';

describe('networkInfoToMesosJson', () => {
  it('writes the text Mesos passes in args: snake_case, keys in byte order, labels wrapped, IPv4 default emitted', () => {
    const info: NetworkInfo = {
      name: 'mynet',
      groups: ['web', 'db'],
      labels: { labels: [{ key: 'app', value: 'myapp' }, { key: 'flag' }] },
      ipAddresses: [{ ipAddress: '10.220.1.9' }, { protocol: NetworkInfo_Protocol.IPv6 }],
      portMappings: [
        { hostPort: 8080, containerPort: 80 },
        { hostPort: 8081, containerPort: 443, protocol: 'udp' },
      ],
    };
    assert.equal(
      JSON.stringify(networkInfoToMesosJson(info)),
      '{"groups":["web","db"],"ip_addresses":[{"ip_address":"10.220.1.9","protocol":"IPv4"},{"protocol":"IPv6"}],' +
        '"labels":{"labels":[{"key":"app","value":"myapp"},{"key":"flag"}]},"name":"mynet",' +
        '"port_mappings":[{"container_port":80,"host_port":8080},{"container_port":443,"host_port":8081,"protocol":"udp"}]}',
    );
  });

  it('leaves out what is not set and reads its own output back', () => {
    assert.deepEqual(networkInfoToMesosJson({ name: 'n', ipAddresses: [], groups: [], portMappings: [] }), { name: 'n' });
    const info: NetworkInfo = {
      name: 'n',
      groups: ['g'],
      labels: { labels: [{ key: 'k', value: 'v' }] },
      ipAddresses: [{ protocol: NetworkInfo_Protocol.IPv4, ipAddress: '1.2.3.4' }],
      portMappings: [{ hostPort: 1, containerPort: 2, protocol: 'tcp' }],
    };
    assert.deepEqual(networkInfoFromMesosJson(networkInfoToMesosJson(info)), info);
  });
});

describe('container ids', () => {
  it("uses Mesos's string form parent.child and reads it back", () => {
    assert.equal(containerIdToString({ value: 'b', parent: { value: 'a' } }), 'a.b');
    assert.deepEqual(containerIdFromString('a.b.c'), { value: 'c', parent: { value: 'b', parent: { value: 'a' } } });
  });
});

describe('networkInfoOfCniArgs', () => {
  it('reads the NetworkInfo Mesos put in args, and nothing when there is none', () => {
    const info: NetworkInfo = { name: 'blue', groups: ['web'], ipAddresses: [{ protocol: NetworkInfo_Protocol.IPv6 }], portMappings: [] };
    assert.deepEqual(networkInfoOfCniArgs({ 'org.apache.mesos': { network_info: networkInfoToMesosJson(info) }, cni: { ips: [] } }), info);
    assert.equal(networkInfoOfCniArgs(undefined), undefined);
    assert.equal(networkInfoOfCniArgs({ cni: {} }), undefined);
    assert.equal(networkInfoOfCniArgs({ 'org.apache.mesos': {} }), undefined);
  });

  it('names the field that is not a NetworkInfo', () => {
    const bad = (network_info: unknown) => () => networkInfoOfCniArgs({ 'org.apache.mesos': { network_info } });
    assert.throws(bad('x'), { code: 'NETWORK_INFO_INVALID', message: 'args["org.apache.mesos"].network_info must be an object (NetworkInfo)' });
    assert.throws(bad({ groups: 'web' }), { message: 'args["org.apache.mesos"].network_info.groups must be a list of strings (NetworkInfo.groups)' });
    assert.throws(bad({ groups: [1] }), { message: /network_info\.groups must be a list of strings/ });
    assert.throws(bad({ name: 3 }), { message: /network_info\.name must be a string/ });
    assert.throws(bad({ ip_addresses: [{ protocol: 'IPv5' }] }), { message: /network_info\.ip_addresses must be a list of/ });
    assert.throws(bad({ ip_addresses: [{ ip_address: 10 }] }), { message: /ip_addresses\[\]\.ip_address must be a string/ });
    assert.throws(bad({ labels: [] }), { message: /network_info\.labels must be/ });
    assert.throws(bad({ port_mappings: [{ host_port: 70000 }] }), { message: /network_info\.port_mappings must be/ });
  });
});
