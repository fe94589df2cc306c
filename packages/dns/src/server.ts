/**
 * The DNS server: UDP and TCP sockets on one address, a zone rebuilt from the master's state, and
 * optionally an HTTP endpoint for health and metrics.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { createServer as createTcpServer, isIP, type Server as TcpServer, type Socket } from 'node:net';
import { createLogger, startHttpServer, type Logger, type StartedHttpServer } from '@ippc/core';
import { Counter, Gauge, Registry } from 'prom-client';
import { formatHostPort, parseHostPort, type HostPort } from './addresses.js';
import { DnsError } from './errors.js';
import { createUpstreamForwarder, type Forwarder, type Transport } from './forwarder.js';
import { DEFAULT_IP_SOURCES, validateIpSources, type IpSource, type ParsedIp, parseIp } from './ip-sources.js';
import { canonicalName, MAX_LABEL_LENGTH } from './labels.js';
import type { MesosState } from './mesos-state.js';
import { buildRecords, collectHostnames, type RecordSet, type RecordStats } from './records.js';
import { createQueryHandler, type QueryHandler, type ZoneView } from './resolver.js';
import { createPollingStateSource, DEFAULT_REFRESH_MS, type StateEvent, type StateSource } from './state-source.js';

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
    throw new DnsError('DNS_INVALID_OPTIONS', `domain ${JSON.stringify(options.domain)} is not a valid DNS name: use letters, digits and hyphens, e.g. ippc or mesos.internal`);
  }
  const listen = parseHostPort(options.listen ?? '0.0.0.0:53', 'listen address');
  if (isIP(listen.host) === 0) throw new DnsError('DNS_INVALID_OPTIONS', `listen address ${JSON.stringify(options.listen)} must be an IP address, e.g. 127.0.0.1:53`);
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

async function systemLookup(host: string): Promise<ParsedIp[]> {
  const found = await lookup(host, { all: true });
  return found.map((f) => parseIp(f.address)).filter((p): p is ParsedIp => p !== undefined);
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
  const lookupHost = options.lookupHost ?? systemLookup;
  const { domain, ttl, staleAfterMs, source } = opts;

  // --- metrics ------------------------------------------------------------------------------
  const registry = new Registry();
  registry.setDefaultLabels({ component: 'dns' });
  const queries = new Counter({ name: 'ippc_dns_queries_total', help: 'DNS messages answered, by rcode and transport', labelNames: ['rcode', 'transport', 'forwarded'], registers: [registry] });
  const queryCounters = new Map<string, { inc(): void }>();
  const updates = new Counter({ name: 'ippc_dns_state_reads_total', help: 'Reads of the master state, by result', labelNames: ['result'], registers: [registry] });
  const recordsGauge = new Gauge({ name: 'ippc_dns_records', help: 'A, AAAA and SRV records in the zone', registers: [registry] });
  const ageGauge = new Gauge({
    name: 'ippc_dns_state_age_seconds',
    help: 'Seconds since the master last answered',
    registers: [registry],
    collect() {
      this.set(confirmedAt === undefined ? -1 : (Date.now() - confirmedAt) / 1000);
    },
  });
  void ageGauge;

  // --- zone state ---------------------------------------------------------------------------
  let zone: RecordSet | undefined;
  let serial = 0;
  let updatedAt: number | undefined;
  let confirmedAt: number | undefined;
  let lastError: DnsError | undefined;
  let generation = 0;
  const hostCache = new Map<string, { ips: ParsedIp[]; at: number }>();
  const readyWaiters = new Set<() => void>();
  const servable = () => zone !== undefined && confirmedAt !== undefined && (staleAfterMs === 0 || Date.now() - confirmedAt <= staleAfterMs);
  const view = (): ZoneView => ({ records: zone, servable: servable(), serial });

  const nameserverAddresses = opts.listen.host === '0.0.0.0' || opts.listen.host === '::' ? [] : [opts.listen.host];

  async function resolveHosts(state: MesosState): Promise<Map<string, ParsedIp[]>> {
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
  }

  async function apply(event: StateEvent): Promise<void> {
    switch (event.kind) {
      case 'state': {
        const mine = ++generation;
        const started = performance.now();
        const hostAddresses = await resolveHosts(event.state);
        if (mine !== generation) return; // a newer state overtook this one
        let built: RecordSet;
        try {
          built = buildRecords(event.state, { domain, ipSources: opts.ipSources, hostAddresses, nameserverAddresses });
        } catch (err) {
          // Should not happen (the builder skips what it cannot read), but never lose the last good zone.
          lastError = new DnsError('DNS_STATE_INVALID', `cannot build the zone from the master's state: ${(err as Error).message}`, { cause: err });
          updates.inc({ result: 'error' });
          log.error({ err: lastError.toJSON() }, 'cannot build the zone; keeping the last good one');
          return;
        }
        zone = built;
        serial = Math.max(serial + 1, Math.floor(Date.now() / 1000));
        updatedAt = event.at;
        confirmedAt = event.at;
        recordsGauge.set(built.stats.records);
        updates.inc({ result: 'changed' });
        for (const w of built.warnings) log.warn(w);
        if (lastError) log.info('the master state is readable again');
        lastError = undefined;
        log.info({ ...built.stats, serial, buildMs: Math.round(performance.now() - started) }, 'zone updated');
        for (const w of readyWaiters) w();
        return;
      }
      case 'unchanged':
        confirmedAt = event.at;
        updates.inc({ result: 'unchanged' });
        if (lastError) log.info('the master state is readable again');
        lastError = undefined;
        return;
      case 'error':
        updates.inc({ result: 'error' });
        // Log the first failure loudly and repeats quietly, so a down master does not flood the log.
        if (!lastError || lastError.message !== event.error.message) {
          log.warn({ err: event.error.toJSON(), serving: zone ? 'last good state' : 'SERVFAIL' }, 'cannot read the master state');
        } else log.debug({ err: event.error.toJSON() }, 'cannot read the master state');
        lastError = event.error;
        return;
    }
  }

  // --- forwarding and the query handler -------------------------------------------------------
  const forwarder: Forwarder | undefined =
    opts.upstreams.length > 0 ? createUpstreamForwarder({ upstreams: opts.upstreams, timeoutMs: opts.upstreamTimeoutMs }) : undefined;
  const handle: QueryHandler = createQueryHandler({
    domain,
    ttl,
    zone: view,
    forwarder,
    onAnswer: ({ rcode, transport, forwarded }) => {
      // Bound children are cached: prom-client hashes a label object on every inc() otherwise.
      const key = `${rcode}|${transport}|${forwarded}`;
      let child = queryCounters.get(key);
      if (!child) queryCounters.set(key, (child = queries.labels(rcode, transport, String(forwarded))));
      child.inc();
    },
    onForwardError: (err) => log.debug({ err: (err as Error).message }, 'forwarding failed'),
  });

  // --- sockets --------------------------------------------------------------------------------
  const { udp, tcp, port } = await bindBoth(opts.listen, handle, log);
  let http: StartedHttpServer | undefined;
  if (opts.http) {
    try {
      http = await startHttpServer(opts.http.host, opts.http.port, {
        metrics: registry,
        health: () => {
          if (!servable()) throw new Error(zone ? 'the zone is stale: the master has not answered lately' : 'no state read yet');
          return { status: 'ok', serial, ...zone!.stats };
        },
      });
    } catch (err) {
      await closeSockets(udp, tcp);
      throw new DnsError('DNS_LISTEN_FAILED', `cannot serve HTTP on ${formatHostPort(opts.http)}: ${(err as Error).message}`, { cause: err });
    }
  }

  source.start(apply);
  const address = formatHostPort({ host: opts.listen.host, port });
  log.info({ address, domain, source: source.description, ipSources: opts.ipSources, upstreams: forwarder?.upstreams ?? [], httpPort: http?.port }, 'dns server listening');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await source.close();
      await closeSockets(udp, tcp);
      await http?.close();
      for (const w of readyWaiters) w();
      readyWaiters.clear();
    })());

  return {
    host: opts.listen.host,
    port,
    address,
    httpPort: http?.port,
    domain,
    status: () => ({ servable: servable(), updatedAt, confirmedAt, lastError: lastError?.message, stats: zone?.stats, serial }),
    records: () => zone,
    refresh: () => source.refresh(),
    ready(timeoutMs = 10_000) {
      if (zone) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          readyWaiters.delete(done);
          if (zone) resolve();
          else reject(lastError ?? new DnsError('DNS_STATE_UNAVAILABLE', 'the server closed before a state was read'));
        };
        const timer = setTimeout(() => {
          readyWaiters.delete(done);
          reject(lastError ?? new DnsError('DNS_STATE_UNAVAILABLE', `no master state read within ${timeoutMs} ms`));
        }, timeoutMs);
        readyWaiters.add(done);
      });
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Binds UDP then TCP to the same port; with port 0, retries until both get the same free port. */
async function bindBoth(listen: HostPort, handle: QueryHandler, log: Logger): Promise<{ udp: UdpSocket; tcp: TcpServer; port: number }> {
  const attempts = listen.port === 0 ? 10 : 1;
  let lastErr: unknown;
  for (let i = 0; i < attempts; i++) {
    const udp = createSocket({ type: isIP(listen.host) === 6 ? 'udp6' : 'udp4' });
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(listen.port, listen.host, () => {
          udp.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      lastErr = err;
      udp.close();
      break;
    }
    const port = udp.address().port;
    const tcp = createTcpServer({ noDelay: true });
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(port, listen.host, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      lastErr = err;
      await closeSockets(udp, undefined);
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempts > 1) continue;
      break;
    }
    serveUdp(udp, handle, log);
    serveTcp(tcp, handle, log);
    return { udp, tcp, port };
  }
  throw new DnsError(
    'DNS_LISTEN_FAILED',
    `cannot listen on ${formatHostPort(listen)} (UDP and TCP): ${(lastErr as Error)?.message}; pick another --listen address or free the port`,
    { cause: lastErr },
  );
}

function serveUdp(udp: UdpSocket, handle: QueryHandler, log: Logger): void {
  udp.on('error', (err) => log.error({ err: err.message }, 'UDP socket error'));
  udp.on('message', (msg, rinfo) => {
    handle(msg, 'udp').then(
      (answer) => answer && udp.send(answer, rinfo.port, rinfo.address),
      (err: unknown) => log.error({ err: (err as Error).message }, 'query failed'),
    );
  });
}

/** Idle TCP connections are closed after this long (RFC 7766 suggests seconds). */
const TCP_IDLE_MS = 10_000;
const TCP_MAX_CONNECTIONS = 512;

/** Open client connections per server, so close() can end them instead of waiting for clients. */
const tcpConnections = new WeakMap<TcpServer, Set<Socket>>();

function serveTcp(tcp: TcpServer, handle: QueryHandler, log: Logger): void {
  const connections = new Set<Socket>();
  tcpConnections.set(tcp, connections);
  tcp.maxConnections = TCP_MAX_CONNECTIONS;
  tcp.on('error', (err) => log.error({ err: err.message }, 'TCP server error'));
  tcp.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      // Each message is preceded by its 2-byte length (RFC 1035 §4.2.2); clients may pipeline.
      while (buffered.length >= 2) {
        const size = buffered.readUInt16BE(0);
        if (buffered.length < 2 + size) break;
        const msg = Buffer.from(buffered.subarray(2, 2 + size));
        buffered = buffered.subarray(2 + size);
        handle(msg, 'tcp').then(
          (answer) => {
            if (!answer || socket.destroyed) return;
            const len = Buffer.alloc(2);
            len.writeUInt16BE(answer.length);
            socket.write(Buffer.concat([len, answer]));
          },
          (err: unknown) => log.error({ err: (err as Error).message }, 'query failed'),
        );
      }
    });
  });
}

async function closeSockets(udp: UdpSocket | undefined, tcp: TcpServer | undefined): Promise<void> {
  if (udp) await new Promise<void>((resolve) => udp.close(() => resolve())).catch(() => undefined);
  if (tcp) {
    // End open client connections too, or close() would wait for clients to hang up.
    await new Promise<void>((resolve) => {
      tcp.close(() => resolve());
      for (const socket of tcpConnections.get(tcp) ?? []) socket.destroy();
    });
  }
}

export type { Transport };
