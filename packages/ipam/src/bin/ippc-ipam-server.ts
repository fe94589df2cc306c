#!/usr/bin/env -S node --import tsx
// ippc-ipam-server: the IPAM gRPC service with Prometheus metrics.
//
//   node --import tsx packages/ipam/src/bin/ippc-ipam-server.ts [--config=FILE] [--listen=HOST:PORT]
//        [--http=HOST:PORT|off] [--data_dir=DIR | --etcd=URL[,URL]] [--etcd_prefix=P]
//        [--cooldown=30secs] [--no_fsync] [--token_file=PATH | --no_auth] [--logging_level=INFO]
//
// Flags over environment over file over defaults: the flags override the config file; the token is
// --token_file's, else IPPC_TOKEN, else the config's auth.token. Prints one JSON line
// {"grpcPort", "httpPort"} on standard output once serving (useful with port 0); logs go to
// standard error.
import { Option } from 'commander';
import {
  FlagError,
  checkedOption,
  createDaemonCommand,
  createLogger,
  daemonAuth,
  exitBadFlag,
  listenAddress,
  listenOption,
  loggerLevel,
  loggingLevelOption,
  noAuthOption,
  tokenFileOption,
} from '@ippc/core';
import { parseDuration } from '@ippc/mesos';
import { DEFAULT_CONFIG, loadConfigFile } from '../config.js';
import { isIpamError } from '../errors.js';
import { createIpamServer } from '../server.js';
import { createIpamService } from '../service.js';
import { createEmbeddedStore } from '../store/embedded-store.js';
import { createEtcdStore } from '../store/etcd-store.js';

const program = createDaemonCommand('ippc-ipam-server', 'The ippc IPAM service: pools, leases and their store over gRPC; /metrics and /health over HTTP.')
  .addOption(new Option('--config <file>', 'service config file (JSON); the flags below override it'))
  .addOption(
    listenOption('--listen <address>', `gRPC address, host:port or unix:/path (default: the config's listen, else ${DEFAULT_CONFIG.listen})`, { unix: true }),
  )
  .addOption(
    listenOption('--http <host:port>', `HTTP address of /metrics and /health, 'off' to disable (default: the config's http, else ${DEFAULT_CONFIG.http})`, {
      off: true,
    }),
  )
  .addOption(new Option('--data_dir <dir>', "embedded store in this folder (default: the config's store, else /var/lib/ippc/ipam)"))
  .addOption(new Option('--etcd <urls>', 'etcd store at these comma-separated endpoints (wins over --data_dir)'))
  .addOption(new Option('--etcd_prefix <prefix>', 'with --etcd: key prefix (default: /ippc/ipam/)'))
  .addOption(
    checkedOption(
      '--cooldown <duration>',
      `default cool-down of released addresses (default: the config's cooldownSeconds, else ${DEFAULT_CONFIG.cooldownSeconds}secs)`,
      parseDuration,
    ),
  )
  .addOption(new Option('--no_fsync', 'embedded store: no fsync per commit (survives a crash of the service, not of the machine)').default(false))
  .addOption(tokenFileOption("file holding the shared secret (else env IPPC_TOKEN, else the config's auth.token)"))
  .addOption(noAuthOption('accept calls without the shared secret (local play only)'))
  .addOption(loggingLevelOption());

interface Flags {
  config?: string;
  listen?: string;
  http?: string;
  data_dir?: string;
  etcd?: string;
  etcd_prefix?: string;
  cooldown?: string;
  no_fsync: boolean;
  token_file?: string;
  no_auth: boolean;
  logging_level: string;
}

program.parse();
const flags = program.opts<Flags>();
const log = createLogger({ component: 'ipam', level: loggerLevel(flags.logging_level) });

async function main(): Promise<void> {
  const cfg = flags.config ? loadConfigFile(flags.config) : { ...DEFAULT_CONFIG };
  if (flags.listen !== undefined) cfg.listen = flags.listen;
  if (flags.http !== undefined) cfg.http = flags.http === 'off' ? '' : flags.http;
  if (flags.data_dir) cfg.store = { type: 'embedded', path: flags.data_dir };
  if (flags.no_fsync && cfg.store.type === 'embedded') cfg.store = { ...cfg.store, sync: false };
  if (flags.etcd) cfg.store = { type: 'etcd', endpoints: flags.etcd.split(','), ...(flags.etcd_prefix ? { prefix: flags.etcd_prefix } : {}) };
  if (flags.cooldown !== undefined) cfg.cooldownSeconds = parseDuration(flags.cooldown) / 1000;
  cfg.auth = daemonAuth(flags, { ...(cfg.auth ? { fallback: cfg.auth } : {}), fallbackHint: 'auth.token in the --config file' });

  const store =
    cfg.store.type === 'etcd'
      ? createEtcdStore({ endpoints: cfg.store.endpoints, prefix: cfg.store.prefix })
      : createEmbeddedStore({ path: cfg.store.path, sync: cfg.store.sync });
  const service = createIpamService({ store, cooldownMs: cfg.cooldownSeconds * 1000, pools: cfg.pools, gcGraceMs: cfg.gcGraceSeconds * 1000, logger: log });
  const server = createIpamServer({ service, auth: cfg.auth, logger: log });
  const grpcPort = await server.listen(cfg.listen);
  await service.ready();
  let httpPort: number | undefined;
  const http = listenAddress(cfg.http || undefined);
  if (http) httpPort = await server.listenHttp(http.host, http.port);
  process.stdout.write(JSON.stringify({ grpcPort, httpPort: httpPort ?? null, store: store.kind }) + '\n');
  log.info({ grpcPort, httpPort, store: store.kind }, 'IPAM serving');
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await server.close();
    await service.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

main().catch((err: unknown) => {
  log.error({ err: isIpamError(err) ? err.toJSON() : { message: (err as Error).message } }, 'ippc-ipam-server failed to start');
  if (err instanceof FlagError) exitBadFlag(program, err.message);
  process.stderr.write(`ippc-ipam-server: ${(err as Error).message}\n`);
  process.exit(1);
});
