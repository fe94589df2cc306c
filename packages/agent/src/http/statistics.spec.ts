import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NetworkUsage } from '@ippc/core';
import type { Agent } from '../agent.js';
import { createUsageCache, statisticsJson } from './statistics.js';

// A stand-in for the agent: only what a collection reads (frameworks -> executors).
function fakeAgent() {
  const asked: string[] = [];
  const containerizer = {
    usage: async (id: string): Promise<NetworkUsage> => {
      asked.push(id);
      return { rxBytes: 1, rxPackets: 1, rxErrors: 0, rxDropped: 0, txBytes: 1, txPackets: 1, txErrors: 0, txDropped: 0 };
    },
  };
  const executors = new Map<string, unknown>();
  const agent = { frameworks: new Map([['f1', { id: 'f1', executors }]]) } as unknown as Agent;
  const run = (id: string) => executors.set(id, { id, containerId: `c-${id}`, state: 'running', info: {}, tasks: new Map([[`t-${id}`, {}]]), containerizer });
  return { agent, asked, run, end: (id: string) => executors.delete(id) };
}

describe('usage cache', () => {
  it('shares one collection between reads within maxAgeMs while the running containers stay the same', async () => {
    const f = fakeAgent();
    f.run('a');
    const cache = createUsageCache(f.agent, 60_000);
    assert.deepEqual(
      (await cache.get()).map((u) => u.containerId),
      ['c-a'],
    );
    await cache.get();
    assert.deepEqual(f.asked, ['c-a']);
  });

  it('collects again at once when a container started or ended since (no stale /metrics or /state)', async () => {
    const f = fakeAgent();
    f.run('a');
    const cache = createUsageCache(f.agent, 60_000);
    await cache.get();
    f.run('b');
    assert.deepEqual(
      (await cache.get()).map((u) => u.containerId),
      ['c-a', 'c-b'],
    );
    f.end('a');
    assert.deepEqual(
      (await cache.get()).map((u) => u.containerId),
      ['c-b'],
    );
    assert.deepEqual(f.asked, ['c-a', 'c-a', 'c-b', 'c-b']);
  });
});

describe('statistics', () => {
  it("is Mesos's ResourceStatistics net_* with the interfaces beside", () => {
    const c = { rxBytes: 1, rxPackets: 2, rxErrors: 3, rxDropped: 4, txBytes: 5, txPackets: 6, txErrors: 7, txDropped: 8 };
    assert.deepEqual(statisticsJson({ ...c, interfaces: [{ ifName: 'eth0', network: 'blue', ...c }] }, 100), {
      timestamp: 100,
      net_rx_packets: 2,
      net_rx_bytes: 1,
      net_rx_errors: 3,
      net_rx_dropped: 4,
      net_tx_packets: 6,
      net_tx_bytes: 5,
      net_tx_errors: 7,
      net_tx_dropped: 8,
      net_interfaces: [
        {
          interface: 'eth0',
          network: 'blue',
          net_rx_packets: 2,
          net_rx_bytes: 1,
          net_rx_errors: 3,
          net_rx_dropped: 4,
          net_tx_packets: 6,
          net_tx_bytes: 5,
          net_tx_errors: 7,
          net_tx_dropped: 8,
        },
      ],
    });
    assert.equal(statisticsJson(c).net_interfaces, undefined);
  });
});
