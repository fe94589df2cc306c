import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer as createTcpServer, isIP, type Server as TcpServer, type Socket } from 'node:net';
import type { Logger } from '@ippc/core';
import { formatHostPort, type HostPort } from './addresses.js';
import { DnsError } from './errors.js';
import type { QueryHandler } from './resolver.js';

// The DNS server's sockets: UDP and TCP on one address and port, each message handed to the
// query handler (bytes in, bytes out).

/** Binds UDP then TCP to the same port; with port 0, retries until both get the same free port. */
export async function bindBoth(listen: HostPort, handle: QueryHandler, log: Logger): Promise<{ udp: UdpSocket; tcp: TcpServer; port: number }> {
  const attempts = listen.port === 0 ? 10 : 1;
  let lastErr: unknown;
  for (let i = 0; i < attempts; i++) {
    const udp = createSocket({ type: isIP(listen.host) === 6 ? 'udp6' : 'udp4' });
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(listen.port, listen.host, () => {
          udp.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      lastErr = err;
      udp.close();
      break;
    }
    const port = udp.address().port;
    const tcp = createTcpServer({ noDelay: true });
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(port, listen.host, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      lastErr = err;
      await closeSockets(udp, undefined);
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempts > 1) continue;
      break;
    }
    serveUdp(udp, handle, log);
    serveTcp(tcp, handle, log);
    return { udp, tcp, port };
  }
  throw new DnsError(
    'DNS_LISTEN_FAILED',
    `cannot listen on ${formatHostPort(listen)} (UDP and TCP): ${(lastErr as Error)?.message}; pick another --listen address or free the port`,
    { cause: lastErr },
  );
}

function serveUdp(udp: UdpSocket, handle: QueryHandler, log: Logger): void {
  udp.on('error', (err) => log.error({ err: err.message }, 'UDP socket error'));
  udp.on('message', (msg, rinfo) => {
    handle(msg, 'udp').then(
      (answer) => answer && udp.send(answer, rinfo.port, rinfo.address),
      (err: unknown) => log.error({ err: (err as Error).message }, 'query failed'),
    );
  });
}

/** Idle TCP connections are closed after this long (RFC 7766 suggests seconds). */
const TCP_IDLE_MS = 10_000;
const TCP_MAX_CONNECTIONS = 512;

/** Open client connections per server, so close() can end them instead of waiting for clients. */
const tcpConnections = new WeakMap<TcpServer, Set<Socket>>();

function serveTcp(tcp: TcpServer, handle: QueryHandler, log: Logger): void {
  const connections = new Set<Socket>();
  tcpConnections.set(tcp, connections);
  tcp.maxConnections = TCP_MAX_CONNECTIONS;
  tcp.on('error', (err) => log.error({ err: err.message }, 'TCP server error'));
  tcp.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      // Each message is preceded by its 2-byte length (RFC 1035 §4.2.2); clients may pipeline.
      while (buffered.length >= 2) {
        const size = buffered.readUInt16BE(0);
        if (buffered.length < 2 + size) break;
        const msg = Buffer.from(buffered.subarray(2, 2 + size));
        buffered = buffered.subarray(2 + size);
        handle(msg, 'tcp').then(
          (answer) => {
            if (!answer || socket.destroyed) return;
            const len = Buffer.alloc(2);
            len.writeUInt16BE(answer.length);
            socket.write(Buffer.concat([len, answer]));
          },
          (err: unknown) => log.error({ err: (err as Error).message }, 'query failed'),
        );
      }
    });
  });
}

export async function closeSockets(udp: UdpSocket | undefined, tcp: TcpServer | undefined): Promise<void> {
  if (udp) await new Promise<void>((resolve) => udp.close(() => resolve())).catch(() => undefined);
  if (tcp) {
    // End open client connections too, or close() would wait for clients to hang up.
    await new Promise<void>((resolve) => {
      tcp.close(() => resolve());
      for (const socket of tcpConnections.get(tcp) ?? []) socket.destroy();
    });
  }
}
