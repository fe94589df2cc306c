import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CNI_SPEC_ERROR_CODES, CniError } from './errors.js';
import { CNI_MAX_CONFIG_BYTES, createCniDaemon, type CniDaemon, type CniHandle } from './daemon.js';
import { hasCCompiler, installCniForwarder, type CniForwarderFlavor } from './forwarder.js';
import type { CniRequest } from './request.js';

// The daemon side of a thick plugin on a real unix socket: what a handler gets, what the caller
// gets back, and the forwarder of either flavour talking to it.

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function call(socketPath: string, method: string, path: string, headers: Record<string, string> = {}, body = ''): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function hasCurl(): boolean {
  try {
    execFileSync('curl', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function run(path: string, env: Record<string, string>, stdin: string): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, [], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['pipe', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}

describe('createCniDaemon', () => {
  let dir: string;
  let socketPath: string;
  let daemon: CniDaemon;
  const seen: CniRequest[] = [];
  /** What the handler does next. */
  let handle: CniHandle = () => Promise.resolve({ status: 200, body: '' });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'core-cni-daemon-'));
    socketPath = join(dir, 'run', 'plugin.sock');
    daemon = createCniDaemon({
      socketPath,
      path: '/v1/cni',
      handle: (req, c) => {
        seen.push(req);
        return handle(req, c);
      },
      serve: async (req, res) => {
        if (req.url === '/mine') res.writeHead(200).end('mine');
        else res.writeHead(404).end('{"error":"not mine"}');
      },
    });
    assert.equal(daemon.listening, false);
    await daemon.start();
  });
  after(async () => {
    await daemon.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('listens on its socket, mode 0600, in a folder it made; GET /health answers', async () => {
    assert.equal(daemon.listening, true);
    assert.equal(statSync(socketPath).mode & 0o777, 0o600);
    const health = await call(socketPath, 'GET', '/health');
    assert.deepEqual([health.status, health.body], [200, '{"status":"ok"}']);
  });

  it('hands the handler the X-Cni-* headers (absent when empty) and the body, and answers its status and body verbatim', async () => {
    seen.length = 0;
    handle = () => Promise.resolve({ status: 200, body: '{"cniVersion":"1.0.0"}' });
    const headers = {
      'X-Cni-Command': 'ADD',
      'X-Cni-ContainerId': 'c1',
      'X-Cni-Netns': '/run/netns/x',
      'X-Cni-IfName': 'eth0',
      'X-Cni-Args': 'A=1',
      'X-Cni-Path': '/opt/cni/bin',
    };
    const ok = await call(socketPath, 'POST', '/v1/cni', headers, '{"cniVersion":"1.0.0","name":"n"}');
    assert.deepEqual([ok.status, ok.body, ok.headers['content-type'], ok.headers.connection], [200, '{"cniVersion":"1.0.0"}', 'application/json', 'close']);
    assert.deepEqual(seen, [
      {
        command: 'ADD',
        containerId: 'c1',
        netns: '/run/netns/x',
        ifName: 'eth0',
        args: 'A=1',
        path: '/opt/cni/bin',
        stdin: '{"cniVersion":"1.0.0","name":"n"}',
      },
    ]);

    handle = () => Promise.resolve(new CniError(CNI_SPEC_ERROR_CODES.INVALID_ENV, 'CNI_IFNAME is not set').toResponse('0.4.0'));
    const refused = await call(socketPath, 'POST', '/v1/cni', { 'X-Cni-Command': 'DEL', 'X-Cni-IfName': '' }, '{}');
    assert.deepEqual([refused.status, JSON.parse(refused.body)], [400, { cniVersion: '0.4.0', code: 4, msg: 'CNI_IFNAME is not set' }]);
    assert.deepEqual(seen[1], { command: 'DEL', containerId: undefined, netns: undefined, ifName: undefined, args: undefined, path: undefined, stdin: '{}' });
  });

  it('refuses a config over the limit with code 6, without the handler', async () => {
    seen.length = 0;
    const big = await call(socketPath, 'POST', '/v1/cni', { 'X-Cni-Command': 'ADD' }, 'x'.repeat(CNI_MAX_CONFIG_BYTES + 1));
    assert.equal(big.status, 400);
    assert.deepEqual(JSON.parse(big.body), { cniVersion: '1.0.0', code: 6, msg: `network config larger than ${CNI_MAX_CONFIG_BYTES} bytes` });
    assert.equal(seen.length, 0);
  });

  it('writes an early answer at once and ignores the result; a handler that throws is answered 500', async () => {
    let resolveLate: () => void = () => undefined;
    const late = new Promise<void>((r) => (resolveLate = r));
    handle = async (_req, c) => {
      c.answer({ status: 200, body: 'early' });
      await late;
      return { status: 400, body: 'late' };
    };
    const early = await call(socketPath, 'POST', '/v1/cni', { 'X-Cni-Command': 'ADD' });
    assert.deepEqual([early.status, early.body], [200, 'early']);
    resolveLate();
    handle = () => Promise.reject(new Error('broken'));
    const broken = await call(socketPath, 'POST', '/v1/cni', { 'X-Cni-Command': 'ADD' });
    assert.deepEqual([broken.status, JSON.parse(broken.body)], [500, { error: 'broken' }]);
  });

  it("hands every other request to the plugin's own endpoints; without them, 404 with a CNI error", async () => {
    assert.equal((await call(socketPath, 'GET', '/mine')).body, 'mine');
    assert.equal((await call(socketPath, 'GET', '/v1/cni')).body, '{"error":"not mine"}');
    const bare = createCniDaemon({ socketPath: join(dir, 'bare.sock'), handle: () => Promise.resolve({ status: 200, body: '' }) });
    await bare.start();
    try {
      const missing = await call(bare.socketPath, 'POST', '/v1/cni');
      assert.deepEqual([missing.status, JSON.parse(missing.body)], [404, { cniVersion: '1.0.0', code: 4, msg: 'no such endpoint: POST /v1/cni' }]);
      assert.equal((await call(bare.socketPath, 'POST', '/cni')).status, 200, 'the default path');
    } finally {
      await bare.close();
    }
  });

  it('replaces a stale socket file at start, and removes its socket at close', async () => {
    const path = join(dir, 'stale.sock');
    writeFileSync(path, 'left behind');
    const d = createCniDaemon({ socketPath: path, handle: () => Promise.resolve({ status: 200, body: '' }) });
    await d.start();
    assert.equal((await call(path, 'GET', '/health')).status, 200);
    await d.close();
    assert.equal(d.listening, false);
    assert.throws(() => statSync(path), /ENOENT/);
  });

  const flavors: { flavor: CniForwarderFlavor; skip: string | false }[] = [
    { flavor: 'native', skip: hasCCompiler() ? false : 'no C compiler (cc) on this machine' },
    { flavor: 'sh', skip: hasCurl() ? false : 'no curl on this machine' },
  ];
  for (const { flavor, skip } of flavors) {
    it(`serves the ${flavor} forwarder: its stdout and exit code are the handler's answer`, { skip }, async () => {
      const fwd = installCniForwarder({
        dir: join(dir, flavor),
        name: 'fwd-test',
        defaultSocket: socketPath,
        socketKey: 'socket',
        urlPath: '/v1/cni',
        supportedVersions: ['1.0.0'],
        flavor,
      });
      seen.length = 0;
      handle = (req) =>
        Promise.resolve(
          req.containerId === 'bad'
            ? new CniError(7, 'bad config', 'why').toResponse('1.0.0')
            : { status: 200, body: `{"cniVersion":"1.0.0","for":"${req.containerId}"}\n` },
        );
      const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0', CNI_NETNS: '/run/netns/x', CNI_PATH: '/opt/cni/bin' };
      const config = '{"cniVersion":"1.0.0","name":"n","type":"fwd-test"}';
      assert.deepEqual(await run(fwd.path, env, config), { code: 0, stdout: '{"cniVersion":"1.0.0","for":"c1"}\n' });
      const { stdin, ...rest } = seen[0]!;
      assert.deepEqual(rest, { command: 'ADD', containerId: 'c1', netns: '/run/netns/x', ifName: 'eth0', args: undefined, path: '/opt/cni/bin' });
      assert.deepEqual(JSON.parse(stdin), JSON.parse(config));
      assert.deepEqual(await run(fwd.path, { ...env, CNI_CONTAINERID: 'bad' }, config), {
        code: 1,
        stdout: '{"cniVersion":"1.0.0","code":7,"msg":"bad config","details":"why"}',
      });
    });
  }
});
