import { isIP } from 'node:net';
import { DnsError } from './errors.js';

/** A host and port, with the host unbracketed (`::1`, not `[::1]`). */
export interface HostPort {
  host: string;
  port: number;
}

/**
 * Parses `host:port`, `[v6]:port`, `:port` (all interfaces) or, when `defaultPort` is given, a
 * bare `host` / `v6`. `what` names the option in the error.
 *
 * @throws DnsError `DNS_INVALID_OPTIONS` with an example of the expected form.
 */
export function parseHostPort(text: string, what: string, defaultPort?: number, requireIp = false): HostPort {
  const bad = (why: string) => new DnsError('DNS_INVALID_OPTIONS', `${what} ${JSON.stringify(text)} ${why}: give host:port, e.g. 127.0.0.1:53 or [::1]:53`);
  const s = text.trim();
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(s);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2];
  } else if (isIP(s) === 6) {
    host = s;
  } else {
    const colon = s.lastIndexOf(':');
    if (colon < 0) host = s;
    else {
      host = s.slice(0, colon);
      portText = s.slice(colon + 1);
    }
  }
  if (host === '') host = '0.0.0.0';
  if (requireIp && isIP(host) === 0) throw bad('is not an IP address (host names are not resolved here, to avoid asking ourselves)');
  if (!requireIp && isIP(host) === 0 && !/^[A-Za-z0-9.-]+$/.test(host)) throw bad('has an invalid host');
  let port: number;
  if (portText === undefined) {
    if (defaultPort === undefined) throw bad('has no port');
    port = defaultPort;
  } else {
    if (!/^\d{1,5}$/.test(portText)) throw bad('has an invalid port');
    port = Number(portText);
  }
  if (port > 65535) throw bad('has an invalid port');
  return { host, port };
}

/** `host:port` with brackets around IPv6 hosts. */
export function formatHostPort({ host, port }: HostPort): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}
