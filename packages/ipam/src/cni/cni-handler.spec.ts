import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createIpamClient } from '../client.js';
import { createIpamService, type IpamService } from '../service.js';
import { createEmbeddedStore } from '../store/embedded-store.js';
import type { CniRequest } from '@ippc/core';
import { CNI_ERROR_CODES } from './cni-errors.js';
import { createCniHandler, type CniHandler } from './cni-handler.js';
import { createIpamNodeDaemon } from './node-daemon.js';

// The plugin's logic against an in-process service (no gRPC, no exec): every CNI verb, every
// result version, every error code.

const conf = (over: Record<string, unknown> = {}, ipam: Record<string, unknown> = {}) =>
  JSON.stringify({
    cniVersion: '1.0.0',
    name: 'blue',
    type: 'bridge',
    ipam: {
      type: 'ippc-ipam',
      ranges: [[{ subnet: '10.210.30.0/24' }], [{ subnet: 'fd10:210:30::/64' }]],
      routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }],
      dns: { nameservers: ['10.210.30.1'] },
      ...ipam,
    },
    ...over,
  });

const call = (command: string, config: string, env: Partial<CniRequest> = {}): CniRequest => ({
  command,
  containerId: 'c1',
  ifName: 'eth0',
  netns: '/run/netns/x',
  stdin: config,
  ...env,
});

function parse(output: string): Record<string, unknown> {
  return JSON.parse(output) as Record<string, unknown>;
}

describe('ippc-ipam CNI handler', () => {
  let dir: string;
  let service: IpamService;
  let cni: CniHandler;
  const clock = 1_700_000_000_000;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ipam-'));
    service = createIpamService({ store: createEmbeddedStore({ path: join(dir, 'db') }), cooldownMs: 30_000, now: () => clock });
    cni = createCniHandler({ ipam: service, node: 'agent-1' });
  });
  after(async () => {
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers VERSION with the versions it speaks, in the config version', async () => {
    const r = await cni.handle({ command: 'VERSION', stdin: '{"cniVersion":"0.4.0"}' });
    assert.deepEqual(parse(r.output), { cniVersion: '0.4.0', supportedVersions: ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
  });

  it('ADD ensures one pool per range set and returns a 1.0.0 result with routes and dns; ADD again returns the same', async () => {
    const r = await cni.handle(call('ADD', conf()));
    assert.equal(r.ok, true, r.output);
    const expected = {
      cniVersion: '1.0.0',
      ips: [
        { address: '10.210.30.2/24', gateway: '10.210.30.1' },
        { address: 'fd10:210:30::2/64', gateway: 'fd10:210:30::1' },
      ],
      routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }],
      dns: { nameservers: ['10.210.30.1'] },
    };
    assert.deepEqual(parse(r.output), expected);
    assert.deepEqual(parse((await cni.handle(call('ADD', conf()))).output), expected);
    const lease = await service.getLease({ network: 'blue', containerId: 'c1', ifName: 'eth0' });
    assert.equal(lease.node, 'agent-1');
    assert.equal(lease.owner, 'agent-1');
    assert.deepEqual(
      (await service.listPools('blue')).map((p) => p.spec.id),
      ['10.210.30.0/24', 'fd10:210:30::/64'],
    );
  });

  it('follows the config version: 0.3.1 and 0.4.0 carry ips[].version, 0.2.0 and 0.1.0 answer ip4/ip6', async () => {
    const v031 = parse((await cni.handle(call('ADD', conf({ cniVersion: '0.3.1' }), { containerId: 'v031' }))).output);
    assert.deepEqual(v031.ips, [
      { version: '4', address: '10.210.30.3/24', gateway: '10.210.30.1' },
      { version: '6', address: 'fd10:210:30::3/64', gateway: 'fd10:210:30::1' },
    ]);
    const v020 = parse((await cni.handle(call('ADD', conf({ cniVersion: '0.2.0' }), { containerId: 'v020' }))).output);
    assert.deepEqual(v020, {
      cniVersion: '0.2.0',
      ip4: { ip: '10.210.30.4/24', gateway: '10.210.30.1', routes: [{ dst: '0.0.0.0/0' }] },
      ip6: { ip: 'fd10:210:30::4/64', gateway: 'fd10:210:30::1', routes: [{ dst: '::/0' }] },
      dns: { nameservers: ['10.210.30.1'] },
    });
    const v010 = parse((await cni.handle(call('ADD', conf({ cniVersion: '0.1.0' }), { containerId: 'v010' }))).output);
    assert.equal((v010.ip4 as { ip: string }).ip, '10.210.30.5/24');
  });

  it('honours runtimeConfig.ips, args.cni.ips and CNI_ARGS IP=', async () => {
    const a = parse((await cni.handle(call('ADD', conf({ runtimeConfig: { ips: ['10.210.30.50/24', 'fd10:210:30::50'] } }), { containerId: 'rc' }))).output);
    assert.deepEqual(
      (a.ips as Array<{ address: string }>).map((x) => x.address),
      ['10.210.30.50/24', 'fd10:210:30::50/64'],
    );
    const b = parse((await cni.handle(call('ADD', conf({ args: { cni: { ips: ['10.210.30.51'] } } }), { containerId: 'ac' }))).output);
    assert.deepEqual(
      (b.ips as Array<{ address: string }>).map((x) => x.address),
      ['10.210.30.51/24', 'fd10:210:30::6/64'],
    );
    const c = parse((await cni.handle(call('ADD', conf(), { containerId: 'ca', args: 'IgnoreUnknown=1;IP=10.210.30.52' }))).output);
    assert.equal((c.ips as Array<{ address: string }>)[0]!.address, '10.210.30.52/24');
  });

  it('reads Mesos network_info: requested ip_addresses, groups and labels', async () => {
    const mesos = {
      args: {
        'org.apache.mesos': {
          network_info: {
            name: 'blue',
            ip_addresses: [{ protocol: 'IPv4', ip_address: '10.210.30.60' }, { protocol: 'IPv4' }],
            groups: ['web', 'db'],
            labels: { labels: [{ key: 'app', value: 'shop' }] },
          },
        },
      },
    };
    const r = parse((await cni.handle(call('ADD', conf(mesos), { containerId: 'mesos1' }))).output);
    assert.deepEqual(
      (r.ips as Array<{ address: string }>).map((x) => x.address),
      ['10.210.30.60/24', '10.210.30.6/24'],
      'two IPv4, no IPv6: exactly what Mesos asked',
    );
    const lease = await service.getLease({ network: 'blue', containerId: 'mesos1', ifName: 'eth0' });
    assert.deepEqual(lease.groups, ['web', 'db']);
    assert.deepEqual(lease.labels, [{ key: 'app', value: 'shop' }]);
  });

  it('maps every IPAM refusal to its own CNI code and leaves nothing behind', async () => {
    const before = (await service.listLeases()).length;
    const taken = parse((await cni.handle(call('ADD', conf({ runtimeConfig: { ips: ['10.210.30.50'] } }), { containerId: 'x1' }))).output);
    assert.equal(taken.code, CNI_ERROR_CODES.ADDRESS_TAKEN);
    assert.match(String(taken.msg), /already assigned to blue\/rc\/eth0/);
    const outside = parse((await cni.handle(call('ADD', conf({ runtimeConfig: { ips: ['192.0.2.1'] } }), { containerId: 'x2' }))).output);
    assert.equal(outside.code, CNI_ERROR_CODES.ADDRESS_OUTSIDE_POOL);
    const gw = parse((await cni.handle(call('ADD', conf({ runtimeConfig: { ips: ['10.210.30.1'] } }), { containerId: 'x3' }))).output);
    assert.equal(gw.code, CNI_ERROR_CODES.ADDRESS_OUTSIDE_POOL);
    assert.match(String(gw.msg), /gateway/);
    const unknown = parse((await cni.handle(call('ADD', conf({ name: 'nopools' }, { ranges: undefined }), { containerId: 'x4' }))).output);
    assert.equal(unknown.code, CNI_ERROR_CODES.UNKNOWN_NETWORK);
    const overlap = parse((await cni.handle(call('ADD', conf({}, { ranges: [[{ subnet: '10.210.30.0/25' }]] }), { containerId: 'x5' }))).output);
    assert.equal(overlap.code, CNI_ERROR_CODES.POOL_CONFLICT);
    const badRange = parse((await cni.handle(call('ADD', conf({ name: 'other' }, { ranges: [[{ subnet: '10.210.31.0' }]] }), { containerId: 'x6' }))).output);
    assert.equal(badRange.code, CNI_ERROR_CODES.INVALID_CONFIG);
    const decode = parse((await cni.handle(call('ADD', '{not json'))).output);
    assert.equal(decode.code, CNI_ERROR_CODES.DECODE);
    const noIpam = parse((await cni.handle(call('ADD', JSON.stringify({ cniVersion: '1.0.0', name: 'blue' })))).output);
    assert.equal(noIpam.code, CNI_ERROR_CODES.INVALID_CONFIG);
    const version = parse((await cni.handle(call('ADD', conf({ cniVersion: '9.9.9' })))).output);
    assert.equal(version.code, CNI_ERROR_CODES.INCOMPATIBLE_VERSION);
    const env = parse((await cni.handle(call('ADD', conf(), { containerId: undefined }))).output);
    assert.equal(env.code, CNI_ERROR_CODES.INVALID_ENV);
    const badId = parse((await cni.handle(call('ADD', conf(), { containerId: '-x' }))).output);
    assert.equal(badId.code, CNI_ERROR_CODES.BAD_REQUEST);
    assert.equal((await service.listLeases()).length, before);
    assert.equal(taken.cniVersion, '1.0.0');
    assert.equal(typeof taken.details, 'string');
  });

  it('reports pool exhaustion with code 100 and the cool-down in the message', async () => {
    const tiny = (id: string) => call('ADD', conf({ name: 'tiny' }, { ranges: [[{ subnet: '10.210.32.0/30' }]] }), { containerId: id });
    assert.equal((await cni.handle(tiny('t1'))).ok, true);
    const full = parse((await cni.handle(tiny('t2'))).output);
    assert.equal(full.code, CNI_ERROR_CODES.POOL_EXHAUSTED);
    await cni.handle({ ...tiny('t1'), command: 'DEL' });
    const cooling = parse((await cni.handle(tiny('t2'))).output);
    assert.equal(cooling.code, CNI_ERROR_CODES.POOL_EXHAUSTED);
    assert.match(String(cooling.msg), /cooling down/);
  });

  it("takes the network's cool-down from ipam.cooldownSeconds; one that is not a number is an invalid config", async () => {
    const quick = (id: string, extra: Record<string, unknown> = {}) =>
      call('ADD', conf({ name: 'quick' }, { ranges: [[{ subnet: '10.210.33.0/30' }]], cooldownSeconds: 0, ...extra }), { containerId: id });
    assert.equal((await cni.handle(quick('q1'))).ok, true);
    await cni.handle({ ...quick('q1'), command: 'DEL' });
    assert.equal((await cni.handle(quick('q2'))).ok, true, 'no cool-down on this network: the only address comes back at once');
    assert.equal((await service.listPools('quick'))[0]!.spec.cooldownSeconds, 0);
    const bad = parse((await cni.handle(quick('q3', { cooldownSeconds: 'soon' }))).output);
    assert.equal(bad.code, CNI_ERROR_CODES.INVALID_CONFIG);
    assert.match(String(bad.msg), /ipam\.cooldownSeconds must be a whole number/);
  });

  it('DEL releases without a netns, twice is fine; CHECK verifies the lease against prevResult', async () => {
    const add = parse((await cni.handle(call('ADD', conf(), { containerId: 'd1' }))).output);
    const prev = { prevResult: add };
    assert.equal((await cni.handle(call('CHECK', conf({ ...prev, cniVersion: '1.0.0' }), { containerId: 'd1' }))).ok, true);
    const wrong = parse(
      (await cni.handle(call('CHECK', conf({ prevResult: { cniVersion: '1.0.0', ips: [{ address: '10.210.30.200/24' }] } }), { containerId: 'd1' }))).output,
    );
    assert.equal(wrong.code, CNI_ERROR_CODES.CHECK_FAILED);
    const del = await cni.handle(call('DEL', conf(prev), { containerId: 'd1', netns: undefined }));
    assert.deepEqual(del, { ok: true, output: '' });
    assert.deepEqual(await cni.handle(call('DEL', conf(prev), { containerId: 'd1', netns: undefined })), { ok: true, output: '' });
    const gone = parse((await cni.handle(call('CHECK', conf(prev), { containerId: 'd1' }))).output);
    assert.equal(gone.code, CNI_ERROR_CODES.CHECK_FAILED);
    const old = parse((await cni.handle(call('CHECK', conf({ ...prev, cniVersion: '0.3.1' }), { containerId: 'd1' }))).output);
    assert.equal(old.code, CNI_ERROR_CODES.INCOMPATIBLE_VERSION);
  });

  it("GC (CNI 1.1) reclaims this node's attachments missing from the valid set at the second call; STATUS answers", async () => {
    await cni.handle(call('ADD', conf(), { containerId: 'gc-live' }));
    await cni.handle(call('ADD', conf(), { containerId: 'gc-leak' }));
    const keep = (await service.listLeases({ network: 'blue' })).map((l) => l.handle.containerId).filter((c) => c !== 'gc-leak');
    const valid = conf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': keep.map((c) => ({ containerID: c, ifname: 'eth0' })) });
    assert.equal((await cni.handle({ command: 'GC', stdin: valid })).ok, true);
    assert.ok(
      (await service.listLeases({ network: 'blue' })).some((l) => l.handle.containerId === 'gc-leak'),
      'first observation only suspects',
    );
    assert.equal((await cni.handle({ command: 'GC', stdin: valid })).ok, true);
    assert.ok(!(await service.listLeases({ network: 'blue' })).some((l) => l.handle.containerId === 'gc-leak'));
    assert.ok((await service.listLeases({ network: 'blue' })).some((l) => l.handle.containerId === 'gc-live'));
    assert.deepEqual(await cni.handle({ command: 'STATUS', stdin: conf({ cniVersion: '1.1.0' }) }), { ok: true, output: '' });
  });

  it('answers 11 (try again later) when the IPAM service is unreachable, and 50 for STATUS', async () => {
    const down = createIpamClient({ address: '127.0.0.1:1', auth: { disabled: true }, timeoutMs: 300 });
    const h = createCniHandler({ ipam: down, node: 'n' });
    assert.equal(parse((await h.handle(call('ADD', conf()))).output).code, CNI_ERROR_CODES.TRY_AGAIN_LATER);
    assert.equal(parse((await h.handle(call('DEL', conf()))).output).code, CNI_ERROR_CODES.TRY_AGAIN_LATER);
    assert.equal(parse((await h.handle({ command: 'STATUS', stdin: conf() })).output).code, CNI_ERROR_CODES.STATUS_NOT_AVAILABLE);
    down.close();
  });

  it('the node daemon serves the same over its unix socket (200 result, 400 CNI error)', async () => {
    const socketPath = join(dir, 'd', 'ipam.sock');
    const daemon = createIpamNodeDaemon({ ipam: service, socketPath, node: 'agent-1' });
    await daemon.start();
    const post = (headers: Record<string, string>, body: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ socketPath, path: '/v1/cni', method: 'POST', headers }, (res) => {
          let b = '';
          res.on('data', (c: Buffer) => (b += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
        });
        req.on('error', reject);
        req.end(body);
      });
    try {
      const ok = await post({ 'X-Cni-Command': 'ADD', 'X-Cni-ContainerId': 'sock1', 'X-Cni-IfName': 'eth0' }, conf());
      assert.equal(ok.status, 200);
      assert.equal((parse(ok.body).ips as unknown[]).length, 2);
      const err = await post({ 'X-Cni-Command': 'ADD', 'X-Cni-IfName': 'eth0' }, conf());
      assert.equal(err.status, 400);
      assert.equal(parse(err.body).code, CNI_ERROR_CODES.INVALID_ENV);
    } finally {
      await daemon.close();
    }
  });
});
