// The ippc-dns command as a separate process: flags, the ready line, answers, a clean stop.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Resolver } from 'node:dns/promises';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { packageBin } from '@ippc/core/testing';
import { startFakeMaster } from '../testing/fake-master.js';
import { loadFixture } from '../fixtures/index.js';

const BIN = packageBin('@ippc/dns', 'ippc-dns');

function run(args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

async function collect(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

describe('ippc-dns command', () => {
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  });

  it('prints its flags with --help', async () => {
    const r = await collect(run(['--help']));
    assert.equal(r.code, 0);
    for (const flag of ['--master', '--domain', '--listen', '--ip_sources', '--upstream', '--refresh', '--stale_after', '--json', '--logging_level'])
      assert.match(r.stdout, new RegExp(flag));
    const oneLine = r.stdout.replace(/\s+/g, ' ');
    assert.ok(oneLine.includes('--refresh <duration> how often to poll the master (default: "2secs", env: IPPC_DNS_REFRESH)'), oneLine);
    assert.ok(oneLine.includes('--logging_level <level> INFO, WARNING, ERROR or DEBUG (default: "INFO", env: IPPC_LOG_LEVEL)'), oneLine);
  });

  it("exits 2 with a message naming the flag on an unknown flag, a duration not in Mesos's syntax or a bad listen address", async () => {
    const unknown = await collect(run(['--master', 'http://127.0.0.1:1', '--ip-sources', 'netinfo']));
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^error: unknown option '--ip-sources'/);
    const duration = await collect(run(['--master', 'http://127.0.0.1:1', '--stale_after', '0']));
    assert.equal(duration.code, 2);
    assert.match(duration.stderr, /option '--stale_after <duration>' argument '0' is invalid\. Invalid duration '0': write a number and a unit/);
    const listen = await collect(run(['--master', 'http://127.0.0.1:1', '--listen', '53']));
    assert.equal(listen.code, 2);
    assert.match(listen.stderr, /option '--listen <host:port>' argument '53' is invalid\. '53' is not host:port/);
  });

  it('exits 2 with the mesos-dns message for bad IP sources, binding nothing', async () => {
    const r = await collect(run(['--master', 'http://127.0.0.1:1', '--listen', '127.0.0.1:0', '--ip_sources', 'netinfo,nope']));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid ip source "nope"/);
    const empty = await collect(run(['--master', 'http://127.0.0.1:1', '--listen', '127.0.0.1:0', '--ip_sources', '', '--json']));
    assert.equal(empty.code, 2);
    assert.equal((JSON.parse(empty.stderr.trim()) as { error: { message: string } }).error.message, 'empty ip sources');
  });

  it("serves a fake master's tasks, logs JSON with --json, and stops cleanly on SIGTERM", async () => {
    const master = await startFakeMaster({ state: loadFixture('mesos-1x-state.json') });
    try {
      const child = run(['--master', master.url, '--listen', '127.0.0.1:0', '--json', '--refresh', '200ms', '--domain', 'mesos']);
      children.push(child);
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d));
      const lines = createInterface({ input: child.stdout! });
      const [first] = (await Promise.race([
        once(lines, 'line'),
        new Promise((_, reject) => setTimeout(() => reject(new Error(`no ready line; stderr: ${stderr}`)), 15_000).unref()),
      ])) as [string];
      const ready = JSON.parse(first) as { event: string; port: number; domain: string };
      assert.equal(ready.event, 'listening');
      assert.equal(ready.domain, 'mesos');
      const resolver = new Resolver({ timeout: 1000, tries: 1 });
      resolver.setServers([`127.0.0.1:${ready.port}`]);
      let answer: string[] = [];
      for (let i = 0; i < 100 && answer.length === 0; i++) {
        answer = await resolver.resolve4('web.marathon.mesos').catch(() => []);
        if (answer.length === 0) await new Promise((r) => setTimeout(r, 50));
      }
      assert.deepEqual(answer, ['192.168.0.2']);
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      assert.equal(code, 0);
      const logs = stderr
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { msg: string; component: string });
      assert.ok(
        logs.some((l) => l.msg === 'zone updated' && l.component === 'dns'),
        stderr,
      );
    } finally {
      await master.close();
    }
  });
});
