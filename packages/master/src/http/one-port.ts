import type { Server as HttpServer } from 'node:http';
import { connect as connectUnix, type Server, type Socket } from 'node:net';

// One port for everything, as Mesos serves everything on 5050: a connection that opens with the
// HTTP/2 preface goes to the gRPC server (framework API, agents' channel, health), any other to
// the HTTP/1.1 endpoints (`/master/state`, `/health`, `/metrics`). Node's HTTP/2 reads from the
// socket's handle and would miss the bytes read to tell the two apart, so gRPC connections are
// relayed (bytes as they are) to the gRPC server on a private unix socket instead of injected.

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/**
 * Sorts every connection of `net` between the gRPC server listening on `grpcSocket` and `http`.
 * Returns the live sockets (both sides of relays), for a close that does not wait for peers.
 */
export function shareOnePort(net: Server, grpcSocket: string, http: HttpServer): Set<Socket> {
  const sockets = new Set<Socket>();
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
      if (isH2) relay(socket, seen, grpcSocket, sockets);
      else {
        socket.pause();
        socket.unshift(seen);
        http.emit('connection', socket);
        socket.resume();
      }
    };
    socket.on('data', onData);
  });
  return sockets;
}

/** Relays a gRPC connection, starting with the bytes already read, to the private gRPC socket. */
function relay(socket: Socket, seen: Buffer, grpcSocket: string, sockets: Set<Socket>): void {
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
}
