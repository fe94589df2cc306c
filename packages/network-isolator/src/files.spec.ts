import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatHosts, formatResolvConf, mergeDns } from './files.js';

describe('container files', () => {
  it('writes /etc/hosts as Mesos does: localhost, then the first IPv4 with the hostname', () => {
    assert.equal(formatHosts('web-1', '10.220.1.5'), '127.0.0.1 localhost\n10.220.1.5 web-1\n');
    assert.equal(formatHosts('web-1', undefined), '127.0.0.1 localhost\n');
  });

  it("writes resolv.conf in Mesos's order: domain, search, options, nameservers", () => {
    assert.equal(
      formatResolvConf({ nameservers: ['10.0.0.1', '10.0.0.2'], domain: 'mesos', search: ['a', 'b'], options: ['ndots:2'] }),
      'domain mesos\nsearch a b\noptions ndots:2\nnameserver 10.0.0.1\nnameserver 10.0.0.2\n',
    );
    assert.equal(formatResolvConf({ nameservers: ['10.0.0.1'] }), 'nameserver 10.0.0.1\n');
  });

  it('merges DNS like protobuf MergeFrom: lists appended, the last domain wins', () => {
    assert.deepEqual(mergeDns([{ nameservers: ['1.1.1.1'], domain: 'a', search: ['x'] }, {}, { nameservers: ['2.2.2.2'], domain: 'b', options: ['o'] }]), {
      nameservers: ['1.1.1.1', '2.2.2.2'],
      domain: 'b',
      search: ['x'],
      options: ['o'],
    });
  });
});
