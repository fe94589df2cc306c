#!/usr/bin/env -S node --import tsx
// ippc-dns: Mesos-DNS-style names for the tasks in a master's state, served over UDP and TCP.
import { Writable } from 'node:stream';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createLogger, isIppcError } from '@ippc/core';
import { createDnsServer, DEFAULT_IP_SOURCES, type DnsServer } from '../index.js';

/** `500ms`, `2s`, `1m`, or a bare number of milliseconds. */
function duration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new InvalidArgumentError('expected a duration such as 500ms, 2s or 1m');
  const n = Number(m[1]);
  return m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n;
}

function list(text: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...text.split(',').map((s) => s.trim()).filter((s) => s !== '')];
}

/** Human-readable log lines from the JSON lines the logger writes (without --json). */
function prettyStderr(): Writable {
  let pending = '';
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      pending += chunk.toString('utf8');
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        try {
          const { time, level, msg, component: _c, pid: _p, ...rest } = JSON.parse(line) as Record<string, unknown>;
          const extras = Object.entries(rest)
            .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
            .join(' ');
          process.stderr.write(`${String(time).slice(11, 19)} ${String(level).padEnd(5)} ${msg}${extras ? `  ${extras}` : ''}\n`);
        } catch {
          process.stderr.write(`${line}\n`);
        }
      }
      done();
    },
  });
}

interface Flags {
  master?: string;
  domain: string;
  listen: string;
  ipSources: string[];
  upstream?: string[];
  refresh: number;
  staleAfter: number;
  ttl: number;
  http?: string;
  json?: boolean;
  logLevel: string;
}

const program = new Command('ippc-dns')
  .description(
    'Serve Mesos-DNS-style names (<task>.<framework>.<domain>, A/AAAA/SRV) for the running tasks in a master\'s /master/state.\n' +
      'Names outside the domain go to --upstream servers, or are REFUSED when there are none.',
  )
  .addOption(new Option('--master <url>', "the master's URL; /master/state is appended when it has no path").env('IPPC_DNS_MASTER'))
  .addOption(new Option('--domain <name>', 'the zone served').default('ippc').env('IPPC_DNS_DOMAIN'))
  .addOption(new Option('--listen <host:port>', 'UDP and TCP address (port 0: a free port)').default('0.0.0.0:53').env('IPPC_DNS_LISTEN'))
  .addOption(
    new Option('--ip-sources <list>', 'where task addresses come from, in order: netinfo, mesos, docker, host')
      .default([...DEFAULT_IP_SOURCES], DEFAULT_IP_SOURCES.join(','))
      .argParser((v: string) => list(v, undefined))
      .env('IPPC_DNS_IP_SOURCES'),
  )
  .addOption(new Option('--upstream <ip[:port]>', 'forward names outside the domain here (repeat, or comma-separate); default none').argParser(list).env('IPPC_DNS_UPSTREAM'))
  .addOption(new Option('--refresh <duration>', 'how often to poll the master').default(2000, '2s').argParser(duration).env('IPPC_DNS_REFRESH'))
  .addOption(new Option('--stale-after <duration>', 'SERVFAIL for the domain when the master has not answered for this long; 0: never').default(60_000, '60s').argParser(duration))
  .addOption(new Option('--ttl <seconds>', 'TTL of answers and of negative answers').default(5).argParser((v: string) => Number(v)))
  .addOption(new Option('--http <host:port>', 'serve /health and /metrics here; default off').env('IPPC_DNS_HTTP'))
  .option('--json', 'log JSON lines (default: readable lines); the ready line on standard output is JSON too')
  .addOption(new Option('--log-level <level>', 'trace, debug, info, warn, error').default(process.env.IPPC_LOG_LEVEL ?? 'info'))
  .showHelpAfterError()
  .action(async (flags: Flags) => {
    const log = createLogger({ component: 'dns', level: flags.logLevel, ...(flags.json ? {} : { destination: prettyStderr() }) });
    let server: DnsServer;
    try {
      server = await createDnsServer({
        master: flags.master,
        domain: flags.domain,
        listen: flags.listen,
        ipSources: flags.ipSources,
        upstreams: flags.upstream ?? [],
        refreshMs: flags.refresh,
        staleAfterMs: flags.staleAfter,
        ttl: flags.ttl,
        http: flags.http,
        logger: log,
      });
    } catch (err) {
      if (isIppcError(err)) {
        const hint = err.code === 'DNS_INVALID_IP_SOURCES' ? ' (--ip-sources takes a comma-separated list of netinfo, mesos, docker, host)' : '';
        if (flags.json) console.error(JSON.stringify({ error: err.toJSON() }));
        else console.error(`ippc-dns: ${err.message}${hint}`);
        process.exit(err.code === 'DNS_LISTEN_FAILED' ? 1 : 2);
      }
      throw err;
    }
    const ready = { event: 'listening', address: server.address, port: server.port, domain: server.domain, httpPort: server.httpPort ?? null };
    console.log(flags.json ? JSON.stringify(ready) : `ippc-dns listening on ${server.address} (udp, tcp) for ${server.domain}.`);
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping');
      server.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });

await program.parseAsync(process.argv);
