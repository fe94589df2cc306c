import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as connectUnix, createServer as createNetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGrpcServer, createLogger, createMetricsRegistry, type AuthConfig, type Logger } from '@ippc/core';
import { agentv1, schedulerv1 } from '@ippc/proto';
import { isTerminalState } from '@ippc/mesos';
import { Gauge, Counter, type Registry } from 'prom-client';
import { MasterError } from './errors.js';
import { Master, type MasterOptions } from './master.js';
import { agentsService, schedulerService } from './services.js';
import { masterState } from './state.js';

// One port for everything, as Mesos serves everything on 5050: a connection that opens with the
// HTTP/2 preface goes to the gRPC server (framework API, agents' channel, health), any other to
// the HTTP/1.1 endpoints (`/master/state`, `/health`, `/metrics`). Node's HTTP/2 reads from the
// socket's handle and would miss the bytes read to tell the two apart, so gRPC connections are
// relayed (bytes as they are) to the gRPC server on a private unix socket instead of injected.

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export interface StartMasterOptions extends Omit<MasterOptions, 'ip' | 'port' | 'log'> {
  /** Address to listen on. Default `127.0.0.1`. */
  ip?: string;
  /** Default 5050 (Mesos); 0 picks a free port. */
  port?: number;
  /** Address advertised in `pid` and state when listening on 0.0.0.0. Default: `ip`. */
  advertiseIp?: string;
  /** The shared secret frameworks and agents must present, or `{ disabled: true }` explicitly. */
  auth: AuthConfig;
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

function send(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(code, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function registerMetrics(registry: Registry, master: Master): void {
  new Gauge({
    name: 'ippc_master_frameworks',
    help: 'Frameworks by state (connected, disconnected, completed)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const fs = master.frameworkEntries();
      this.set({ state: 'connected' }, fs.filter((f) => f.conn).length);
      this.set({ state: 'disconnected' }, fs.filter((f) => !f.conn).length);
      this.set({ state: 'completed' }, master.completedFrameworks.length);
    },
  });
  new Gauge({
    name: 'ippc_master_agents',
    help: 'Agents by state (connected, disconnected, unreachable)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const as = master.agentEntries();
      this.set({ state: 'connected' }, as.filter((a) => a.conn).length);
      this.set({ state: 'disconnected' }, as.filter((a) => !a.conn).length);
      this.set({ state: 'unreachable' }, master.unreachableAgents.size);
    },
  });
  new Gauge({
    name: 'ippc_master_tasks',
    help: 'Tasks the master knows, by latest state',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.reset();
      const counts = new Map<string, number>();
      for (const f of master.frameworkEntries()) {
        for (const t of f.tasks.values()) counts.set(String(t.state), (counts.get(String(t.state)) ?? 0) + 1);
        for (const t of f.unreachableTasks.values()) counts.set(String(t.state), (counts.get(String(t.state)) ?? 0) + 1);
      }
      for (const [state, n] of counts) this.set({ state: stateName(Number(state)) }, n);
    },
  });
  new Gauge({
    name: 'ippc_master_tasks_active',
    help: 'Tasks that are not terminal',
    registers: [registry],
    collect() {
      this.set(master.frameworkEntries().reduce((n, f) => n + [...f.tasks.values()].filter((t) => !isTerminalState(t.state)).length, 0));
    },
  });
  new Gauge({
    name: 'ippc_master_offers_outstanding',
    help: 'Offers sent and not yet accepted, declined or rescinded',
    registers: [registry],
    collect() {
      this.set(master.offers.size);
    },
  });
  new Counter({
    name: 'ippc_master_task_status_updates_total',
    help: 'Status updates seen by the master, by state, source and reason',
    labelNames: ['state', 'source', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [key, n] of master.counters.statusUpdates) {
        const [state, source, reason] = key.split('|');
        this.inc({ state: state ?? '', source: source ?? '', reason: reason ?? '' }, n);
      }
    },
  });
  new Counter({
    name: 'ippc_master_invalid_calls_total',
    help: 'Framework calls refused by validation, by call type',
    labelNames: ['call'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [call, n] of master.counters.invalidCalls) this.inc({ call }, n);
    },
  });
  const simple: [string, string, () => number][] = [
    ['ippc_master_offers_sent_total', 'Offers sent to frameworks', () => master.counters.offersSent],
    ['ippc_master_offers_declined_total', 'Offers declined', () => master.counters.offersDeclined],
    ['ippc_master_offers_rescinded_total', 'Offers rescinded', () => master.counters.offersRescinded],
    ['ippc_master_tasks_launched_total', 'Tasks sent to agents', () => master.counters.tasksLaunched],
    ['ippc_master_tasks_invalid_total', 'Tasks refused with TASK_ERROR', () => master.counters.tasksInvalid],
    ['ippc_master_agent_registrations_total', 'Agent registrations', () => master.counters.agentRegistrations],
    ['ippc_master_agent_reregistrations_total', 'Agent re-registrations', () => master.counters.agentReregistrations],
    ['ippc_master_agents_unreachable_total', 'Agents marked unreachable', () => master.counters.agentsUnreachable],
  ];
  for (const [name, help, read] of simple) {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  }
}

function stateName(s: number): string {
  return ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_LOST', 'TASK_STAGING', 'TASK_ERROR', 'TASK_KILLING', 'TASK_DROPPED', 'TASK_UNREACHABLE', 'TASK_GONE', 'TASK_GONE_BY_OPERATOR', 'TASK_UNKNOWN'][s] ?? String(s);
}

/**
 * Starts a master: listens, serves the framework API and the agents' channel over gRPC and the
 * state endpoints over HTTP on the same port. `close()` ends every stream and stops listening.
 */
export async function startMaster(options: StartMasterOptions): Promise<StartedMaster> {
  const log = options.log ?? createLogger({ component: 'master' });
  const ip = options.ip ?? '127.0.0.1';
  if (!options.auth) throw new MasterError('MASTER_CONFIG_INVALID', 'the master needs auth: a token, or { disabled: true } explicitly');
  const sockets = new Set<Socket>();
  const net = createNetServer();
  await new Promise<void>((resolve, reject) => {
    net.once('error', (err) => reject(new MasterError('MASTER_CONFIG_INVALID', `cannot listen on ${ip}:${options.port ?? 5050}: ${err.message}`, { cause: err })));
    net.listen(options.port ?? 5050, ip, () => resolve());
  });
  const address = net.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 5050);
  const advertise = options.advertiseIp ?? (ip === '0.0.0.0' ? '127.0.0.1' : ip);
  const master = new Master({ ...options, ip: advertise, port, log });

  const grpcServer = createGrpcServer({
    auth: options.auth,
    healthServices: ['ippc.master.v1.Scheduler', 'ippc.master.v1.Agents'],
    options: {
      // Find dead peers (an agent killed with -9, a scheduler on a lost host) without waiting for TCP.
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
    },
  });
  grpcServer.server.addService(schedulerv1.SchedulerService, schedulerService(master, log));
  grpcServer.server.addService(agentv1.AgentsService, agentsService(master, log));
  const privateDir = mkdtempSync(join(tmpdir(), 'ippc-master-'));
  const grpcSocket = join(privateDir, 'grpc.sock');
  await grpcServer.listen(`unix:${grpcSocket}`);
  grpcServer.setHealth('ippc.master.v1.Scheduler', 'SERVING');
  grpcServer.setHealth('ippc.master.v1.Agents', 'SERVING');

  const metrics = createMetricsRegistry('master');
  registerMetrics(metrics, master);
  const maxWatch = options.maxWatchSeconds ?? 300;

  const state = async (_req: IncomingMessage, res: ServerResponse, url: URL) => {
    const since = url.searchParams.get('since');
    if (since !== null) {
      const n = Number(since);
      const timeout = Math.min(Number(url.searchParams.get('timeout') ?? 30), maxWatch);
      if (!Number.isFinite(n) || !Number.isFinite(timeout) || timeout < 0) {
        return send(res, 400, { error: "'since' must be a state version and 'timeout' seconds, e.g. /master/state?since=12&timeout=30" });
      }
      await master.waitForChange(n, timeout * 1000);
    }
    send(res, 200, masterState(master), { 'ippc-state-version': String(master.stateVersion) });
  };
  const routes: Record<string, (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void> = {
    '/master/state': state,
    '/master/state.json': state,
    '/state': state,
    '/state.json': state,
    '/master/slaves': (_q, res) => {
      const s = masterState(master);
      send(res, 200, { slaves: s.slaves, recovered_slaves: [] });
    },
    '/master/frameworks': (_q, res) => {
      const s = masterState(master);
      send(res, 200, { frameworks: s.frameworks, completed_frameworks: s.completed_frameworks, unregistered_frameworks: [] });
    },
    '/health': (_q, res) => send(res, 200, { status: 'ok', id: master.id, agents: master.agents.size, frameworks: master.frameworks.size }),
    '/master/health': (_q, res) => send(res, 200, { status: 'ok' }),
    '/metrics': async (_q, res) => {
      res.writeHead(200, { 'content-type': metrics.contentType });
      res.end(await metrics.metrics());
    },
  };
  const http = createHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = routes[url.pathname];
    if (!route) return send(res, 404, { error: `no such endpoint: ${url.pathname}` });
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: `${req.method} is not allowed on ${url.pathname}; use GET` });
    Promise.resolve()
      .then(() => route(req, res, url))
      .catch((err: unknown) => send(res, 500, { error: err instanceof Error ? err.message : String(err) }));
  });
  http.keepAliveTimeout = 5_000;

  net.on('connection', (socket) => {
    // Small gRPC frames (status updates, acknowledgements) must not wait for Nagle.
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let seen = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, H2_PREFACE.length);
      const isH2 = seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      if (isH2 && seen.length < H2_PREFACE.length) return; // need more bytes to decide
      socket.off('data', onData);
      if (isH2) {
        const upstream = connectUnix(grpcSocket);
        sockets.add(upstream);
        upstream.on('close', () => {
          sockets.delete(upstream);
          socket.destroy();
        });
        upstream.on('error', () => socket.destroy());
        socket.on('close', () => upstream.destroy());
        upstream.write(seen);
        socket.pipe(upstream);
        upstream.pipe(socket);
        return;
      }
      socket.pause();
      socket.unshift(seen);
      http.emit('connection', socket);
      socket.resume();
    };
    socket.on('data', onData);
  });

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
