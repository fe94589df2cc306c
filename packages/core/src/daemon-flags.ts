// The flags every ippc daemon shares, in one place and in Mesos's style: ippc-master and ippc-agent
// must take Mesos's flags unchanged, so every daemon follows them. Snake_case `--flag_name=value`
// through commander; the shared secret from `--token_file`, env IPPC_TOKEN or `--no_auth`;
// `--logging_level`; host:port listen flags; values checked when parsed (durations in Mesos's
// syntax); `--help` listing every flag with its default; and one exit for a bad flag: a message
// that names the flag, exit status 2.
import { readFileSync } from 'node:fs';
import { status } from '@grpc/grpc-js';
import { Command, InvalidArgumentError, Option } from 'commander';
import { IppcError, type IppcErrorOptions } from './errors.js';
import type { AuthConfig } from './grpc.js';

/** Exit status of a daemon given a flag it cannot use: unknown, missing, or a value it rejects. */
export const BAD_FLAG_EXIT_CODE = 2;

/** A flag value a daemon cannot use; the message says what to give instead. */
export class FlagError extends IppcError<'FLAG_INVALID'> {
  constructor(message: string, options: IppcErrorOptions = {}) {
    super('FLAG_INVALID', status.INVALID_ARGUMENT, message, options);
    this.name = 'FlagError';
  }
}

/** Options of {@link createDaemonCommand}. */
export interface DaemonCommandOptions {
  /** Adds `--version`, which prints this. Default: no `--version`. */
  version?: string;
  /** How the command exits, for tests (one that throws). Default: `process.exit`. */
  exit?: (code: number) => never;
}

/**
 * A daemon's command line: `--help` lists every flag with its default, a parse error (unknown flag,
 * missing mandatory flag, a value its check rejects) prints commander's message and the usage, and
 * every bad flag exits with {@link BAD_FLAG_EXIT_CODE}; `--help` and `--version` exit 0.
 */
export function createDaemonCommand(name: string, description: string, options: DaemonCommandOptions = {}): Command {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const program = new Command(name)
    .description(description)
    .showHelpAfterError()
    .exitOverride((err) => exit(err.exitCode === 0 ? 0 : BAD_FLAG_EXIT_CODE));
  if (options.version) program.version(options.version, '--version');
  return program;
}

/**
 * Stops the daemon on a flag it cannot use, found after parsing (a missing secret, a port out of
 * range): `<name>: <message>` on standard error, exit status 2. The message names the flag, so no
 * usage follows it.
 */
export function exitBadFlag(program: Command, message: string): never {
  program.showHelpAfterError(false);
  program.error(`${program.name()}: ${message}`, { exitCode: BAD_FLAG_EXIT_CODE, code: 'ippc.badFlag' });
}

/**
 * A flag whose value `check` must accept (it throws with a message otherwise). Checked when parsed,
 * so a bad value is a bad flag whose message names the flag; the text is kept as given (a daemon's
 * `/flags` shows it so). Durations take @ippc/mesos's `parseDuration` as the check (Mesos's
 * `15secs`, `100ms`; @ippc/mesos builds on core, so core does not parse them itself).
 */
export function checkedOption(flags: string, description: string, check: (text: string) => unknown): Option {
  return new Option(flags, description).argParser((text: string) => {
    try {
      check(text);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
    return text;
  });
}

// ---- the shared secret: --token_file, IPPC_TOKEN, --no_auth

/** `--token_file <path>`: the file holding the shared secret (else env IPPC_TOKEN). */
export function tokenFileOption(description = 'file holding the shared secret (else env IPPC_TOKEN)'): Option {
  return new Option('--token_file <path>', description);
}

/** `--no_auth`: run without the shared secret (local play only). */
export function noAuthOption(description = 'disable authentication (local play only)'): Option {
  return new Option('--no_auth', description).default(false);
}

/**
 * The credentials of a daemon's Mesos-style flags: `--no_auth` disables them, else the token is
 * the (trimmed) content of `--token_file`, else env `IPPC_TOKEN`. Undefined when none is given:
 * the caller refuses to start and says how to give one. An unreadable token file throws.
 */
export function authFromFlags(flags: { tokenFile?: string; noAuth?: boolean }, env: NodeJS.ProcessEnv = process.env): AuthConfig | undefined {
  if (flags.noAuth) return { disabled: true };
  const token = flags.tokenFile ? readFileSync(flags.tokenFile, 'utf8').trim() : env.IPPC_TOKEN;
  return token ? { token } : undefined;
}

/** Options of {@link daemonAuth}. */
export interface DaemonAuthOptions {
  /** Credentials from a lower layer (a config file's), used when the flags and env give none. */
  fallback?: AuthConfig;
  /** How to give that lower layer, for the message when nothing is given, e.g. `auth.token in the --config file`. */
  fallbackHint?: string;
  /** Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** What a daemon says when it is given no shared secret. */
function noSecretMessage(fallbackHint?: string): string {
  const ways = fallbackHint ? `pass --token_file=PATH, set IPPC_TOKEN or give ${fallbackHint}` : 'pass --token_file=PATH or set IPPC_TOKEN';
  return `no shared secret: ${ways} (or --no_auth for local play)`;
}

/**
 * The daemon's credentials, flags over environment over file: `--no_auth`, else `--token_file`,
 * else env IPPC_TOKEN, else `fallback`. Throws {@link FlagError} when there are none (saying how to
 * give them), or when the token file cannot be read or is empty; the daemon exits as on a bad flag.
 */
export function daemonAuth(flags: { token_file?: unknown; no_auth?: unknown }, options: DaemonAuthOptions = {}): AuthConfig {
  const tokenFile = typeof flags.token_file === 'string' && flags.token_file !== '' ? flags.token_file : undefined;
  let auth: AuthConfig | undefined;
  try {
    auth = authFromFlags({ ...(tokenFile ? { tokenFile } : {}), noAuth: flags.no_auth === true }, options.env);
  } catch (err) {
    throw new FlagError(`cannot read --token_file ${tokenFile}: ${(err as Error).message}`, { cause: err });
  }
  if (!auth && tokenFile) throw new FlagError(`--token_file ${tokenFile} is empty: write the shared secret into it`);
  auth ??= options.fallback;
  if (!auth) throw new FlagError(noSecretMessage(options.fallbackHint));
  return auth;
}

// ---- --logging_level

/** Mesos's levels (glog's, plus DEBUG) and the logger's name for each. */
const MESOS_LEVELS: Record<string, string> = { INFO: 'info', WARNING: 'warn', ERROR: 'error', DEBUG: 'debug' };
/** The logger's own names, which env IPPC_LOG_LEVEL has always taken. */
const LOGGER_LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

/**
 * The logger's level for a `--logging_level` value: Mesos's INFO, WARNING, ERROR or DEBUG (any
 * case), or the logger's own names (`warn`, `trace`, ...). Throws {@link FlagError} otherwise.
 */
export function loggerLevel(text: string): string {
  const level = MESOS_LEVELS[text.toUpperCase()] ?? text.toLowerCase();
  if (!LOGGER_LEVELS.has(level)) throw new FlagError(`'${text}' is not a logging level: use INFO, WARNING, ERROR or DEBUG`);
  return level;
}

/** `--logging_level <level>`: the flag, else env IPPC_LOG_LEVEL, else INFO; checked when parsed. */
export function loggingLevelOption(): Option {
  return checkedOption('--logging_level <level>', 'INFO, WARNING, ERROR or DEBUG', loggerLevel).default('INFO').env('IPPC_LOG_LEVEL');
}

// ---- host:port listen flags

/** Where a daemon listens: the host unbracketed (`::1`, not `[::1]`). */
export interface ListenAddress {
  host: string;
  port: number;
}

/**
 * `host:port`, `[v6]:port`, or `:port` (every interface, 0.0.0.0) → the host and port; port 0
 * picks a free one. Throws {@link FlagError} with an example otherwise.
 */
export function parseListen(text: string): ListenAddress {
  const bad = () => new FlagError(`'${text}' is not host:port: write e.g. 127.0.0.1:7071, [::1]:7071, or :7071 for every interface`);
  const m = /^(?:\[([^\]]+)\]|([A-Za-z0-9.:%-]*)):(\d{1,5})$/.exec(text.trim());
  if (!m || Number(m[3]) > 65535) throw bad();
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port: Number(m[3]) };
}

/** What a listen flag takes besides host:port. */
export interface ListenFlagAccepts {
  /** `off`: the listener is optional and this turns it off. */
  off?: boolean;
  /** `unix:/path`: a gRPC listener on a unix socket. */
  unix?: boolean;
}

/** A host:port listen flag ({@link parseListen}), checked when parsed and kept as given. */
export function listenOption(flags: string, description: string, accepts: ListenFlagAccepts = {}): Option {
  return checkedOption(flags, description, (text) => {
    if (accepts.off && text === 'off') return;
    if (accepts.unix && /^unix:.+/.test(text)) return;
    parseListen(text);
  });
}

/** The address of an optional listen flag: undefined when it is not given or `off`. */
export function listenAddress(text: string | undefined): ListenAddress | undefined {
  return text === undefined || text === 'off' ? undefined : parseListen(text);
}
