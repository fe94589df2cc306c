import { status } from '@grpc/grpc-js';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IppcError, type IppcErrorOptions } from '../errors.js';

// The thin executable behind ippc's CNI plugins. A runtime execs a CNI plugin for every container
// start, so ippc's plugins hold no logic: each forwards the call over a unix socket to a
// long-running node daemon (as Cilium's and Multus's thick mode do). One forwarder serves every
// plugin; what differs (socket, config key, endpoint, versions, wording) is fixed at install time.

/** The forwarder's sources, shipped with this package. */
export const CNI_FORWARDER_SOURCES = {
  /** Static C program (`cc -static`): about 1 ms per exec. */
  native: fileURLToPath(new URL('../../cni/ippc-cni-forwarder.c', import.meta.url)),
  /** POSIX sh + `curl --unix-socket` template: no compiler needed, 12-15 ms slower per call (curl's start). */
  sh: fileURLToPath(new URL('../../cni/ippc-cni-forwarder.sh', import.meta.url)),
};

export type CniForwarderFlavor = 'native' | 'sh';

export interface CniForwarderOptions {
  /** The CNI plugin folder to install into (created if missing), e.g. /opt/cni/bin or a test's temp dir. */
  dir: string;
  /** File name: the `type` in CNI configs, e.g. `ippc-isolation`. Also the name in its messages. */
  name: string;
  /** The daemon's socket when the config names none, e.g. `/run/ippc/isolation.sock`. */
  defaultSocket: string;
  /**
   * Dotted path of the config key that may name the socket: `socket` (top level) or
   * `ipam.daemonSocket`. The native flavour follows the path through the JSON; the sh flavour
   * matches the last name anywhere in the config.
   */
  socketKey: string;
  /** CNI versions the plugin answers VERSION with (answered by the executable, no daemon needed). */
  supportedVersions: readonly string[];
  /** HTTP path of the daemon's CNI endpoint. Default `/cni`. */
  urlPath?: string;
  /** Host header. Default: `name`. */
  host?: string;
  /** Who answers, in error messages. Default `the <name> daemon`. */
  daemon?: string;
  /** What to do when the daemon does not answer, in error messages. Default `start it, then retry`. */
  hint?: string;
  /** How long to wait for the daemon's answer, in seconds. Default 60. */
  timeoutSeconds?: number;
  /**
   * `native`: compile the C forwarder static with `cc` (about 1 ms per exec; the binary runs in
   * any Linux of the same architecture, so a host with a compiler can build it for containers
   * without one). `sh`: the POSIX sh + curl script. Default: `native` when it compiles, else `sh`.
   */
  flavor?: CniForwarderFlavor;
  /** The C compiler. Default `$CC`, else `cc`. */
  cc?: string;
}

export interface InstalledCniForwarder {
  /** Absolute path of the installed executable. */
  path: string;
  flavor: CniForwarderFlavor;
}

export type CniForwarderErrorCode = 'CNI_FORWARDER_BAD_OPTIONS' | 'CNI_FORWARDER_BUILD_FAILED';

/** Installing a CNI forwarder failed: bad options (nothing written) or the compiler failed. */
export class CniForwarderError extends IppcError<CniForwarderErrorCode> {
  constructor(code: CniForwarderErrorCode, message: string, options?: IppcErrorOptions) {
    super(code, code === 'CNI_FORWARDER_BAD_OPTIONS' ? status.INVALID_ARGUMENT : status.FAILED_PRECONDITION, message, options);
    this.name = 'CniForwarderError';
  }
}

// Values end up inside C string literals and single-quoted sh: printable ASCII without quotes or
// backslashes keeps both safe without escaping rules of their own.
const SAFE_TEXT = /^[\x20-\x7e]*$/;
const UNSAFE_CHARS = /["'\\`$]/;

function text(name: string, value: string, required = true): string {
  if (typeof value !== 'string' || (required && value === '') || !SAFE_TEXT.test(value) || UNSAFE_CHARS.test(value)) {
    throw new CniForwarderError(
      'CNI_FORWARDER_BAD_OPTIONS',
      `${name} '${String(value)}' cannot be built into a CNI forwarder: use printable ASCII without quotes, backslashes, '\`' or '$'`,
      { details: { [name]: value } },
    );
  }
  return value;
}

interface Settings {
  name: string;
  defaultSocket: string;
  socketKey: string;
  urlPath: string;
  host: string;
  daemon: string;
  hint: string;
  timeoutSeconds: number;
  versions: string;
}

function settings(options: CniForwarderOptions): Settings {
  const name = text('name', options.name);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name))
    throw new CniForwarderError('CNI_FORWARDER_BAD_OPTIONS', `plugin name '${name}' is not a CNI plugin file name: letters, digits, '.', '_', '-'`);
  const defaultSocket = text('defaultSocket', options.defaultSocket);
  // sockaddr_un holds 107 bytes and a NUL.
  if (!defaultSocket.startsWith('/') || Buffer.byteLength(defaultSocket) > 107) {
    throw new CniForwarderError(
      'CNI_FORWARDER_BAD_OPTIONS',
      `defaultSocket '${defaultSocket}' must be an absolute path of at most 107 bytes (a unix socket address)`,
    );
  }
  const socketKey = text('socketKey', options.socketKey);
  if (!/^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$/.test(socketKey)) {
    throw new CniForwarderError(
      'CNI_FORWARDER_BAD_OPTIONS',
      `socketKey '${socketKey}' is not a dotted path of config keys (e.g. 'socket' or 'ipam.daemonSocket')`,
    );
  }
  const urlPath = text('urlPath', options.urlPath ?? '/cni');
  if (!/^\/[A-Za-z0-9._~/-]*$/.test(urlPath)) throw new CniForwarderError('CNI_FORWARDER_BAD_OPTIONS', `urlPath '${urlPath}' must be an absolute HTTP path`);
  const host = text('host', options.host ?? name);
  if (!/^[A-Za-z0-9.-]+$/.test(host)) throw new CniForwarderError('CNI_FORWARDER_BAD_OPTIONS', `host '${host}' is not a host name`);
  const versions = options.supportedVersions;
  if (!Array.isArray(versions) || versions.length === 0 || versions.some((v) => typeof v !== 'string' || !/^\d+\.\d+\.\d+$/.test(v))) {
    throw new CniForwarderError('CNI_FORWARDER_BAD_OPTIONS', `supportedVersions must list CNI versions like '1.0.0', got ${JSON.stringify(versions)}`);
  }
  const timeoutSeconds = options.timeoutSeconds ?? 60;
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 3600) {
    throw new CniForwarderError('CNI_FORWARDER_BAD_OPTIONS', `timeoutSeconds ${timeoutSeconds} must be a whole number of seconds from 1 to 3600`);
  }
  return {
    name,
    defaultSocket,
    socketKey,
    urlPath,
    host,
    daemon: text('daemon', options.daemon ?? `the ${name} daemon`),
    hint: text('hint', options.hint ?? 'start it, then retry'),
    timeoutSeconds,
    versions: JSON.stringify(versions),
  };
}

/** True when `cc` (or the given compiler) runs. */
export function hasCCompiler(cc = process.env.CC || 'cc'): boolean {
  try {
    execFileSync(cc, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function compile(cc: string, s: Settings, out: string): void {
  const c = (v: string) => JSON.stringify(v); // a C string literal for printable ASCII
  const defines = [
    `-DFWD_NAME=${c(s.name)}`,
    `-DFWD_DEFAULT_SOCKET=${c(s.defaultSocket)}`,
    `-DFWD_SOCKET_KEY=${c(s.socketKey)}`,
    `-DFWD_URL_PATH=${c(s.urlPath)}`,
    `-DFWD_VERSIONS=${c(s.versions)}`,
    `-DFWD_HOST=${c(s.host)}`,
    `-DFWD_DAEMON=${c(s.daemon)}`,
    `-DFWD_HINT=${c(s.hint)}`,
    `-DFWD_TIMEOUT_S=${s.timeoutSeconds}`,
  ];
  try {
    execFileSync(cc, ['-O2', '-static', ...defines, '-o', out, CNI_FORWARDER_SOURCES.native], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new CniForwarderError(
      'CNI_FORWARDER_BUILD_FAILED',
      `cannot compile the native ${s.name} forwarder with ${cc}: ${stderr.trim() || (err as Error).message}. Install gcc and the static C library (Debian: gcc, libc6-dev), or use flavor 'sh'`,
      { cause: err, output: { stderr } },
    );
  }
}

function render(s: Settings): string {
  const values: Record<string, string> = {
    NAME: s.name,
    DAEMON: s.daemon,
    HINT: s.hint,
    DEFAULT_SOCKET: s.defaultSocket,
    SOCKET_KEY_LAST: s.socketKey.slice(s.socketKey.lastIndexOf('.') + 1),
    HOST: s.host,
    URL_PATH: s.urlPath,
    TIMEOUT_S: String(s.timeoutSeconds),
    VERSIONS: s.versions,
  };
  return readFileSync(CNI_FORWARDER_SOURCES.sh, 'utf8').replace(/@([A-Z_]+)@/g, (all, key: string) => values[key] ?? all);
}

/**
 * Installs a CNI plugin executable that forwards every call to a node daemon over a unix socket,
 * atomically (a runtime may be executing the old one). Options are checked before anything is
 * written. Throws {@link CniForwarderError}: `CNI_FORWARDER_BAD_OPTIONS`, or
 * `CNI_FORWARDER_BUILD_FAILED` when flavor `native` was asked for and does not compile (without a
 * flavor, a failed compile falls back to `sh`).
 *
 * The daemon's side of the contract: `POST <urlPath>` with the config as the body and
 * `X-Cni-Command`, `-ContainerId`, `-Netns`, `-IfName`, `-Args`, `-Path` headers (absent when
 * empty); answer 200 with the plugin's standard output, or 400 with a CNI error JSON.
 *
 * @example
 * ```ts
 * installCniForwarder({ dir: '/opt/cni/bin', name: 'ippc-isolation', defaultSocket: '/run/ippc/isolation.sock',
 *   socketKey: 'socket', supportedVersions: ['0.4.0', '1.0.0'] });
 * ```
 */
export function installCniForwarder(options: CniForwarderOptions): InstalledCniForwarder {
  const s = settings(options);
  const cc = options.cc ?? (process.env.CC || 'cc');
  mkdirSync(options.dir, { recursive: true });
  const path = join(options.dir, s.name);
  const tmp = `${path}.tmp-${process.pid}`;
  let flavor: CniForwarderFlavor = options.flavor ?? 'native';
  try {
    if (flavor === 'native') {
      try {
        compile(cc, s, tmp);
      } catch (err) {
        if (options.flavor === 'native') throw err;
        flavor = 'sh';
      }
    }
    if (flavor === 'sh') writeFileSync(tmp, render(s));
    chmodSync(tmp, 0o755);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  return { path, flavor };
}
