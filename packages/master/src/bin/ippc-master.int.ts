// ippc-master's command line as a process: --help and --version, and a clear message with exit
// status 2 on a bad flag (the flags every ippc daemon shares come from @ippc/core).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { MASTER_BIN } from '../testing/processes.js';

/** Runs ippc-master with `args` to its exit, IPPC_TOKEN unset. */
function master(args: string[]) {
  const env = { ...process.env };
  delete env.IPPC_TOKEN;
  return spawnSync(process.execPath, ['--import', 'tsx', MASTER_BIN, ...args], { encoding: 'utf8', env, timeout: 30_000 });
}

describe('ippc-master flags (process)', () => {
  it('lists its flags with their defaults under --help, and prints its version', () => {
    const help = master(['--help']);
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^Usage: ippc-master \[options\]/);
    const oneLine = help.stdout.replace(/\s+/g, ' ');
    for (const flag of [
      '--ip <ip>',
      '--port <port>',
      '--advertise_ip',
      '--token_file <path>',
      '--no_auth',
      '--credentials <path>',
      '--authenticate_http_readonly',
      '--agent_ping_timeout <duration>',
      '--allocation_interval <duration>',
      '--logging_level <level>',
    ])
      assert.ok(oneLine.includes(flag), flag);
    assert.ok(
      oneLine.includes('--agent_ping_timeout <duration> with --max_agent_ping_timeouts: how long a disconnected agent may stay away (default: "15secs")'),
      oneLine,
    );
    assert.ok(oneLine.includes('--logging_level <level> INFO, WARNING, ERROR or DEBUG (default: "INFO", env: IPPC_LOG_LEVEL)'), oneLine);
    const version = master(['--version']);
    assert.equal(version.status, 0);
    assert.equal(version.stdout, '0.1.0\n');
  });

  for (const [args, message] of [
    [['--no_auth', '--bogus'], /^error: unknown option '--bogus'/],
    [
      ['--no_auth', '--agent_ping_timeout=15'],
      /option '--agent_ping_timeout <duration>' argument '15' is invalid\. Invalid duration '15': write a number and a unit/,
    ],
    [['--no_auth', '--logging_level=LOUD'], /'LOUD' is not a logging level: use INFO, WARNING, ERROR or DEBUG/],
    [['--no_auth', '--port=99999'], /^ippc-master: --port must be a port number, not '99999'$/m],
    [['--port=0'], /^ippc-master: no shared secret: pass --token_file=PATH or set IPPC_TOKEN \(or --no_auth for local play\)$/m],
    [['--port=0', '--token_file=/nonexistent/token'], /^ippc-master: cannot read --token_file \/nonexistent\/token: ENOENT/m],
    [['--no_auth', '--port=0', '--credentials=file:///nonexistent/creds'], /^ippc-master: cannot read --credentials \/nonexistent\/creds: ENOENT/m],
    [['--no_auth', '--port=0', `--credentials=${import.meta.filename}`], /^ippc-master: --credentials .*: credentials line 1: expected 'principal secret'/m],
  ] as const) {
    it(`exits 2 on ${args.join(' ')}`, () => {
      const r = master([...args]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, message);
    });
  }
});
