import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { silentLogger, type Logger } from '@ippc/core';
import type { IpamApi } from '../types.js';
import { createCniHandler, type CniHandler } from './cni-handler.js';

/** Where the `ippc-ipam` plugin finds the daemon unless the config's `ipam.daemonSocket` says otherwise. */
export const DEFAULT_DAEMON_SOCKET = '/run/ippc/ipam.sock';

export interface IpamNodeDaemonOptions {
  /** The IPAM: a gRPC client (`createIpamClient`) or an in-process service. */
  ipam: IpamApi;
  /** Unix socket path. Default {@link DEFAULT_DAEMON_SOCKET}. */
  socketPath?: string;
  /** This node's name (lease node and owner, CNI GC scope). Default: the host name. */
  node?: string;
  logger?: Logger;
}

export interface IpamNodeDaemon {
  readonly socketPath: string;
  readonly handler: CniHandler;
  /** Listens on the socket (a stale socket file is replaced). */
  start(): Promise<void>;
  close(): Promise<void>;
}

const MAX_BODY = 1 << 20;

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * The long-running half of the `ippc-ipam` CNI plugin: an HTTP server on a unix socket that
 * takes one CNI call per request (POST /v1/cni, the CNI environment in `X-Cni-*` headers, the
 * config as body) and answers the plugin's standard output (200: success, 400: a CNI error JSON).
 * The agent embeds it in its own process; `ippc-ipam-node` runs it alone.
 */
export function createIpamNodeDaemon(options: IpamNodeDaemonOptions): IpamNodeDaemon {
  const socketPath = options.socketPath ?? DEFAULT_DAEMON_SOCKET;
  const log = options.logger ?? silentLogger();
  const handler = createCniHandler({ ipam: options.ipam, node: options.node ?? hostname(), logger: log });
  let server: Server | undefined;
  return {
    socketPath,
    handler,
    async start() {
      mkdirSync(dirname(socketPath), { recursive: true });
      rmSync(socketPath, { force: true });
      server = createServer((req, res) => {
        if (req.method === 'GET' && req.url === '/health') {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
          return;
        }
        if (req.method !== 'POST' || req.url !== '/v1/cni') {
          res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ cniVersion: '1.0.0', code: 4, msg: `no such endpoint: ${req.method} ${req.url}` }));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        req.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= MAX_BODY) chunks.push(c);
        });
        req.on('end', () => {
          const started = process.hrtime.bigint();
          const command = header(req, 'x-cni-command') ?? '';
          const call =
            size > MAX_BODY
              ? Promise.resolve({ ok: false, output: JSON.stringify({ cniVersion: '1.0.0', code: 6, msg: `network config larger than ${MAX_BODY} bytes` }) })
              : handler.handle({
                  command,
                  containerId: header(req, 'x-cni-containerid'),
                  netns: header(req, 'x-cni-netns'),
                  ifName: header(req, 'x-cni-ifname'),
                  args: header(req, 'x-cni-args'),
                  path: header(req, 'x-cni-path'),
                  config: Buffer.concat(chunks).toString('utf8'),
                });
          void call.then((r) => {
            log.debug({ command, ok: r.ok, ms: Number(process.hrtime.bigint() - started) / 1e6 }, 'CNI call');
            res.writeHead(r.ok ? 200 : 400, { 'content-type': 'application/json', connection: 'close' }).end(r.output ? r.output + '\n' : '');
          });
        });
      });
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(socketPath, () => resolve());
      });
      // Only root (the runtime that execs CNI plugins) may talk to it.
      chmodSync(socketPath, 0o600);
      log.info({ socketPath }, 'ippc-ipam node daemon listening');
    },
    async close() {
      const s = server;
      server = undefined;
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
      rmSync(socketPath, { force: true });
    },
  };
}
