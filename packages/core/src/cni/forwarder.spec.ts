import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CniForwarderError, hasCCompiler, installCniForwarder, type CniForwarderFlavor, type InstalledCniForwarder } from './forwarder.js';
import { isIppcError } from '../errors.js';

// Both flavours of the forwarder, built as two different plugins would build them, against a
// daemon on a unix socket: what reaches the daemon, what the runtime sees, and every failure.

function hasCurl(): boolean {
  try {
    execFileSync('curl', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

interface Seen {
  method: string;
  url: string;
  httpVersion: string;
  headers: IncomingHttpHeaders;
  body: string;
}

function run(path: string, env: Record<string, string>, stdin: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, [], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}

const flavors: { flavor: CniForwarderFlavor; skip: string | false }[] = [
  { flavor: 'native', skip: hasCCompiler() ? false : 'no C compiler (cc) on this machine' },
  { flavor: 'sh', skip: hasCurl() ? false : 'no curl on this machine' },
];

describe('installCniForwarder', () => {
  let dir: string;
  let server: Server;
  let socket: string;
  const seen: Seen[] = [];
  /** What the daemon answers next: status and body. */
  let answer: { status: number; body: string } = { status: 200, body: '' };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'core-fwd-'));
    socket = join(dir, 'daemon.sock');
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({
          method: req.method ?? '',
          url: req.url ?? '',
          httpVersion: req.httpVersion,
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  for (const { flavor, skip } of flavors) {
    describe(`${flavor} flavour`, { skip }, () => {
      let ipam: InstalledCniForwarder;
      let iso: InstalledCniForwarder;
      before(() => {
        // The two shapes ippc uses: a nested key (an IPAM plugin's ipam section) and a top-level one.
        ipam = installCniForwarder({
          dir: join(dir, flavor),
          name: 'fwd-ipam',
          defaultSocket: join(dir, 'nobody.sock'),
          socketKey: 'ipam.daemonSocket',
          urlPath: '/v1/cni',
          supportedVersions: ['0.2.0', '1.0.0'],
          flavor,
        });
        iso = installCniForwarder({
          dir: join(dir, flavor),
          name: 'fwd-iso',
          defaultSocket: socket,
          socketKey: 'socket',
          supportedVersions: ['1.0.0', '1.1.0'],
          daemon: 'fwd-iso-agent',
          hint: 'start fwd-iso-agent, then retry',
          flavor,
        });
      });

      it('installs the asked flavour, executable, and nothing else in the folder', () => {
        assert.deepEqual([ipam.flavor, iso.flavor], [flavor, flavor]);
        assert.deepEqual(readdirSync(join(dir, flavor)).sort(), ['fwd-ipam', 'fwd-iso']);
      });

      it('answers VERSION itself, with the config version and its own list, without a daemon', async () => {
        const r = await run(ipam.path, { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.2.0"}');
        assert.equal(r.code, 0);
        assert.deepEqual(JSON.parse(r.stdout), { cniVersion: '0.2.0', supportedVersions: ['0.2.0', '1.0.0'] });
        const r2 = await run(iso.path, { CNI_COMMAND: 'VERSION' }, '');
        assert.deepEqual(JSON.parse(r2.stdout), { cniVersion: '1.0.0', supportedVersions: ['1.0.0', '1.1.0'] });
      });

      it('forwards the CNI environment as headers and the config as the body, and prints the answer', async () => {
        seen.length = 0;
        answer = { status: 200, body: '{"cniVersion":"1.0.0","ips":[]}' };
        const config = JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'fwd-ipam', ipam: { type: 'fwd-ipam', daemonSocket: socket } });
        const env = {
          CNI_COMMAND: 'ADD',
          CNI_CONTAINERID: 'c1',
          CNI_NETNS: '/run/netns/x',
          CNI_IFNAME: 'eth0',
          CNI_ARGS: 'IP=10.250.0.5;K=v',
          CNI_PATH: '/opt/cni/bin:/usr/lib/cni',
        };
        const r = await run(ipam.path, env, config);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.equal(r.stdout, answer.body);
        assert.equal(seen.length, 1);
        const s = seen[0]!;
        assert.deepEqual([s.method, s.url, s.httpVersion], ['POST', '/v1/cni', '1.0']);
        assert.equal(s.headers.host, 'fwd-ipam');
        assert.equal(s.headers['content-type'], 'application/json');
        assert.deepEqual(
          [
            s.headers['x-cni-command'],
            s.headers['x-cni-containerid'],
            s.headers['x-cni-netns'],
            s.headers['x-cni-ifname'],
            s.headers['x-cni-args'],
            s.headers['x-cni-path'],
          ],
          ['ADD', 'c1', '/run/netns/x', 'eth0', 'IP=10.250.0.5;K=v', '/opt/cni/bin:/usr/lib/cni'],
        );
        assert.deepEqual(JSON.parse(s.body), JSON.parse(config));
      });

      it('leaves out empty variables; the default socket and path serve a config without the key', async () => {
        seen.length = 0;
        answer = { status: 200, body: '' };
        const r = await run(
          iso.path,
          { CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0', CNI_NETNS: '' },
          '{"cniVersion":"1.0.0","name":"n","type":"fwd-iso"}',
        );
        assert.deepEqual([r.code, r.stdout], [0, '']);
        assert.equal(seen[0]?.url, '/cni');
        assert.equal(seen[0]?.headers.host, 'fwd-iso');
        assert.equal(seen[0]?.headers['x-cni-netns'], undefined);
        assert.equal(seen[0]?.headers['x-cni-args'], undefined);
      });

      it('carries large configs and answers whole (many reads and writes)', async () => {
        seen.length = 0;
        const prevResult = {
          cniVersion: '1.0.0',
          ips: Array.from({ length: 4000 }, (_, i) => ({ address: `10.250.${i >> 8}.${i & 255}/16`, gateway: '10.250.0.1' })),
        };
        const config = JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'fwd-iso', socket, prevResult });
        answer = { status: 200, body: JSON.stringify(prevResult) };
        const r = await run(iso.path, { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0', CNI_NETNS: '/run/netns/x' }, config);
        assert.equal(r.code, 0, r.stderr);
        assert.ok(config.length > 200_000);
        assert.equal(r.stdout, answer.body);
        assert.deepEqual(JSON.parse(seen[0]!.body), JSON.parse(config));
      });

      it("passes a daemon's CNI error through and exits 1", async () => {
        answer = { status: 400, body: '{"cniVersion":"1.0.0","code":7,"msg":"bad config"}' };
        const r = await run(iso.path, { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0' }, `{"cniVersion":"1.0.0","socket":"${socket}"}`);
        assert.equal(r.code, 1);
        assert.deepEqual(JSON.parse(r.stdout), { cniVersion: '1.0.0', code: 7, msg: 'bad config' });
      });

      it('a daemon that is not there: code 11 naming the daemon and the socket, exit 1', async () => {
        const r = await run(ipam.path, { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0' }, '{"cniVersion":"0.4.0","ipam":{"type":"fwd-ipam"}}');
        assert.equal(r.code, 1);
        const err = JSON.parse(r.stdout) as { cniVersion: string; code: number; msg: string };
        assert.deepEqual([err.cniVersion, err.code], ['0.4.0', 11]);
        assert.match(err.msg, /^fwd-ipam: no answer from the fwd-ipam daemon at .*nobody\.sock \(.*\): start it, then retry$/);
        const r2 = await run(iso.path, { CNI_COMMAND: 'ADD' }, `{"cniVersion":"1.0.0","socket":"${socket}.nope"}`);
        assert.match(
          (JSON.parse(r2.stdout) as { msg: string }).msg,
          /^fwd-iso: no answer from fwd-iso-agent at .*daemon\.sock\.nope .*start fwd-iso-agent, then retry$/,
        );
      });
    });
  }

  describe('native flavour only', { skip: flavors[0]!.skip }, () => {
    let fwd: InstalledCniForwarder;
    before(() => {
      fwd = installCniForwarder({
        dir: join(dir, 'native-only'),
        name: 'fwd-ipam',
        defaultSocket: join(dir, 'nobody.sock'),
        socketKey: 'ipam.daemonSocket',
        supportedVersions: ['1.0.0'],
        flavor: 'native',
      });
    });
    const add = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0' };

    it('follows the key by its path: the same key in prevResult, args or another section does not count', async () => {
      seen.length = 0;
      answer = { status: 200, body: '{}' };
      const decoy = join(dir, 'decoy.sock');
      const config = {
        cniVersion: '1.0.0',
        prevResult: { cniVersion: '0.2.0', ipam: { daemonSocket: decoy } },
        args: { daemonSocket: decoy },
        daemonSocket: decoy,
        ipam: { routes: [{ dst: '0.0.0.0/0' }], daemonSocket: socket },
      };
      const r = await run(fwd.path, add, JSON.stringify(config, null, 2));
      assert.equal(r.code, 0, r.stdout);
      assert.equal(seen.length, 1);
      // cniVersion is the top-level one too (prevResult says 0.2.0).
      const down = await run(fwd.path, add, JSON.stringify({ ...config, ipam: {} }));
      assert.equal((JSON.parse(down.stdout) as { cniVersion: string }).cniVersion, '1.0.0');
    });

    it('decodes JSON escapes in the socket path and escapes what it prints', async () => {
      const r = await run(
        fwd.path,
        add,
        JSON.stringify({ cniVersion: '1.0.0', ipam: { daemonSocket: `${dir}/we"ird\\\u00e9.sock` } }).replace('\u00e9', '\\u00e9'),
      );
      assert.equal(r.code, 1);
      const err = JSON.parse(r.stdout) as { code: number; msg: string };
      assert.equal(err.code, 11);
      assert.ok(err.msg.includes(`${dir}/we"ird\\\u00e9.sock`), err.msg);
      const r2 = await run(fwd.path, add, `{"cniVersion":"1.0.0","ipam":{"daemonSocket":"${socket.replace(/\//g, '\\/')}"}}`);
      assert.equal(r2.code, 0, r2.stdout);
    });

    it('a socket key that is not a string or too long for a unix socket: code 7', async () => {
      for (const value of [5, null, { path: socket }, `/${'x'.repeat(120)}`]) {
        const r = await run(fwd.path, add, JSON.stringify({ cniVersion: '1.0.0', ipam: { daemonSocket: value } }));
        assert.equal(r.code, 1);
        assert.equal((JSON.parse(r.stdout) as { code: number }).code, 7, `daemonSocket ${JSON.stringify(value)}: ${r.stdout}`);
      }
    });

    it('an error status without a body becomes a CNI error (999) instead of silence', async () => {
      answer = { status: 500, body: '' };
      const r = await run(fwd.path, add, JSON.stringify({ cniVersion: '1.0.0', ipam: { daemonSocket: socket } }));
      assert.equal(r.code, 1);
      const err = JSON.parse(r.stdout) as { code: number; msg: string };
      assert.deepEqual([err.code, err.msg], [999, 'fwd-ipam: the fwd-ipam daemon answered HTTP 500 without a message: check its log']);
    });

    it('a config that is not JSON goes to the default socket (where the daemon answers code 6)', async () => {
      const r = await run(fwd.path, add, '{"cniVersion": "1.0.0", "ipam": {');
      assert.equal((JSON.parse(r.stdout) as { code: number }).code, 11, 'default socket: nobody there');
    });
  });

  it('refuses options it cannot build in safely, before writing anything', () => {
    const base = { dir: join(dir, 'bad'), name: 'fwd-bad', defaultSocket: '/run/x.sock', socketKey: 'socket', supportedVersions: ['1.0.0'] };
    for (const bad of [
      { name: 'a b' },
      { defaultSocket: 'relative.sock' },
      { defaultSocket: `/${'x'.repeat(110)}` },
      { socketKey: 'a..b' },
      { hint: "it's" },
      { daemon: 'x"y' },
      { supportedVersions: ['1.0'] },
      { supportedVersions: [] },
      { urlPath: 'cni' },
      { timeoutSeconds: 0 },
    ]) {
      assert.throws(
        () => installCniForwarder({ ...base, ...bad }),
        (e) => e instanceof CniForwarderError && isIppcError(e, 'CNI_FORWARDER_BAD_OPTIONS'),
        JSON.stringify(bad),
      );
    }
    assert.equal(existsSync(join(dir, 'bad', 'fwd-bad')), false);
  });

  it('a compiler that fails: BUILD_FAILED when native was asked for, the sh flavour otherwise', () => {
    const base = {
      dir: join(dir, 'nocc'),
      name: 'fwd-nocc',
      defaultSocket: '/run/x.sock',
      socketKey: 'socket',
      supportedVersions: ['1.0.0'],
      cc: '/bin/false',
    };
    assert.throws(
      () => installCniForwarder({ ...base, flavor: 'native' }),
      (e) => isIppcError(e, 'CNI_FORWARDER_BUILD_FAILED') && /Install gcc/.test(e.message),
    );
    assert.deepEqual(readdirSync(join(dir, 'nocc')), [], 'no half-written file');
    assert.equal(installCniForwarder(base).flavor, 'sh');
  });
});
