import type { Logger } from '@ippc/core';
import { DnsError } from './errors.js';
import type { IpSource, ParsedIp } from './ip-sources.js';
import type { MesosState } from './mesos-state.js';
import type { DnsMetrics } from './metrics.js';
import { buildRecords, type RecordSet } from './records.js';
import type { ZoneView } from './resolver.js';
import type { StateEvent } from './state-source.js';

// The zone a DNS server answers from and how fresh it is, kept up to date from its state source's
// events: a new state rebuilds the zone, `unchanged` confirms it, an error keeps the last good one.

/** The current zone and what the server knows of the master. */
export interface ZoneState {
  zone: RecordSet | undefined;
  serial: number;
  updatedAt: number | undefined;
  confirmedAt: number | undefined;
  lastError: DnsError | undefined;
  /** Counts the states as they come, so a build that a newer state overtook is dropped. */
  generation: number;
  /** Called when a zone is loaded, and when the server closes (see ready). */
  readonly readyWaiters: Set<() => void>;
  /** SERVFAIL once the master has not answered for this long; 0: never. */
  readonly staleAfterMs: number;
}

export function createZoneState(staleAfterMs: number): ZoneState {
  return {
    zone: undefined,
    serial: 0,
    updatedAt: undefined,
    confirmedAt: undefined,
    lastError: undefined,
    generation: 0,
    readyWaiters: new Set(),
    staleAfterMs,
  };
}

/** A zone is loaded and not stale: names in the zone get answers. */
export function servable(z: ZoneState): boolean {
  return z.zone !== undefined && z.confirmedAt !== undefined && (z.staleAfterMs === 0 || Date.now() - z.confirmedAt <= z.staleAfterMs);
}

/** The zone as the query handler sees it at the moment of a query. */
export function zoneView(z: ZoneState): ZoneView {
  return { records: z.zone, servable: servable(z), serial: z.serial };
}

/** What applyStateEvent works with: the state it updates, how to build a zone, where to report. */
export interface ZoneUpdater {
  readonly state: ZoneState;
  readonly domain: string;
  readonly ipSources: IpSource[];
  readonly nameserverAddresses: string[];
  readonly resolveHosts: (state: MesosState) => Promise<Map<string, ParsedIp[]>>;
  readonly metrics: DnsMetrics;
  readonly log: Logger;
}

/** The state source's listener: one event into the zone state. */
export async function applyStateEvent(u: ZoneUpdater, event: StateEvent): Promise<void> {
  const { state: z, domain, log } = u;
  const { updates, recordsGauge } = u.metrics;
  switch (event.kind) {
    case 'state': {
      const mine = ++z.generation;
      const started = performance.now();
      const hostAddresses = await u.resolveHosts(event.state);
      if (mine !== z.generation) return; // a newer state overtook this one
      let built: RecordSet;
      try {
        built = buildRecords(event.state, { domain, ipSources: u.ipSources, hostAddresses, nameserverAddresses: u.nameserverAddresses });
      } catch (err) {
        // Should not happen (the builder skips what it cannot read), but never lose the last good zone.
        z.lastError = new DnsError('DNS_STATE_INVALID', `cannot build the zone from the master's state: ${(err as Error).message}`, { cause: err });
        updates.inc({ result: 'error' });
        log.error({ err: z.lastError.toJSON() }, 'cannot build the zone; keeping the last good one');
        return;
      }
      z.zone = built;
      z.serial = Math.max(z.serial + 1, Math.floor(Date.now() / 1000));
      z.updatedAt = event.at;
      z.confirmedAt = event.at;
      recordsGauge.set(built.stats.records);
      updates.inc({ result: 'changed' });
      for (const w of built.warnings) log.warn(w);
      if (z.lastError) log.info('the master state is readable again');
      z.lastError = undefined;
      log.info({ ...built.stats, serial: z.serial, buildMs: Math.round(performance.now() - started) }, 'zone updated');
      for (const w of z.readyWaiters) w();
      return;
    }
    case 'unchanged':
      z.confirmedAt = event.at;
      updates.inc({ result: 'unchanged' });
      if (z.lastError) log.info('the master state is readable again');
      z.lastError = undefined;
      return;
    case 'error':
      updates.inc({ result: 'error' });
      // Log the first failure loudly and repeats quietly, so a down master does not flood the log.
      if (!z.lastError || z.lastError.message !== event.error.message) {
        log.warn({ err: event.error.toJSON(), serving: z.zone ? 'last good state' : 'SERVFAIL' }, 'cannot read the master state');
      } else log.debug({ err: event.error.toJSON() }, 'cannot read the master state');
      z.lastError = event.error;
      return;
  }
}

/** Resolves once a zone is loaded; rejects with the last read error after `timeoutMs`, or when the server closes first. */
export function ready(z: ZoneState, timeoutMs: number): Promise<void> {
  if (z.zone) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      z.readyWaiters.delete(done);
      if (z.zone) resolve();
      else reject(z.lastError ?? new DnsError('DNS_STATE_UNAVAILABLE', 'the server closed before a state was read'));
    };
    const timer = setTimeout(() => {
      z.readyWaiters.delete(done);
      reject(z.lastError ?? new DnsError('DNS_STATE_UNAVAILABLE', `no master state read within ${timeoutMs} ms`));
    }, timeoutMs);
    z.readyWaiters.add(done);
  });
}
