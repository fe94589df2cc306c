import { hostname } from 'node:os';
import { createCniDaemon, silentLogger, type Logger } from '@ippc/core';
import type { IpamApi } from '../types.js';
import { createCniHandler, type CniHandler } from './cni-handler.js';

/** Where the `ippc-ipam` plugin finds the daemon unless the config's `ipam.daemonSocket` says otherwise. */
export const DEFAULT_DAEMON_SOCKET = '/run/ippc/ipam.sock';

/** The daemon's CNI endpoint (the plugin's `urlPath`). */
export const CNI_URL_PATH = '/v1/cni';

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

/**
 * The long-running half of the `ippc-ipam` CNI plugin: @ippc/core's CNI daemon on a unix socket
 * that takes one CNI call per request (POST /v1/cni, the CNI environment in `X-Cni-*` headers, the
 * config as body) and answers the plugin's standard output (200: success, 400: a CNI error JSON).
 * The agent embeds it in its own process; `ippc-ipam-node` runs it alone.
 */
export function createIpamNodeDaemon(options: IpamNodeDaemonOptions): IpamNodeDaemon {
  const socketPath = options.socketPath ?? DEFAULT_DAEMON_SOCKET;
  const log = options.logger ?? silentLogger();
  const handler = createCniHandler({ ipam: options.ipam, node: options.node ?? hostname(), logger: log });
  const daemon = createCniDaemon({
    socketPath,
    path: CNI_URL_PATH,
    log,
    async handle(req) {
      const r = await handler.handle(req);
      return { status: r.ok ? 200 : 400, body: r.output ? r.output + '\n' : '' };
    },
  });
  return {
    socketPath,
    handler,
    async start() {
      await daemon.start();
      log.info({ socketPath }, 'ippc-ipam node daemon listening');
    },
    close: () => daemon.close(),
  };
}
