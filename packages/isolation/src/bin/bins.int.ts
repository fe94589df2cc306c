// ippc-isolation-server and ippc-isolation-node as real processes: readiness line, gRPC on a unix
// socket, metrics and health over HTTP, state kept across a restart, refusal to start without a
// token; --help and the bad-flag exit of both.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createIsolationClient } from '../client.js';
import { packageBin } from '@ippc/core/testing';
import { PACKAGE_DIR } from '../testing/paths.js';

const SERVER_BIN_PATH = packageBin('@ippc/isolation', 'ippc-isolation-server');
const NODE_BIN_PATH = packageBin('@ippc/isolation', 'ippc-isolation-node');

/** Runs `bin` with `args` to its exit (IPPC_TOKEN unset): the exit status and the output. */
async function runToExit(bin: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.IPPC_TOKEN;
  const child = spawn(process.execPath, ['--import', 'tsx', bin, ...args], { cwd: PACKAGE_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stdout, stderr };
}

function start(args: string[]): { child: ChildProcess; ready: Promise<{ port: number; metricsPort: number }>; output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER_BIN_PATH, ...args], { cwd: PACKAGE_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const ready = new Promise<{ port: number; metricsPort: number }>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{"ready":true'));
      if (line) resolve(JSON.parse(line) as { port: number; metricsPort: number });
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
  });
  return { child, ready, output: () => out };
}

const stop = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });

describe('ippc-isolation-server (process)', () => {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('serves gRPC, metrics and health, keeps its state across a restart, stops on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iso-bin-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const address = `unix:${join(dir, 'isolation.sock')}`;
    await writeFile(join(dir, 'token'), 'sekret\n');
    const args = [`--listen=${address}`, '--metrics_listen=127.0.0.1:0', `--data_file=${join(dir, 'state.json')}`, `--token_file=${join(dir, 'token')}`];
    const first = start(args);
    cleanups.push(() => stop(first.child));
    const { metricsPort } = await first.ready;
    const client = createIsolationClient({ address, auth: { token: 'sekret' } });
    cleanups.push(() => client.close());
    await client.registerAgent({ id: 'a1', nodeAddresses: ['10.240.0.11'], subnets: ['10.240.1.0/24'] });
    await client.addRule({ id: 'kept', from: 'web', to: 'db', ports: [5432] });
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(metrics, /ippc_isolation_rules\{component="isolation"\} 1/);
    assert.match(metrics, /ippc_isolation_agents\{connected="false",component="isolation"\} 1/);
    const health = (await (await fetch(`http://127.0.0.1:${metricsPort}/health`)).json()) as { status: string; revision: number };
    assert.deepEqual([health.status, health.revision], ['ok', 2]);
    assert.equal(await stop(first.child), 0);
    const second = start(args);
    cleanups.push(() => stop(second.child));
    await second.ready;
    assert.deepEqual(
      (await client.listRules()).map((r) => r.id),
      ['kept'],
    );
    assert.deepEqual(
      (await client.listAgents()).agents.map((a) => a.id),
      ['a1'],
    );
  });

  it('refuses to start without a token, saying how to give one', async () => {
    const r = await runToExit(SERVER_BIN_PATH, ['--listen=127.0.0.1:0', '--metrics_listen=off']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^ippc-isolation-server: no shared secret: pass --token_file=PATH or set IPPC_TOKEN \(or --no_auth for local play\)$/m);
  });

  for (const [bin, path, flags] of [
    ['ippc-isolation-server', SERVER_BIN_PATH, ['--listen', '--metrics_listen', '--data_file', '--token_file', '--no_auth', '--logging_level']],
    [
      'ippc-isolation-node',
      NODE_BIN_PATH,
      [
        '--service',
        '--agent_id',
        '--node_address',
        '--data_dir',
        '--route_protocol',
        '--no_routes',
        '--apply_timeout',
        '--install_plugin',
        '--plugin_flavor',
        '--metrics_listen',
        '--token_file',
        '--no_auth',
        '--logging_level',
      ],
    ],
  ] as const) {
    it(`${bin}: --help lists its flags with their defaults; a bad flag exits 2 with a message`, async () => {
      const help = await runToExit(path, ['--help']);
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, new RegExp(`^Usage: ${bin} \\[options\\]`));
      for (const flag of flags) assert.match(help.stdout, new RegExp(`${flag}\\b`), flag);
      const oneLine = help.stdout.replace(/\s+/g, ' ');
      assert.ok(oneLine.includes('--logging_level <level> INFO, WARNING, ERROR or DEBUG (default: "INFO", env: IPPC_LOG_LEVEL)'), oneLine);
      const required = bin === 'ippc-isolation-node' ? ['--service=unix:/nowhere', '--agent_id=a1'] : [];
      const unknown = await runToExit(path, [...required, '--metrics-listen=off']);
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /^error: unknown option '--metrics-listen=off'/);
      const secret = await runToExit(path, [...required, '--token', 'sekret']);
      assert.equal(secret.code, 2, 'no secret on the command line');
      assert.match(secret.stderr, /unknown option '--token'/);
      const listen = await runToExit(path, [...required, '--metrics_listen=7071']);
      assert.equal(listen.code, 2);
      assert.match(listen.stderr, /option '--metrics_listen <host:port>' argument '7071' is invalid\. '7071' is not host:port/);
      const level = await runToExit(path, [...required, '--logging_level=LOUD']);
      assert.equal(level.code, 2);
      assert.match(level.stderr, /'LOUD' is not a logging level: use INFO, WARNING, ERROR or DEBUG/);
    });
  }

  it('ippc-isolation-node: a bad duration or a missing flag exits 2', async () => {
    const duration = await runToExit(NODE_BIN_PATH, ['--service=unix:/nowhere', '--agent_id=a1', '--no_auth', '--apply_timeout=5000']);
    assert.equal(duration.code, 2);
    assert.match(duration.stderr, /option '--apply_timeout <duration>' argument '5000' is invalid\. Invalid duration '5000'/);
    const missing = await runToExit(NODE_BIN_PATH, ['--service=unix:/nowhere', '--no_auth']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /required option '--agent_id <id>' not specified/);
  });
});
