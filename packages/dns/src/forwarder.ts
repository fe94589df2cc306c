/**
 * Forwarding of names outside the zone to upstream DNS servers. The query bytes are relayed as
 * received (EDNS, DNSSEC bits and all) and the upstream's answer comes back unchanged.
 */
import { createSocket } from 'node:dgram';
import { isIP, connect } from 'node:net';
import { DnsError } from './errors.js';
import type { HostPort } from './addresses.js';
import { formatHostPort } from './addresses.js';

export type Transport = 'udp' | 'tcp';

/** The seam between the query handler and upstream servers. */
export interface Forwarder {
  /** The upstreams, for logs. */
  readonly upstreams: readonly string[];
  /**
   * Sends `query` to the upstreams in order until one answers and returns that answer.
   *
   * @throws DnsError `DNS_UPSTREAM_FAILED` when none answered (the caller answers SERVFAIL).
   */
  forward(query: Buffer, transport: Transport): Promise<Buffer>;
}

export interface UpstreamForwarderOptions {
  upstreams: readonly HostPort[];
  /** Per upstream and attempt. Default 2000 ms. */
  timeoutMs?: number;
}

/**
 * Tries each upstream in turn, over the client's transport. A UDP answer with the TC bit goes back
 * to a UDP client as is (it then retries over TCP, which we forward over TCP).
 */
export function createUpstreamForwarder(options: UpstreamForwarderOptions): Forwarder {
  const timeoutMs = options.timeoutMs ?? 2000;
  const upstreams = options.upstreams.map(formatHostPort);
  return {
    upstreams,
    async forward(query, transport) {
      const failures: string[] = [];
      for (const upstream of options.upstreams) {
        try {
          const answer = transport === 'udp' ? await overUdp(upstream, query, timeoutMs) : await overTcp(upstream, query, timeoutMs);
          return answer;
        } catch (err) {
          failures.push(`${formatHostPort(upstream)}: ${(err as Error).message}`);
        }
      }
      throw new DnsError('DNS_UPSTREAM_FAILED', `no upstream answered (${failures.join('; ')})`, { details: { upstreams } });
    },
  };
}

function sameId(query: Buffer, answer: Buffer): boolean {
  return answer.length >= 12 && answer.readUInt16BE(0) === query.readUInt16BE(0) && (answer[2]! & 0x80) !== 0;
}

function overUdp(upstream: HostPort, query: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIP(upstream.host) === 6 ? 'udp6' : 'udp4');
    let finished = false;
    const done = (err: Error | undefined, answer?: Buffer) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(answer!);
    };
    const timer = setTimeout(() => done(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('error', (err) => done(err));
    socket.on('message', (msg, rinfo) => {
      // Ignore strays: only the upstream's answer to this id counts.
      if (rinfo.port === upstream.port && sameId(query, msg)) done(undefined, msg);
    });
    socket.connect(upstream.port, upstream.host, () => socket.send(query));
  });
}

function overTcp(upstream: HostPort, query: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: upstream.host, port: upstream.port });
    let buffered = Buffer.alloc(0);
    let finished = false;
    const done = (err: Error | undefined, answer?: Buffer) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(answer!);
    };
    const timer = setTimeout(() => done(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('error', (err) => done(err));
    socket.on('close', () => done(new Error('connection closed before an answer')));
    socket.on('connect', () => {
      // RFC 1035 4.2.2: over TCP each message is preceded by its length.
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length);
      socket.write(Buffer.concat([len, query]));
    });
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 2) return;
      const size = buffered.readUInt16BE(0);
      if (buffered.length < 2 + size) return;
      const answer = buffered.subarray(2, 2 + size);
      if (sameId(query, answer)) done(undefined, Buffer.from(answer));
      else done(new Error('answer for another query'));
    });
  });
}
