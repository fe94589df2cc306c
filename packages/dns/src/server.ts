/**
 * The DNS server: UDP and TCP sockets on one address, a zone rebuilt from the master's state, and
 * optionally an HTTP endpoint for health and metrics.
 */
import { isIP } from 'node:net';
import { createLogger, startHttpServer, type Logger, type StartedHttpServer } from '@ippc/core';
import { formatHostPort, parseHostPort, type HostPort } from './addresses.js';
import { DnsError } from './errors.js';
import { createUpstreamForwarder, type Forwarder, type Transport } from './forwarder.js';
import { createHostResolver, systemLookup } from './host-lookup.js';
import { DEFAULT_IP_SOURCES, validateIpSources, type IpSource, type ParsedIp } from './ip-sources.js';
import { canonicalName, MAX_LABEL_LENGTH } from './labels.js';
import { createDnsMetrics, type DnsMetrics } from './metrics.js';
import type { RecordSet, RecordStats } from './records.js';
import { createQueryHandler, type QueryHandler } from './resolver.js';
import { bindBoth, closeSockets } from './sockets.js';
import { createPollingStateSource, DEFAULT_REFRESH_MS, type StateSource } from './state-source.js';
import { applyStateEvent, createZoneState, ready, servable, zoneView, type ZoneState, type ZoneUpdater } from './zone-state.js';

export interface DnsServerOptions {
  /**
   * The master's base URL (`http://10.0.0.1:5050`; `/master/state` is appended when the URL has
   * no path). Required unless `source` is given.
   */
  master?: string;
  /** A state source of your own (a watch, a fixed state). When set, `master` and `refreshMs` are unused. */
  source?: StateSource;
  /** The zone. Default `ippc` (mesos-dns: `mesos`). */
  domain?: string;
  /** UDP and TCP address, `host:port`; port 0 picks a free port (the same for both). Default `0.0.0.0:53`. */
  listen?: string;
  /** IP source order, validated as mesos-dns does. Default `["netinfo", "mesos", "host"]`. */
  ipSources?: readonly string[];
  /** Upstream servers (`ip[:port]`) for names outside the zone. Default none: those are REFUSED. */
  upstreams?: readonly string[];
  /** Polling interval of the default source. Default 2000 ms. */
  refreshMs?: number;
  /**
   * Answer SERVFAIL for the zone when the last successful read of the state is older than this
   * (the master has been unreachable that long). 0 keeps serving the last good state forever, as
   * mesos-dns does. Default 60000 ms (30 polls at the default interval).
   */
  staleAfterMs?: number;
  /** TTL of answers and of negative answers (SOA minimum). Default 5 s (mesos-dns: 60). */
  ttl?: number;
  /** Per-upstream timeout when forwarding. Default 2000 ms. */
  upstreamTimeoutMs?: number;
  /** `host:port` of an HTTP endpoint with `/health` (503 until servable) and `/metrics`. Default none. */
  http?: string;
  /** Default: a `dns` component logger on standard error. */
  logger?: Logger;
  /** Resolves agent/leader host names that are not IPs. Default: the system resolver (`getaddrinfo`). */
  lookupHost?: (host: string) => Promise<ParsedIp[]>;
}

/** What {@link DnsServer.status} reports. */
export interface DnsServerStatus {
  /** A zone is loaded and not stale: names in the zone get answers. */
  servable: boolean;
  /** When the zone last changed / the master last answered (ms since the epoch). */
  updatedAt: number | undefined;
  confirmedAt: number | undefined;
  /** The last read error, cleared by the next good read. */
  lastError: string | undefined;
  stats: RecordStats | undefined;
  serial: number;
}

/** A started server. `close()` (or `await using`) stops polling and frees the sockets. */
export interface DnsServer extends AsyncDisposable {
  /** The address both sockets are bound to. */
  readonly host: string;
  readonly port: number;
  /** `host:port`, IPv6 bracketed. */
  readonly address: string;
  /** The HTTP endpoint's port, when `http` was given. */
  readonly httpPort: number | undefined;
  readonly domain: string;
  status(): DnsServerStatus;
  /** The current zone (undefined before the first state). */
  records(): RecordSet | undefined;
  /** Reads the master's state now and resolves once the zone reflects it. */
  refresh(): Promise<void>;
  /** Resolves once a zone is loaded; rejects with the last read error after `timeoutMs` (default 10000). */
  ready(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Checks options without binding anything; {@link createDnsServer} calls it first. */
export function resolveDnsServerOptions(options: DnsServerOptions) {
  const domain = canonicalName(options.domain ?? 'ippc');
  if (domain === '' || domain.split('.').some((l) => !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(l) || l.length > MAX_LABEL_LENGTH)) {
    throw new DnsError(
      'DNS_INVALID_OPTIONS',
      `domain ${JSON.stringify(options.domain)} is not a valid DNS name: use letters, digits and hyphens, e.g. ippc or mesos.internal`,
    );
  }
  const listen = parseHostPort(options.listen ?? '0.0.0.0:53', 'listen address');
  if (isIP(listen.host) === 0)
    throw new DnsError('DNS_INVALID_OPTIONS', `listen address ${JSON.stringify(options.listen)} must be an IP address, e.g. 127.0.0.1:53`);
  const ipSources: IpSource[] = validateIpSources(options.ipSources ?? DEFAULT_IP_SOURCES);
  const upstreams: HostPort[] = (options.upstreams ?? []).map((u) => parseHostPort(u, 'upstream', 53, true));
  const seen = new Set<string>();
  for (const u of upstreams) {
    const key = formatHostPort(u);
    if (seen.has(key)) throw new DnsError('DNS_INVALID_OPTIONS', `duplicate upstream specified: ${JSON.stringify(key)}`);
    seen.add(key);
  }
  const positive = (name: string, v: number | undefined, dflt: number, allowZero = false) => {
    const value = v ?? dflt;
    if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
      throw new DnsError('DNS_INVALID_OPTIONS', `${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, not ${v}`);
    }
    return value;
  };
  const refreshMs = positive('refreshMs', options.refreshMs, DEFAULT_REFRESH_MS);
  const staleAfterMs = positive('staleAfterMs', options.staleAfterMs, 60_000, true);
  const ttl = Math.floor(positive('ttl', options.ttl, 5, true));
  const upstreamTimeoutMs = positive('upstreamTimeoutMs', options.upstreamTimeoutMs, 2000);
  const http = options.http === undefined ? undefined : parseHostPort(options.http, 'http address');
  if (!options.source && !options.master) {
    throw new DnsError('DNS_INVALID_OPTIONS', 'no master given: pass master (e.g. http://127.0.0.1:5050) or a state source');
  }
  // Build the default source now so a bad URL is rejected before any socket is bound.
  const source = options.source ?? createPollingStateSource({ master: options.master!, intervalMs: refreshMs });
  return { domain, listen, ipSources, upstreams, refreshMs, staleAfterMs, ttl, upstreamTimeoutMs, http, source };
}

/**
 * Binds UDP and TCP on `listen`, starts following the master and returns the running server.
 * Until the first state is read, names in the zone get SERVFAIL (use {@link DnsServer.ready}).
 *
 * @throws DnsError `DNS_INVALID_OPTIONS` / `DNS_INVALID_IP_SOURCES` for bad options (nothing is
 *   bound), `DNS_LISTEN_FAILED` when a socket cannot be bound (whatever was bound is closed again).
 */
export async function createDnsServer(options: DnsServerOptions): Promise<DnsServer> {
  const opts = resolveDnsServerOptions(options);
  const log = options.logger ?? createLogger({ component: 'dns' });
  const { domain, ttl, staleAfterMs, source } = opts;

  // --- zone state and metrics ----------------------------------------------------------------
  const state = createZoneState(staleAfterMs);
  const metrics = createDnsMetrics(() => state.confirmedAt);
  const updater: ZoneUpdater = {
    state,
    domain,
    ipSources: opts.ipSources,
    nameserverAddresses: opts.listen.host === '0.0.0.0' || opts.listen.host === '::' ? [] : [opts.listen.host],
    resolveHosts: createHostResolver(options.lookupHost ?? systemLookup, log),
    metrics,
    log,
  };

  // --- forwarding and the query handler -------------------------------------------------------
  const forwarder: Forwarder | undefined =
    opts.upstreams.length > 0 ? createUpstreamForwarder({ upstreams: opts.upstreams, timeoutMs: opts.upstreamTimeoutMs }) : undefined;
  const handle: QueryHandler = createQueryHandler({
    domain,
    ttl,
    zone: () => zoneView(state),
    forwarder,
    onAnswer: metrics.onAnswer,
    onForwardError: (err) => log.debug({ err: (err as Error).message }, 'forwarding failed'),
  });

  // --- sockets --------------------------------------------------------------------------------
  const { udp, tcp, port } = await bindBoth(opts.listen, handle, log);
  let http: StartedHttpServer | undefined;
  if (opts.http) {
    try {
      http = await startHealthAndMetrics(opts.http, state, metrics);
    } catch (err) {
      await closeSockets(udp, tcp);
      throw new DnsError('DNS_LISTEN_FAILED', `cannot serve HTTP on ${formatHostPort(opts.http)}: ${(err as Error).message}`, { cause: err });
    }
  }

  source.start((event) => applyStateEvent(updater, event));
  const address = formatHostPort({ host: opts.listen.host, port });
  log.info(
    { address, domain, source: source.description, ipSources: opts.ipSources, upstreams: forwarder?.upstreams ?? [], httpPort: http?.port },
    'dns server listening',
  );

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await source.close();
      await closeSockets(udp, tcp);
      await http?.close();
      for (const w of state.readyWaiters) w();
      state.readyWaiters.clear();
    })());

  return {
    host: opts.listen.host,
    port,
    address,
    httpPort: http?.port,
    domain,
    status: () => ({
      servable: servable(state),
      updatedAt: state.updatedAt,
      confirmedAt: state.confirmedAt,
      lastError: state.lastError?.message,
      stats: state.zone?.stats,
      serial: state.serial,
    }),
    records: () => state.zone,
    refresh: () => source.refresh(),
    ready: (timeoutMs = 10_000) => ready(state, timeoutMs),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** The `http` endpoint: `/health` (503 until a zone is servable) and `/metrics`. */
function startHealthAndMetrics(at: HostPort, state: ZoneState, metrics: DnsMetrics): Promise<StartedHttpServer> {
  return startHttpServer(at.host, at.port, {
    metrics: metrics.registry,
    health: () => {
      if (!servable(state)) throw new Error(state.zone ? 'the zone is stale: the master has not answered lately' : 'no state read yet');
      return { status: 'ok', serial: state.serial, ...state.zone!.stats };
    },
  });
}

export type { Transport };
