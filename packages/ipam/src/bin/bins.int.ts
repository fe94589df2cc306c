// ippc-ipam-server and ippc-ipam-node as real processes: the flags every ippc daemon takes
// (--token_file, IPPC_TOKEN, the config file's token, --no_auth), --help, and the bad-flag exit.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { packageBin } from '@ippc/core/testing';
import { createIpamClient } from '../client.js';
import { startServerProcess, type ServerProcess } from '../testing/server-process.js';

const SERVER_BIN = packageBin('@ippc/ipam', 'ippc-ipam-server');
const NODE_BIN = packageBin('@ippc/ipam', 'ippc-ipam-node');

/** Runs `bin` with `args` to its exit, IPPC_TOKEN unset: the exit status and the output. */
async function runToExit(bin: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.IPPC_TOKEN;
  const child = spawn(process.execPath, ['--import', 'tsx', bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stdout, stderr };
}

describe('ippc-ipam-server and ippc-ipam-node flags (processes)', () => {
  let dir: string;
  const servers: ServerProcess[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ipam-bins-'));
  });
  after(async () => {
    for (const s of servers) await s.kill();
    await rm(dir, { recursive: true, force: true });
  });

  it('ippc-ipam-server takes the token from --token_file over IPPC_TOKEN over the config file', async () => {
    await writeFile(join(dir, 'token'), 'from-file\n');
    await writeFile(join(dir, 'config.json'), JSON.stringify({ auth: { token: 'from-config' } }));
    const cases = [
      { args: [`--token_file=${join(dir, 'token')}`, `--config=${join(dir, 'config.json')}`], env: { IPPC_TOKEN: 'from-env' }, token: 'from-file' },
      { args: [`--config=${join(dir, 'config.json')}`], env: { IPPC_TOKEN: 'from-env' }, token: 'from-env' },
      { args: [`--config=${join(dir, 'config.json')}`], env: { IPPC_TOKEN: '' }, token: 'from-config' },
    ];
    for (const [i, c] of cases.entries()) {
      const server = await startServerProcess([`--data_dir=${join(dir, `db-${i}`)}`, '--http=127.0.0.1:0', '--cooldown=1secs', ...c.args], c.env);
      servers.push(server);
      assert.notEqual(server.httpPort, null, '--http=127.0.0.1:0 serves HTTP on a free port');
      const ipam = createIpamClient({ address: server.address, auth: { token: c.token } });
      try {
        assert.deepEqual(await ipam.listPools(), [], `token ${c.token}`);
      } finally {
        ipam.close();
      }
      await server.kill('SIGTERM');
    }
  });

  it('ippc-ipam-server refuses to start without a secret, saying how to give one (exit 2)', async () => {
    const r = await runToExit(SERVER_BIN, ['--listen=127.0.0.1:0', '--http=off', `--data_dir=${join(dir, 'db-none')}`]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^ippc-ipam-server: no shared secret: pass --token_file=PATH, set IPPC_TOKEN or give auth\.token in the --config file \(or --no_auth for local play\)$/m,
    );
    const node = await runToExit(NODE_BIN, ['--service=127.0.0.1:1', `--socket=${join(dir, 'ipam.sock')}`]);
    assert.equal(node.code, 2, node.stderr);
    assert.match(node.stderr, /^ippc-ipam-node: no shared secret: pass --token_file=PATH or set IPPC_TOKEN \(or --no_auth for local play\)$/m);
  });

  for (const [bin, path, flags, required] of [
    [
      'ippc-ipam-server',
      SERVER_BIN,
      ['--config', '--listen', '--http', '--data_dir', '--etcd', '--etcd_prefix', '--cooldown', '--no_fsync', '--token_file', '--no_auth', '--logging_level'],
      [],
    ],
    [
      'ippc-ipam-node',
      NODE_BIN,
      ['--service', '--socket', '--node', '--install_plugin', '--flavor', '--token_file', '--no_auth', '--logging_level'],
      ['--service=127.0.0.1:1'],
    ],
  ] as const) {
    it(`${bin}: --help lists its flags with their defaults; a bad flag exits 2 with a message`, async () => {
      const help = await runToExit(path, ['--help']);
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, new RegExp(`^Usage: ${bin} \\[options\\]`));
      for (const flag of flags) assert.match(help.stdout, new RegExp(`${flag}\\b`), flag);
      const oneLine = help.stdout.replace(/\s+/g, ' ');
      assert.match(oneLine, /--no_auth [^(]*\(local play only\) \(default: false\)/);
      assert.ok(oneLine.includes('--logging_level <level> INFO, WARNING, ERROR or DEBUG (default: "INFO", env: IPPC_LOG_LEVEL)'), oneLine);
      const unknown = await runToExit(path, [...required, '--no-auth']);
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /^error: unknown option '--no-auth'/);
      const level = await runToExit(path, [...required, '--no_auth', '--logging_level=LOUD']);
      assert.equal(level.code, 2);
      assert.match(level.stderr, /'LOUD' is not a logging level: use INFO, WARNING, ERROR or DEBUG/);
    });
  }

  it("ippc-ipam-server: durations in Mesos's syntax, listen addresses as host:port; ippc-ipam-node: --service is required", async () => {
    const duration = await runToExit(SERVER_BIN, ['--no_auth', '--cooldown=30']);
    assert.equal(duration.code, 2);
    assert.match(duration.stderr, /option '--cooldown <duration>' argument '30' is invalid\. Invalid duration '30': write a number and a unit/);
    const http = await runToExit(SERVER_BIN, ['--no_auth', '--http=']);
    assert.equal(http.code, 2);
    assert.match(http.stderr, /option '--http <host:port>' argument '' is invalid\. '' is not host:port/);
    const service = await runToExit(NODE_BIN, ['--no_auth']);
    assert.equal(service.code, 2);
    assert.match(service.stderr, /required option '--service <host:port>' not specified/);
    const flavor = await runToExit(NODE_BIN, ['--service=127.0.0.1:1', '--no_auth', '--flavor=go']);
    assert.equal(flavor.code, 2);
    assert.match(flavor.stderr, /option '--flavor <flavor>' argument 'go' is invalid\. Allowed choices are native, sh\./);
  });
});
