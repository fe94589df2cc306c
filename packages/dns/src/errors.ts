import { status } from '@grpc/grpc-js';
import { IppcError, type IppcErrorOptions } from '@ippc/core';

/** Why the DNS server cannot do what was asked. */
export type DnsErrorCode =
  /** An option of {@link createDnsServer} or a flag of `ippc-dns` is invalid; the message names it. */
  | 'DNS_INVALID_OPTIONS'
  /** The IP source list is invalid; the message is mesos-dns's own (`empty ip sources`, ...). */
  | 'DNS_INVALID_IP_SOURCES'
  /** The master's state could not be fetched (connection refused, timeout, HTTP error). */
  | 'DNS_STATE_UNAVAILABLE'
  /** The master answered, but not with a Mesos `/master/state` document. */
  | 'DNS_STATE_INVALID'
  /** No upstream server answered a forwarded query (the client gets SERVFAIL). */
  | 'DNS_UPSTREAM_FAILED'
  /** The UDP or TCP socket could not be bound. */
  | 'DNS_LISTEN_FAILED';

const grpcCodes: Record<DnsErrorCode, number> = {
  DNS_INVALID_OPTIONS: status.INVALID_ARGUMENT,
  DNS_INVALID_IP_SOURCES: status.INVALID_ARGUMENT,
  DNS_STATE_UNAVAILABLE: status.UNAVAILABLE,
  DNS_STATE_INVALID: status.FAILED_PRECONDITION,
  DNS_UPSTREAM_FAILED: status.UNAVAILABLE,
  DNS_LISTEN_FAILED: status.UNAVAILABLE,
};

export class DnsError extends IppcError<DnsErrorCode> {
  constructor(code: DnsErrorCode, message: string, options?: IppcErrorOptions) {
    super(code, grpcCodes[code] as never, message, options);
    this.name = 'DnsError';
  }
}
