#!/usr/bin/env -S node --import tsx
// ippc-isolation-server: the isolation service (policy, membership, routes) over gRPC, with
// Prometheus metrics and /health on a small HTTP listener.
import { Option } from 'commander';
import {
  FlagError,
  createDaemonCommand,
  createLogger,
  daemonAuth,
  exitBadFlag,
  listenAddress,
  listenOption,
  loggerLevel,
  loggingLevelOption,
  noAuthOption,
  startHttpServer,
  tokenFileOption,
} from '@ippc/core';
import { createIsolationService } from '../service/service.js';

const program = createDaemonCommand('ippc-isolation-server', 'the ippc isolation provider service: groups, rules, members, routes; agents watch it')
  .addOption(listenOption('--listen <address>', 'gRPC address (host:port, or unix:/path)', { unix: true }).default('0.0.0.0:7070'))
  .addOption(listenOption('--metrics_listen <host:port>', "HTTP address for /metrics and /health ('off' to disable)", { off: true }).default('0.0.0.0:7071'))
  .addOption(new Option('--data_file <file>', 'keep the state in this JSON file (default: in memory only)'))
  .addOption(tokenFileOption())
  .addOption(noAuthOption('accept calls without the shared secret (local play only)'))
  .addOption(loggingLevelOption())
  .action(async (opts: { listen: string; metrics_listen: string; data_file?: string; token_file?: string; no_auth: boolean; logging_level: string }) => {
    const log = createLogger({ component: 'isolation', level: loggerLevel(opts.logging_level) });
    const service = await createIsolationService({ auth: daemonAuth(opts), dataFile: opts.data_file, logger: log });
    const port = await service.listen(opts.listen);
    let http: Awaited<ReturnType<typeof startHttpServer>> | undefined;
    const metricsListen = listenAddress(opts.metrics_listen);
    if (metricsListen) {
      http = await startHttpServer(metricsListen.host, metricsListen.port, {
        metrics: service.metrics,
        health: () => ({ status: 'ok', revision: service.store.revision, epoch: service.store.epoch }),
      });
    }
    // One line on stdout for whoever started us (tests, the testbed): where to connect.
    console.log(JSON.stringify({ ready: true, port, metricsPort: http?.port ?? null }));
    const stop = async () => {
      await service.close();
      await http?.close();
      process.exit(0);
    };
    process.on('SIGTERM', () => void stop());
    process.on('SIGINT', () => void stop());
  });

program.parseAsync().catch((err: unknown) => {
  if (err instanceof FlagError) exitBadFlag(program, err.message);
  console.error(`ippc-isolation-server: ${(err as Error).message}`);
  process.exit(1);
});
