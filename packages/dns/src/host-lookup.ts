import { lookup } from 'node:dns/promises';
import type { Logger } from '@ippc/core';
import { parseIp, type ParsedIp } from './ip-sources.js';
import type { MesosState } from './mesos-state.js';
import { collectHostnames } from './records.js';

/** The system resolver (`getaddrinfo`), the default of `DnsServerOptions.lookupHost`. */
export async function systemLookup(host: string): Promise<ParsedIp[]> {
  const found = await lookup(host, { all: true });
  return found.map((f) => parseIp(f.address)).filter((p): p is ParsedIp => p !== undefined);
}

/**
 * Resolves the host names a state uses for agents, the leader and frameworks (see
 * collectHostnames) with `lookupHost`, for buildRecords' `hostAddresses`. An answer is kept for a
 * minute; a name that does not resolve within 2 s gets no address.
 */
export function createHostResolver(lookupHost: (host: string) => Promise<ParsedIp[]>, log: Logger): (state: MesosState) => Promise<Map<string, ParsedIp[]>> {
  const hostCache = new Map<string, { ips: ParsedIp[]; at: number }>();
  return async function resolveHosts(state: MesosState): Promise<Map<string, ParsedIp[]>> {
    const out = new Map<string, ParsedIp[]>();
    await Promise.all(
      collectHostnames(state).map(async (host) => {
        const cached = hostCache.get(host);
        if (cached && Date.now() - cached.at < 60_000) return void out.set(host, cached.ips);
        try {
          const ips = await Promise.race([
            lookupHost(host),
            new Promise<ParsedIp[]>((_, reject) => setTimeout(() => reject(new Error('timed out')), 2000).unref()),
          ]);
          hostCache.set(host, { ips, at: Date.now() });
          out.set(host, ips);
        } catch (err) {
          log.warn({ host, err: (err as Error).message }, 'cannot resolve a host name from the state; its names get no address');
        }
      }),
    );
    return out;
  };
}
