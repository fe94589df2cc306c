import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseNetDev } from './counters.js';

describe('interface counters', () => {
  it('reads /proc/net/dev counters per interface', () => {
    const text = [
      'Inter-|   Receive                                                |  Transmit',
      ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
      '    lo:     120       2    0    0    0     0          0         0      120       2    0    0    0     0       0          0',
      '  eth0:    5310      41    1    3    0     0          0         0     2762      25    2    4    0     0       0          0',
    ].join('\n');
    const c = parseNetDev(text);
    assert.deepEqual(c.get('eth0'), { rxBytes: 5310, rxPackets: 41, rxErrors: 1, rxDropped: 3, txBytes: 2762, txPackets: 25, txErrors: 2, txDropped: 4 });
    assert.equal(c.get('lo')!.rxBytes, 120);
    assert.equal(c.size, 2);
  });
});
