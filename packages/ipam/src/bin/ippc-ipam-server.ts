#!/usr/bin/env -S node --import tsx
// ippc-ipam-server: the IPAM gRPC service with Prometheus metrics.
//
//   node --import tsx packages/ipam/src/bin/ippc-ipam-server.ts [--config FILE] [--listen HOST:PORT]
//        [--http HOST:PORT|""] [--data-dir DIR | --etcd URL[,URL]] [--etcd-prefix P]
//        [--cooldown-seconds N] [--no-fsync] [--no-auth]
//
// Token: IPPC_TOKEN (or the config's auth.token). Prints one JSON line {"grpcPort", "httpPort"} on
// standard output once serving (useful with port 0); logs go to standard error.
import { parseArgs } from 'node:util';
import { createLogger } from '@ippc/core';
import { DEFAULT_CONFIG, loadConfigFile } from '../config.js';
import { isIpamError } from '../errors.js';
import { createIpamServer } from '../server.js';
import { createIpamService } from '../service.js';
import { createEmbeddedStore } from '../store/embedded-store.js';
import { createEtcdStore } from '../store/etcd-store.js';

const log = createLogger({ component: 'ipam' });

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      listen: { type: 'string' },
      http: { type: 'string' },
      'data-dir': { type: 'string' },
      etcd: { type: 'string' },
      'etcd-prefix': { type: 'string' },
      'cooldown-seconds': { type: 'string' },
      'no-fsync': { type: 'boolean' },
      'no-auth': { type: 'boolean' },
    },
  });
  const cfg = values.config ? loadConfigFile(values.config) : { ...DEFAULT_CONFIG };
  if (values.listen !== undefined) cfg.listen = values.listen;
  if (values.http !== undefined) cfg.http = values.http;
  if (values['data-dir']) cfg.store = { type: 'embedded', path: values['data-dir'] };
  if (values['no-fsync'] && cfg.store.type === 'embedded') cfg.store = { ...cfg.store, sync: false };
  if (values.etcd) cfg.store = { type: 'etcd', endpoints: values.etcd.split(','), ...(values['etcd-prefix'] ? { prefix: values['etcd-prefix'] } : {}) };
  if (values['cooldown-seconds'] !== undefined) cfg.cooldownSeconds = Number(values['cooldown-seconds']);
  if (process.env.IPPC_TOKEN) cfg.auth = { token: process.env.IPPC_TOKEN };
  if (values['no-auth']) cfg.auth = { disabled: true };
  if (!cfg.auth) throw new Error('no credentials: set IPPC_TOKEN (or auth.token in the config), or pass --no-auth for local play');

  const store = cfg.store.type === 'etcd' ? createEtcdStore({ endpoints: cfg.store.endpoints, prefix: cfg.store.prefix }) : createEmbeddedStore({ path: cfg.store.path, sync: cfg.store.sync });
  const service = createIpamService({ store, cooldownMs: cfg.cooldownSeconds * 1000, pools: cfg.pools, gcGraceMs: cfg.gcGraceSeconds * 1000, logger: log });
  const server = createIpamServer({ service, auth: cfg.auth, logger: log });
  const grpcPort = await server.listen(cfg.listen);
  await service.ready();
  let httpPort: number | undefined;
  if (cfg.http) {
    const i = cfg.http.lastIndexOf(':');
    httpPort = await server.listenHttp(cfg.http.slice(0, i), Number(cfg.http.slice(i + 1)));
  }
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
  process.stderr.write(`ippc-ipam-server: ${(err as Error).message}\n`);
  process.exit(1);
});
