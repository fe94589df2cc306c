import { createGrpcServer, createMetricsRegistry, silentLogger, type AuthConfig, type IppcGrpcServer, type Logger } from '@ippc/core';
import { isolationv1 as pb } from '@ippc/proto';
import type { Registry } from 'prom-client';
import { createIsolationHandlers, type RpcContext } from './handlers.js';
import { createServiceMetrics } from './metrics.js';
import { createPolicyStore, type PolicyStore, type PolicyStoreOptions } from './store/store.js';

/** The gRPC service name, as the health service reports it. */
export const ISOLATION_SERVICE_NAME = 'ippc.isolation.v1.Isolation';

export interface IsolationServiceOptions extends PolicyStoreOptions {
  /** Shared-secret auth for every call but health (see `@ippc/core` createGrpcServer). Required. */
  auth: AuthConfig;
  /** Registry for the service's metrics. Default: a new one with Node's process metrics. */
  metrics?: Registry;
  logger?: Logger;
  /**
   * Bytes buffered for one watch stream before the service drops it as too slow (the agent then
   * reconnects and gets a fresh snapshot instead of an ever-growing backlog). Default 32 MiB.
   */
  maxWatchBacklogBytes?: number;
  /** Longest AwaitApplied wait a caller may ask for. Default 60 s. */
  maxAwaitMs?: number;
}

export interface IsolationService {
  readonly store: PolicyStore;
  readonly metrics: Registry;
  readonly grpc: IppcGrpcServer;
  /** Binds (`host:port`, port 0 for any, or `unix:/path`) and serves; returns the port (0 for unix). */
  listen(address: string): Promise<number>;
  /** Ends watch streams, stops the server and flushes the state file. */
  close(): Promise<void>;
}

/**
 * Creates the isolation service: the policy store behind a gRPC server with auth and health.
 *
 * @example
 * ```ts
 * const service = await createIsolationService({ auth: { token }, dataFile: '/var/lib/ippc/isolation.json' });
 * const port = await service.listen('0.0.0.0:7070');
 * ```
 */
export async function createIsolationService(options: IsolationServiceOptions): Promise<IsolationService> {
  const log = options.logger ?? silentLogger();
  const store = await createPolicyStore(options);
  const registry = options.metrics ?? createMetricsRegistry('isolation');
  const { requests } = createServiceMetrics(registry, store);
  const ctx: RpcContext = {
    store,
    log,
    requests,
    maxBacklog: options.maxWatchBacklogBytes ?? 32 * 1024 * 1024,
    maxAwaitMs: options.maxAwaitMs ?? 60_000,
    openStreams: new Set(),
  };

  const grpc = createGrpcServer({ auth: options.auth, healthServices: [ISOLATION_SERVICE_NAME] });
  grpc.server.addService(pb.IsolationService, createIsolationHandlers(ctx));

  return {
    store,
    metrics: registry,
    grpc,
    async listen(address) {
      const port = await grpc.listen(address);
      grpc.setHealth(ISOLATION_SERVICE_NAME, 'SERVING');
      log.info({ address, port, epoch: store.epoch, revision: store.revision }, 'isolation service listening');
      return port;
    },
    async close() {
      grpc.setHealth(ISOLATION_SERVICE_NAME, 'NOT_SERVING');
      for (const call of [...ctx.openStreams]) call.end();
      await grpc.close(1_000);
      await store.close();
    },
  };
}
