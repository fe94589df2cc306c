#!/usr/bin/env -S node --import tsx
// ippc-dns: Mesos-DNS-style names for the tasks in a master's state, served over UDP and TCP.
import { Writable } from 'node:stream';
import { Option } from 'commander';
import { checkedOption, createDaemonCommand, createLogger, isIppcError, listenOption, loggerLevel, loggingLevelOption } from '@ippc/core';
import { parseDuration } from '@ippc/mesos';
import { createDnsServer, DEFAULT_IP_SOURCES, type DnsServer } from '../index.js';

function list(text: string, previous: string[] | undefined): string[] {
  return [
    ...(previous ?? []),
    ...text
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  ];
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
  ip_sources: string[];
  upstream?: string[];
  refresh: string;
  stale_after: string;
  ttl: number;
  http?: string;
  json?: boolean;
  logging_level: string;
}

const program = createDaemonCommand(
  'ippc-dns',
  "Serve Mesos-DNS-style names (<task>.<framework>.<domain>, A/AAAA/SRV) for the running tasks in a master's /master/state.\n" +
    'Names outside the domain go to --upstream servers, or are REFUSED when there are none.',
)
  .addOption(new Option('--master <url>', "the master's URL; /master/state is appended when it has no path").env('IPPC_DNS_MASTER'))
  .addOption(new Option('--domain <name>', 'the zone served').default('ippc').env('IPPC_DNS_DOMAIN'))
  .addOption(listenOption('--listen <host:port>', 'UDP and TCP address (port 0: a free port)').default('0.0.0.0:53').env('IPPC_DNS_LISTEN'))
  .addOption(
    new Option('--ip_sources <list>', 'where task addresses come from, in order: netinfo, mesos, docker, host')
      .default([...DEFAULT_IP_SOURCES], DEFAULT_IP_SOURCES.join(','))
      .argParser((v: string) => list(v, undefined))
      .env('IPPC_DNS_IP_SOURCES'),
  )
  .addOption(
    new Option('--upstream <ip[:port]>', 'forward names outside the domain here (repeat, or comma-separate); default none')
      .argParser(list)
      .env('IPPC_DNS_UPSTREAM'),
  )
  .addOption(checkedOption('--refresh <duration>', 'how often to poll the master', parseDuration).default('2secs').env('IPPC_DNS_REFRESH'))
  .addOption(
    checkedOption('--stale_after <duration>', 'SERVFAIL for the domain when the master has not answered for this long; 0secs: never', parseDuration).default(
      '60secs',
    ),
  )
  .addOption(new Option('--ttl <seconds>', 'TTL of answers and of negative answers').default(5).argParser((v: string) => Number(v)))
  .addOption(listenOption('--http <host:port>', 'serve /health and /metrics here; default off', { off: true }).env('IPPC_DNS_HTTP'))
  .option('--json', 'log JSON lines (default: readable lines); the ready line on standard output is JSON too')
  .addOption(loggingLevelOption())
  .action(async (flags: Flags) => {
    const log = createLogger({ component: 'dns', level: loggerLevel(flags.logging_level), ...(flags.json ? {} : { destination: prettyStderr() }) });
    let server: DnsServer;
    try {
      server = await createDnsServer({
        master: flags.master,
        domain: flags.domain,
        listen: flags.listen,
        ipSources: flags.ip_sources,
        upstreams: flags.upstream ?? [],
        refreshMs: parseDuration(flags.refresh),
        staleAfterMs: parseDuration(flags.stale_after),
        ttl: flags.ttl,
        http: flags.http === 'off' ? undefined : flags.http,
        logger: log,
      });
    } catch (err) {
      if (isIppcError(err)) {
        const hint = err.code === 'DNS_INVALID_IP_SOURCES' ? ' (--ip_sources takes a comma-separated list of netinfo, mesos, docker, host)' : '';
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
