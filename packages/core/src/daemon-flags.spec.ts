import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Option, type Command } from 'commander';
import {
  BAD_FLAG_EXIT_CODE,
  authFromFlags,
  checkedOption,
  createDaemonCommand,
  daemonAuth,
  exitBadFlag,
  listenAddress,
  listenOption,
  loggerLevel,
  loggingLevelOption,
  noAuthOption,
  parseListen,
  tokenFileOption,
} from './daemon-flags.js';

/** Thrown by a test command instead of exiting. */
class Exited extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** A daemon command whose exit throws {@link Exited} and whose output is captured. */
function daemon(...options: Option[]): { program: Command; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const program = createDaemonCommand('ippc-test', 'a test daemon', {
    version: '9.9.9',
    exit: (code) => {
      throw new Exited(code);
    },
  });
  program.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s), getOutHelpWidth: () => 200, getErrHelpWidth: () => 200 });
  for (const o of options) program.addOption(o);
  return { program, out: () => out, err: () => err };
}

/** Parses `args` (user arguments); the exit status when the command exits, else undefined. */
function parse(program: Command, args: string[]): number | undefined {
  try {
    program.parse(args, { from: 'user' });
    return undefined;
  } catch (err) {
    if (err instanceof Exited) return err.code;
    throw err;
  }
}

/** Runs `fn`; the exit status it exits with (it must exit). */
function exitOf(fn: () => unknown): number {
  try {
    fn();
  } catch (err) {
    if (err instanceof Exited) return err.code;
    throw err;
  }
  assert.fail('did not exit');
}

// A Mesos-style duration check, standing in for @ippc/mesos's parseDuration (core cannot import it).
const duration = (text: string) => {
  const m = /^(\d+)(ms|secs)$/.exec(text);
  if (!m) throw new Error(`Invalid duration '${text}': write a number and a unit, e.g. 15secs`);
  return Number(m[1]) * (m[2] === 'secs' ? 1000 : 1);
};

describe('createDaemonCommand: --help, --version, the bad-flag exit', () => {
  it('lists every flag with its default under --help and exits 0', () => {
    const d = daemon(new Option('--data_dir <dir>', 'where state is kept').default('/var/lib/x'), tokenFileOption(), noAuthOption(), loggingLevelOption());
    assert.equal(parse(d.program, ['--help']), 0);
    assert.match(d.out(), /^Usage: ippc-test \[options\]\n\na test daemon\n\nOptions:\n/);
    assert.match(d.out(), /--data_dir <dir> +where state is kept \(default: "\/var\/lib\/x"\)/);
    assert.match(d.out(), /--token_file <path> +file holding the shared secret \(else env IPPC_TOKEN\)/);
    assert.match(d.out(), /--no_auth +disable authentication \(local play only\) \(default: false\)/);
    assert.match(d.out(), /--logging_level <level> +INFO, WARNING, ERROR or DEBUG \(default: "INFO", env: IPPC_LOG_LEVEL\)/);
    assert.match(d.out(), /--version +output the version number/);
    const v = daemon();
    assert.equal(parse(v.program, ['--version']), 0);
    assert.equal(v.out(), '9.9.9\n');
  });

  it("exits 2 with commander's message and the usage on an unknown flag, a missing value or a missing mandatory flag", () => {
    const unknown = daemon();
    assert.equal(parse(unknown.program, ['--data-dir=/x']), BAD_FLAG_EXIT_CODE);
    assert.match(unknown.err(), /^error: unknown option '--data-dir=\/x'\n\nUsage: ippc-test \[options\]/);
    const missing = daemon(new Option('--service <host:port>', 'the service').makeOptionMandatory());
    assert.equal(parse(missing.program, []), 2);
    assert.match(missing.err(), /required option '--service <host:port>' not specified/);
    const noValue = daemon(new Option('--service <host:port>', 'the service'));
    assert.equal(parse(noValue.program, ['--service']), 2);
    assert.match(noValue.err(), /option '--service <host:port>' argument missing/);
  });

  it('exitBadFlag says `<name>: <message>` without the usage and exits 2', () => {
    const d = daemon();
    parse(d.program, []);
    assert.equal(
      exitOf(() => exitBadFlag(d.program, "--port must be a port number, not 'x'")),
      2,
    );
    assert.equal(d.err(), "ippc-test: --port must be a port number, not 'x'\n");
  });
});

describe('checkedOption (durations)', () => {
  it('keeps the text as given when the check accepts it', () => {
    const d = daemon(checkedOption('--refresh <duration>', 'how often', duration).default('2secs'));
    parse(d.program, ['--refresh=500ms']);
    assert.equal(d.program.opts().refresh, '500ms');
    const dflt = daemon(checkedOption('--refresh <duration>', 'how often', duration).default('2secs'));
    parse(dflt.program, []);
    assert.equal(dflt.program.opts().refresh, '2secs');
  });

  it("turns a rejected text into a bad flag naming the flag, with the check's message", () => {
    const d = daemon(checkedOption('--refresh <duration>', 'how often', duration));
    assert.equal(parse(d.program, ['--refresh', '2s']), 2);
    assert.match(d.err(), /^error: option '--refresh <duration>' argument '2s' is invalid\. Invalid duration '2s': write a number and a unit, e\.g\. 15secs\n/);
  });
});

describe('authFromFlags (--token_file, IPPC_TOKEN, --no_auth)', () => {
  it('reads the token file (trimmed), which wins over the environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ippc-auth-'));
    try {
      writeFileSync(join(dir, 'token'), '  s3cret\n');
      assert.deepEqual(authFromFlags({ tokenFile: join(dir, 'token') }, { IPPC_TOKEN: 'from-env' }), { token: 's3cret' });
      writeFileSync(join(dir, 'empty'), '\n');
      assert.equal(authFromFlags({ tokenFile: join(dir, 'empty') }, { IPPC_TOKEN: 'from-env' }), undefined, 'an empty file is no secret');
      assert.throws(() => authFromFlags({ tokenFile: join(dir, 'missing') }, {}), /ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('falls back to IPPC_TOKEN; --no_auth disables; nothing given is undefined', () => {
    assert.deepEqual(authFromFlags({}, { IPPC_TOKEN: 'from-env' }), { token: 'from-env' });
    assert.deepEqual(authFromFlags({ noAuth: true, tokenFile: '/nonexistent' }, { IPPC_TOKEN: 'x' }), { disabled: true });
    assert.equal(authFromFlags({}, {}), undefined);
  });
});

describe('daemonAuth: flags over environment over file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ippc-daemon-auth-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  /** The flags as the command parses them. */
  const flagsOf = (args: string[]) => {
    const d = daemon(tokenFileOption(), noAuthOption());
    parse(d.program, args);
    return d.program.opts<{ token_file?: string; no_auth?: boolean }>();
  };

  it('takes the token from --token_file, else IPPC_TOKEN, else the fallback; --no_auth disables', () => {
    writeFileSync(join(dir, 'token'), 's3cret\n');
    const file = flagsOf([`--token_file=${join(dir, 'token')}`]);
    assert.deepEqual(daemonAuth(file, { env: { IPPC_TOKEN: 'env' }, fallback: { token: 'file' } }), { token: 's3cret' });
    assert.deepEqual(daemonAuth(flagsOf([]), { env: { IPPC_TOKEN: 'env' }, fallback: { token: 'file' } }), { token: 'env' });
    assert.deepEqual(daemonAuth(flagsOf([]), { env: {}, fallback: { token: 'file' } }), { token: 'file' });
    assert.deepEqual(daemonAuth(flagsOf(['--no_auth', `--token_file=${join(dir, 'token')}`]), { env: { IPPC_TOKEN: 'env' } }), { disabled: true });
  });

  it('says how to give a secret when there is none', () => {
    assert.throws(() => daemonAuth(flagsOf([]), { env: {} }), {
      name: 'FlagError',
      code: 'FLAG_INVALID',
      message: 'no shared secret: pass --token_file=PATH or set IPPC_TOKEN (or --no_auth for local play)',
    });
    assert.throws(() => daemonAuth(flagsOf([]), { env: {}, fallbackHint: 'auth.token in the --config file' }), {
      message: 'no shared secret: pass --token_file=PATH, set IPPC_TOKEN or give auth.token in the --config file (or --no_auth for local play)',
    });
  });

  it('refuses a token file it cannot read, or an empty one (not falling back to IPPC_TOKEN)', () => {
    assert.throws(() => daemonAuth(flagsOf([`--token_file=${join(dir, 'missing')}`]), { env: { IPPC_TOKEN: 'env' } }), {
      code: 'FLAG_INVALID',
      message: /^cannot read --token_file .*missing: ENOENT/,
    });
    writeFileSync(join(dir, 'empty'), '\n');
    assert.throws(() => daemonAuth(flagsOf([`--token_file=${join(dir, 'empty')}`]), { env: { IPPC_TOKEN: 'env' } }), {
      message: `--token_file ${join(dir, 'empty')} is empty: write the shared secret into it`,
    });
  });

  it('takes no secret on the command line', () => {
    const d = daemon(tokenFileOption(), noAuthOption());
    assert.equal(parse(d.program, ['--token=s3cret']), 2);
    assert.match(d.err(), /unknown option '--token=s3cret'/);
  });
});

describe('--logging_level', () => {
  it("maps Mesos's levels (any case) and the logger's own names", () => {
    assert.deepEqual(['INFO', 'WARNING', 'ERROR', 'DEBUG', 'warning', 'info'].map(loggerLevel), ['info', 'warn', 'error', 'debug', 'warn', 'info']);
    assert.deepEqual(['warn', 'trace', 'silent'].map(loggerLevel), ['warn', 'trace', 'silent']);
    assert.throws(() => loggerLevel('LOUD'), { code: 'FLAG_INVALID', message: "'LOUD' is not a logging level: use INFO, WARNING, ERROR or DEBUG" });
  });

  it('takes the flag over env IPPC_LOG_LEVEL over INFO, and rejects a bad level as a bad flag', () => {
    const saved = process.env.IPPC_LOG_LEVEL;
    try {
      delete process.env.IPPC_LOG_LEVEL;
      const dflt = daemon(loggingLevelOption());
      parse(dflt.program, []);
      assert.equal(dflt.program.opts().logging_level, 'INFO');
      process.env.IPPC_LOG_LEVEL = 'warn';
      const env = daemon(loggingLevelOption());
      parse(env.program, []);
      assert.equal(env.program.opts().logging_level, 'warn');
      const flag = daemon(loggingLevelOption());
      parse(flag.program, ['--logging_level=DEBUG']);
      assert.equal(flag.program.opts().logging_level, 'DEBUG');
      const bad = daemon(loggingLevelOption());
      assert.equal(parse(bad.program, ['--logging_level=LOUD']), 2);
      assert.match(bad.err(), /option '--logging_level <level>' argument 'LOUD' is invalid\. 'LOUD' is not a logging level/);
    } finally {
      if (saved === undefined) delete process.env.IPPC_LOG_LEVEL;
      else process.env.IPPC_LOG_LEVEL = saved;
    }
  });
});

describe('listen flags', () => {
  it('parses host:port, [v6]:port and :port', () => {
    assert.deepEqual(parseListen('127.0.0.1:7071'), { host: '127.0.0.1', port: 7071 });
    assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
    assert.deepEqual(parseListen(':7071'), { host: '0.0.0.0', port: 7071 });
    assert.deepEqual(parseListen('localhost:53'), { host: 'localhost', port: 53 });
    for (const bad of ['7071', '127.0.0.1', '127.0.0.1:http', '127.0.0.1:65536', 'a b:1', '']) {
      assert.throws(
        () => parseListen(bad),
        { code: 'FLAG_INVALID', message: `'${bad}' is not host:port: write e.g. 127.0.0.1:7071, [::1]:7071, or :7071 for every interface` },
        bad,
      );
    }
  });

  it('checks a listen flag when parsed; `off` and `unix:` only where the flag takes them', () => {
    const d = daemon(listenOption('--http <host:port>', 'HTTP', { off: true }), listenOption('--listen <address>', 'gRPC', { unix: true }));
    parse(d.program, ['--http=off', '--listen=unix:/run/x.sock']);
    assert.deepEqual(d.program.opts(), { http: 'off', listen: 'unix:/run/x.sock' });
    assert.equal(listenAddress(d.program.opts().http), undefined);
    assert.equal(listenAddress(undefined), undefined);
    assert.deepEqual(listenAddress('0.0.0.0:7461'), { host: '0.0.0.0', port: 7461 });
    const bad = daemon(listenOption('--metrics_listen <host:port>', 'metrics'));
    assert.equal(parse(bad.program, ['--metrics_listen', 'off']), 2);
    assert.match(bad.err(), /^error: option '--metrics_listen <host:port>' argument 'off' is invalid\. 'off' is not host:port/);
    const unix = daemon(listenOption('--http <host:port>', 'HTTP', { off: true }));
    assert.equal(parse(unix.program, ['--http=unix:/x']), 2);
  });
});
