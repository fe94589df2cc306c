#!/usr/bin/env -S node --import tsx
// ippc-isolation-server: the isolation service (policy, membership, routes) over gRPC, with
// Prometheus metrics and /health on a small HTTP listener.
import { Command } from 'commander';
import { createLogger, startHttpServer } from '@ippc/core';
import { createIsolationService } from '../service/service.js';
import { authFrom, hostPort } from './options.js';

const program = new Command('ippc-isolation-server')
  .description('the ippc isolation provider service: groups, rules, members, routes; agents watch it')
  .option('--listen <address>', 'gRPC address (host:port, or unix:/path)', '0.0.0.0:7070')
  .option('--metrics-listen <host:port>', "HTTP address for /metrics and /health ('off' to disable)", '0.0.0.0:7071')
  .option('--data-file <file>', 'keep the state in this JSON file (default: in memory only)')
  .option('--token <token>', 'cluster token (default: IPPC_TOKEN)')
  .option('--no-auth', 'accept calls without a token (local play only)')
  .action(async (opts: { listen: string; metricsListen: string; dataFile?: string; token?: string; auth?: boolean }) => {
    const log = createLogger({ component: 'isolation' });
    const service = await createIsolationService({ auth: authFrom(opts), dataFile: opts.dataFile, logger: log });
    const port = await service.listen(opts.listen);
    let http: Awaited<ReturnType<typeof startHttpServer>> | undefined;
    if (opts.metricsListen !== 'off') {
      const [host, mport] = hostPort(opts.metricsListen);
      http = await startHttpServer(host, mport, { metrics: service.metrics, health: () => ({ status: 'ok', revision: service.store.revision, epoch: service.store.epoch }) });
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
  console.error(`ippc-isolation-server: ${(err as Error).message}`);
  process.exit(1);
});
