import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostPortsRuleset } from './ruleset.js';

describe('hostPortsRuleset', () => {
  it('writes the whole table: the set of ports, DNAT of local addresses to via, masquerade of what was forwarded', () => {
    const script = hostPortsRuleset('ippc_docker_ports', '10.98.7.1', [
      { protocol: 'udp', hostPort: 35992 },
      { protocol: 'tcp', hostPort: 35991 },
      { protocol: 'tcp', hostPort: 35991 },
    ]);
    assert.equal(
      script,
      [
        'table ip ippc_docker_ports',
        'delete table ip ippc_docker_ports',
        'table ip ippc_docker_ports {',
        '  set published {',
        '    type inet_proto . inet_service',
        '    elements = { tcp . 35991, udp . 35992 }',
        '  }',
        '  chain prerouting {',
        '    type nat hook prerouting priority dstnat; policy accept;',
        '    fib daddr type local meta l4proto . th dport @published dnat to 10.98.7.1',
        '  }',
        '  chain output {',
        '    type nat hook output priority -100; policy accept;',
        '    fib daddr type local meta l4proto . th dport @published dnat to 10.98.7.1',
        '  }',
        '  chain postrouting {',
        '    type nat hook postrouting priority srcnat; policy accept;',
        '    ct status dnat ip daddr 10.98.7.1 meta l4proto . th dport @published masquerade',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('an empty set has no elements line (nft refuses `elements = { }`)', () => {
    const script = hostPortsRuleset('t', '10.0.0.1', []);
    assert.ok(!script.includes('elements'));
    assert.ok(script.includes('  set published {\n    type inet_proto . inet_service\n  }\n'));
  });
});
