import { within, type NetworkUsage } from '@ippc/core';
import type { Agent } from '../agent.js';

// Per-container network statistics: the containerizers' `usage()` (for the Mesos containerizer,
// the network/cni isolator's counters of the container's CNI interfaces), shown where Mesos shows
// them (`/monitor/statistics`, `ResourceStatistics.net_*`), on `/state` next to each executor, and
// on `/metrics` per container, task and network.

/** One running container's counters. */
export interface ContainerUsage {
  executorId: string;
  executorName: string;
  frameworkId: string;
  source: string;
  containerId: string;
  /** The first task of the executor (a command executor has exactly one). */
  taskId: string;
  usage: NetworkUsage;
}

/** Mesos's `ResourceStatistics` JSON (the `net_*` fields), plus `net_interfaces` (ippc: per interface and network). */
export interface StatisticsJson {
  timestamp: number;
  net_rx_packets: number;
  net_rx_bytes: number;
  net_rx_errors: number;
  net_rx_dropped: number;
  net_tx_packets: number;
  net_tx_bytes: number;
  net_tx_errors: number;
  net_tx_dropped: number;
  net_interfaces?: Array<{ interface: string; network: string } & Omit<StatisticsJson, 'timestamp' | 'net_interfaces'>>;
}

const counters = (u: Omit<NetworkUsage, 'interfaces'>) => ({
  net_rx_packets: u.rxPackets,
  net_rx_bytes: u.rxBytes,
  net_rx_errors: u.rxErrors,
  net_rx_dropped: u.rxDropped,
  net_tx_packets: u.txPackets,
  net_tx_bytes: u.txBytes,
  net_tx_errors: u.txErrors,
  net_tx_dropped: u.txDropped,
});

export function statisticsJson(usage: NetworkUsage, timestamp = Date.now() / 1000): StatisticsJson {
  return {
    timestamp,
    ...counters(usage),
    ...(usage.interfaces ? { net_interfaces: usage.interfaces.map((i) => ({ interface: i.ifName, network: i.network, ...counters(i) })) } : {}),
  };
}

/** The running executors whose containerizer can report counters: what a collection asks. */
function* measurable(agent: Agent) {
  for (const f of agent.frameworks.values()) for (const e of f.executors.values()) if (e.state === 'running' && e.containerizer.usage) yield { f, e };
}

/**
 * Asks every running container for its counters, all at once, each bounded by `timeoutMs` (a
 * slow containerizer, e.g. Docker's stats call, shows no statistics rather than stalling `/state`).
 */
export async function collectUsage(agent: Agent, timeoutMs = 1500): Promise<ContainerUsage[]> {
  const jobs = [...measurable(agent)].map(({ f, e }) =>
    within(e.containerizer.usage!(e.containerId), timeoutMs)
      .catch(() => undefined)
      .then((usage): ContainerUsage | undefined =>
        usage
          ? {
              executorId: e.id,
              executorName: e.info.name ?? '',
              frameworkId: f.id,
              source: e.info.source ?? '',
              containerId: e.containerId,
              taskId: [...e.tasks.keys()][0] ?? e.id,
              usage,
            }
          : undefined,
      ),
  );
  return (await Promise.all(jobs)).filter((u): u is ContainerUsage => u !== undefined);
}

/**
 * One collection shared by everything that asks within `maxAgeMs` (a `/metrics` scrape reads it
 * once per gauge), unless the set of running containers changed meanwhile: a container that just
 * started (or ended) shows on the next read, not up to `maxAgeMs` later.
 */
export function createUsageCache(agent: Agent, maxAgeMs = 500): { get(): Promise<ContainerUsage[]> } {
  let last: { at: number; key: string; value: Promise<ContainerUsage[]> } | undefined;
  return {
    get() {
      const now = Date.now();
      // The containers a collection would ask, in order: a change means the cached one is stale.
      const key = Array.from(measurable(agent), ({ e }) => e.containerId).join(',');
      if (!last || now - last.at > maxAgeMs || last.key !== key) last = { at: now, key, value: collectUsage(agent) };
      return last.value;
    },
  };
}
