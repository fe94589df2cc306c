import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NetworkInfo_Protocol, type NetworkInfo } from '@ippc/proto';
import { containerIdFromString, containerIdToString, networkInfoFromMesosJson, networkInfoToMesosJson } from './mesos-json.js';

describe('networkInfoToMesosJson', () => {
  it("writes the text Mesos passes in args: snake_case, keys in byte order, labels wrapped, IPv4 default emitted", () => {
    const info: NetworkInfo = {
      name: 'mynet',
      groups: ['web', 'db'],
      labels: { labels: [{ key: 'app', value: 'myapp' }, { key: 'flag' }] },
      ipAddresses: [{ ipAddress: '10.220.1.9' }, { protocol: NetworkInfo_Protocol.IPv6 }],
      portMappings: [{ hostPort: 8080, containerPort: 80 }, { hostPort: 8081, containerPort: 443, protocol: 'udp' }],
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
    const info: NetworkInfo = { name: 'n', groups: ['g'], labels: { labels: [{ key: 'k', value: 'v' }] }, ipAddresses: [{ protocol: NetworkInfo_Protocol.IPv4, ipAddress: '1.2.3.4' }], portMappings: [{ hostPort: 1, containerPort: 2, protocol: 'tcp' }] };
    assert.deepEqual(networkInfoFromMesosJson(networkInfoToMesosJson(info)), info);
  });
});

describe('container ids', () => {
  it("uses Mesos's string form parent.child and reads it back", () => {
    assert.equal(containerIdToString({ value: 'b', parent: { value: 'a' } }), 'a.b');
    assert.deepEqual(containerIdFromString('a.b.c'), { value: 'c', parent: { value: 'b', parent: { value: 'a' } } });
  });
});
