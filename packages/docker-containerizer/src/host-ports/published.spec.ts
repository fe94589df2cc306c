import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type Docker from 'dockerode';
import { publishedHostPorts } from './published.js';

const inspect = (Ports: Record<string, Array<{ HostIp: string; HostPort: string }> | null>) =>
  ({ NetworkSettings: { Ports } }) as unknown as Pick<Docker.ContainerInspectInfo, 'NetworkSettings'>;
const range = (begin: number, end: number) => [{ begin, end }];

describe('publishedHostPorts', () => {
  it('forwards what Docker bound on every address (IPv4 and IPv6 once), TCP and UDP, inside the ranges', () => {
    const r = publishedHostPorts(
      inspect({
        '80/tcp': [
          { HostIp: '0.0.0.0', HostPort: '31000' },
          { HostIp: '::', HostPort: '31000' },
        ],
        '53/udp': [{ HostIp: '', HostPort: '31001' }],
        '8080/tcp': null,
      }),
      range(31000, 31009),
    );
    assert.deepEqual(r, {
      forward: [
        { protocol: 'tcp', hostPort: 31000 },
        { protocol: 'udp', hostPort: 31001 },
      ],
      skipped: [],
    });
  });

  it('skips, saying why, bindings to one address, outside the ranges, of other protocols', () => {
    const r = publishedHostPorts(
      inspect({
        '81/tcp': [{ HostIp: '127.0.0.1', HostPort: '31002' }],
        '82/tcp': [{ HostIp: '0.0.0.0', HostPort: '49153' }],
        '83/sctp': [{ HostIp: '0.0.0.0', HostPort: '31003' }],
      }),
      range(31000, 31009),
    );
    assert.deepEqual(r.forward, []);
    assert.deepEqual(r.skipped, [
      { binding: '127.0.0.1:31002->81/tcp', why: 'bound to 127.0.0.1 only' },
      { binding: '0.0.0.0:49153->82/tcp', why: "host port 49153 is not in the task's ports resources" },
      { binding: '0.0.0.0:31003->83/sctp', why: 'protocol sctp is not forwarded' },
    ]);
  });

  it('forwards nothing for a task without ports resources, or a container that publishes nothing', () => {
    assert.deepEqual(publishedHostPorts(inspect({ '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '31000' }] }), undefined).forward, []);
    assert.deepEqual(publishedHostPorts(inspect({}), range(1, 65535)), { forward: [], skipped: [] });
    assert.deepEqual(publishedHostPorts({} as never, range(1, 65535)), { forward: [], skipped: [] });
  });
});
