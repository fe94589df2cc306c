import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createNetServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGrpcServer, createHttpRouter, createLogger, createMetricsRegistry, type AuthConfig, type IppcGrpcServer, type Logger } from '@ippc/core';
import type { Credential, HttpAccess } from '@ippc/mesos';
import { agentv1, schedulerv1 } from '@ippc/proto';
import type { Registry } from 'prom-client';
import { MasterError } from './errors.js';
import { masterRoutes } from './http/endpoints.js';
import { registerMasterMetrics } from './http/metrics.js';
import { operatorApi } from './http/operator-api.js';
import { schedulerApi } from './http/scheduler-api.js';
import { shareOnePort } from './http/one-port.js';
import { Master, type MasterOptions } from './master.js';
import { agentsService, schedulerService } from './services.js';

// startMaster: the master on one port (http/one-port.ts), its gRPC services (services.ts), its
// HTTP endpoints (http/endpoints.ts), Mesos's scheduler HTTP API (http/scheduler-api.ts) and its
// operator HTTP API (http/operator-api.ts).

const V1_SCHEDULER = new Set(['/api/v1/scheduler', '/api/v1/scheduler/']);
const V1_OPERATOR = new Set(['/api/v1', '/api/v1/']);

export interface StartMasterOptions extends Omit<MasterOptions, 'ip' | 'port' | 'log'> {
  /** Address to listen on. Default `127.0.0.1`. */
  ip?: string;
  /** Default 5050 (Mesos); 0 picks a free port. */
  port?: number;
  /** Address advertised in `pid` and state when listening on 0.0.0.0. Default: `ip`. */
  advertiseIp?: string;
  /** The shared secret frameworks and agents must present, or `{ disabled: true }` explicitly. */
  auth: AuthConfig;
  /** Principals and secrets for HTTP Basic on the HTTP APIs (Mesos's `--credentials`), beside the token. */
  credentials?: Credential[];
  /** Require credentials on the read-only endpoints too (`/master/state`, `/master/tasks`, ...), as Mesos's `--authenticate_http_readonly`. Default false. */
  authenticateHttpReadonly?: boolean;
  log?: Logger;
  /** Longest `timeout` a long-poll of `/master/state?since=N` may ask for. Default 300 s. */
  maxWatchSeconds?: number;
}

export interface StartedMaster {
  master: Master;
  /** The bound port. */
  port: number;
  /** `ip:port` for gRPC clients (frameworks, agents). */
  address: string;
  /** `http://ip:port` for the HTTP endpoints. */
  url: string;
  metrics: Registry;
  close(): Promise<void>;
}

/**
 * Starts a master: listens, serves the framework API and the agents' channel over gRPC and the
 * state endpoints over HTTP on the same port. `close()` ends every stream and stops listening.
 */
export async function startMaster(options: StartMasterOptions): Promise<StartedMaster> {
  const log = options.log ?? createLogger({ component: 'master' });
  const ip = options.ip ?? '127.0.0.1';
  if (!options.auth) throw new MasterError('MASTER_CONFIG_INVALID', 'the master needs auth: a token, or { disabled: true } explicitly');
  const net = await listen(ip, options.port ?? 5050);
  const address = net.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 5050);
  const advertise = options.advertiseIp ?? (ip === '0.0.0.0' ? '127.0.0.1' : ip);
  const master = new Master({ ...options, ip: advertise, port, log });

  const privateDir = mkdtempSync(join(tmpdir(), 'ippc-master-'));
  const grpcSocket = join(privateDir, 'grpc.sock');
  const grpcServer = await startGrpc(master, options.auth, grpcSocket, log);
  const metrics = createMetricsRegistry('master');
  registerMasterMetrics(metrics, master);
  const access: HttpAccess = { auth: options.auth, ...(options.credentials ? { credentials: options.credentials } : {}) };
  const router = createHttpRouter(masterRoutes(master, metrics, options.maxWatchSeconds ?? 300, options.authenticateHttpReadonly ? access : undefined));
  const scheduler = schedulerApi(master, { access, log });
  const operator = operatorApi(master, { access, log });
  // The v1 APIs take POSTs; everything else is the read-only router's.
  const http = createHttpServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (V1_SCHEDULER.has(path)) scheduler(req, res);
    else if (V1_OPERATOR.has(path)) operator(req, res);
    else router(req, res);
  });
  http.keepAliveTimeout = 5_000;
  const sockets = shareOnePort(net, grpcSocket, http);

  log.info({ address: `${advertise}:${port}`, id: master.id, auth: 'disabled' in options.auth ? 'disabled' : 'token' }, 'master listening');
  let closing: Promise<void> | undefined;
  return {
    master,
    port,
    address: `${advertise}:${port}`,
    url: `http://${advertise}:${port}`,
    metrics,
    close: () =>
      (closing ??= (async () => {
        master.stop();
        await grpcServer.close(500);
        http.closeAllConnections();
        for (const s of sockets) s.destroy();
        await new Promise<void>((resolve) => net.close(() => resolve()));
        rmSync(privateDir, { recursive: true, force: true });
      })()),
  };
}

async function listen(ip: string, port: number): Promise<Server> {
  const net = createNetServer();
  await new Promise<void>((resolve, reject) => {
    net.once('error', (err) => reject(new MasterError('MASTER_CONFIG_INVALID', `cannot listen on ${ip}:${port}: ${err.message}`, { cause: err })));
    net.listen(port, ip, () => resolve());
  });
  return net;
}

/** The framework API and the agents' channel, with gRPC health, on the private unix socket. */
async function startGrpc(master: Master, auth: AuthConfig, grpcSocket: string, log: Logger): Promise<IppcGrpcServer> {
  const grpcServer = createGrpcServer({
    auth,
    healthServices: ['ippc.master.v1.Scheduler', 'ippc.master.v1.Agents'],
    options: {
      // Find dead peers (an agent killed with -9, a scheduler on a lost host) without waiting for TCP.
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
    },
  });
  grpcServer.server.addService(schedulerv1.SchedulerService, schedulerService(master, log));
  grpcServer.server.addService(agentv1.AgentsService, agentsService(master, log));
  await grpcServer.listen(`unix:${grpcSocket}`);
  grpcServer.setHealth('ippc.master.v1.Scheduler', 'SERVING');
  grpcServer.setHealth('ippc.master.v1.Agents', 'SERVING');
  return grpcServer;
}
