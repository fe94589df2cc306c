// Reading addresses out of inspect output and shaping TASK_RUNNING's NetworkInfo as Mesos's docker
// executor does, on inspect documents shaped like the daemon's.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type Docker from 'dockerode';
import { ContainerInfo_Type, NetworkInfo, NetworkInfo_Protocol, type ContainerInfo } from '@ippc/proto';
import { addressesFromInspect, inspectData, runningNetworkInfo } from './inspect.js';
import { parseBytes } from './parameters.js';

type Inspect = Pick<Docker.ContainerInspectInfo, 'HostConfig' | 'NetworkSettings'>;

function inspect(mode: string, networks: Record<string, { IPAddress: string; GlobalIPv6Address: string }>, topLevel = ''): Inspect {
  return {
    HostConfig: { NetworkMode: mode },
    NetworkSettings: { IPAddress: topLevel, Networks: networks } as unknown as Docker.ContainerInspectInfo['NetworkSettings'],
  };
}

describe('addressesFromInspect', () => {
  it('reads NetworkSettings.Networks.<NetworkMode>', () => {
    assert.deepEqual(addressesFromInspect(inspect('bridge', { bridge: { IPAddress: '172.17.0.2', GlobalIPv6Address: '' } }, '172.17.0.2')), {
      ipv4: '172.17.0.2',
    });
    assert.deepEqual(addressesFromInspect(inspect('ippc-dkr-v6', { 'ippc-dkr-v6': { IPAddress: '10.230.3.2', GlobalIPv6Address: 'fd10:230:3::2' } })), {
      ipv4: '10.230.3.2',
      ipv6: 'fd10:230:3::2',
    });
  });

  it('finds nothing for host, none and container:<id> modes', () => {
    assert.deepEqual(addressesFromInspect(inspect('host', { host: { IPAddress: '', GlobalIPv6Address: '' } })), {});
    assert.deepEqual(addressesFromInspect(inspect('none', { none: { IPAddress: '', GlobalIPv6Address: '' } })), {});
    assert.deepEqual(addressesFromInspect(inspect('container:abc', {})), {});
  });

  it('falls back to the top-level IPAddress when the mode has no entry (old daemons)', () => {
    assert.deepEqual(addressesFromInspect(inspect('default', {}, '172.17.0.9')), { ipv4: '172.17.0.9' });
  });
});

describe('runningNetworkInfo', () => {
  const withNetwork: ContainerInfo = {
    type: ContainerInfo_Type.DOCKER,
    networkInfos: [
      {
        name: 'ippc-dkr-blue',
        groups: ['web'],
        labels: { labels: [{ key: 'app', value: 'shop' }] },
        ipAddresses: [{ protocol: NetworkInfo_Protocol.IPv4 }],
        portMappings: [{ hostPort: 32000, containerPort: 80 }],
      },
    ],
  };

  it('copies network_infos[0] and replaces its addresses: IPv4 without protocol, IPv6 with', () => {
    const info = runningNetworkInfo(withNetwork, { ipv4: '10.230.3.2', ipv6: 'fd10:230:3::2' });
    assert.ok(info);
    assert.equal(info.name, 'ippc-dkr-blue');
    assert.deepEqual(info.groups, ['web']);
    // A protobuf copy (decode of encode, so unknown fields survive): compare the JSON forms.
    assert.deepEqual(NetworkInfo.toJSON(info), {
      name: 'ippc-dkr-blue',
      groups: ['web'],
      labels: { labels: [{ key: 'app', value: 'shop' }] },
      ipAddresses: [{ ipAddress: '10.230.3.2' }, { ipAddress: 'fd10:230:3::2', protocol: 'IPv6' }],
      portMappings: [{ hostPort: 32000, containerPort: 80 }],
    });
    assert.equal(info.ipAddresses[0]!.protocol, undefined);
    assert.equal(info.ipAddresses[1]!.protocol, NetworkInfo_Protocol.IPv6);
    // The task's own NetworkInfo is not touched.
    assert.deepEqual(withNetwork.networkInfos[0]!.ipAddresses, [{ protocol: NetworkInfo_Protocol.IPv4 }]);
  });

  it('without network_infos (BRIDGE) reports only the address', () => {
    const info = runningNetworkInfo({ type: ContainerInfo_Type.DOCKER, networkInfos: [] }, { ipv4: '172.17.0.2' });
    assert.deepEqual(info?.ipAddresses, [{ ipAddress: '172.17.0.2' }]);
    assert.equal(info?.name, undefined);
  });

  it('no address (HOST, NONE): no NetworkInfo, so the agent adds its own IP', () => {
    assert.equal(runningNetworkInfo(withNetwork, {}), undefined);
  });
});

describe('inspectData', () => {
  it('is the inspect document in an array, as `docker inspect` prints it', () => {
    const data = inspectData({ Id: 'abc' } as Docker.ContainerInspectInfo);
    assert.deepEqual(JSON.parse(data.toString('utf8')), [{ Id: 'abc' }]);
  });
});

describe('parseBytes (docker RAMInBytes)', () => {
  it('reads binary units', () => {
    assert.equal(parseBytes('512', 'm'), 512);
    assert.equal(parseBytes('64m', 'm'), 64 * 1024 ** 2);
    assert.equal(parseBytes('1.5GiB', 'm'), 1.5 * 1024 ** 3);
    assert.equal(parseBytes('2k', 'm'), 2048);
    assert.throws(() => parseBytes('-1', 'memory'), /expected a size/);
  });
});
