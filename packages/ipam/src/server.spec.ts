import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkHealth } from '@ippc/core';
import { createIpamClient, type IpamClient } from './client.js';
import { IpamError } from './errors.js';
import { createIpamServer, IPAM_SERVICE_NAME, type IpamServer } from './server.js';
import { rejectsWith } from './testing/service-contract.js';
import { createIpamService, type IpamService } from './service.js';
import { createEmbeddedStore } from './store/embedded-store.js';

describe('IPAM over gRPC (typed client, auth, health, metrics)', () => {
  let dir: string;
  let service: IpamService;
  let server: IpamServer;
  let client: IpamClient;
  let address: string;
  let httpPort: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ipam-'));
    service = createIpamService({ store: createEmbeddedStore({ path: join(dir, 'db') }), cooldownMs: 60_000 });
    server = createIpamServer({ service, auth: { token: 't0ken' } });
    address = `127.0.0.1:${await server.listen('127.0.0.1:0')}`;
    httpPort = await server.listenHttp('127.0.0.1', 0);
    client = createIpamClient({ address, auth: { token: 't0ken' } });
  });
  after(async () => {
    client?.close();
    await server?.close();
    await service?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('round-trips pools, leases and releases with the domain types intact', async () => {
    const p = await client.ensurePool({ network: 'blue', ranges: [{ subnet: '10.210.20.0/24' }], exclude: ['10.210.20.2'], cooldownSeconds: 5 });
    assert.equal(p.created, true);
    assert.equal(p.pool.size, 252n);
    assert.deepEqual(p.pool.spec, {
      network: 'blue',
      id: '10.210.20.0/24',
      ranges: [{ subnet: '10.210.20.0/24', rangeStart: '10.210.20.1', rangeEnd: '10.210.20.254', gateway: '10.210.20.1' }],
      node: undefined,
      exclude: ['10.210.20.2'],
      cooldownSeconds: 5,
    });
    const a = await client.allocate({
      handle: { network: 'blue', containerId: 'c1', ifName: 'eth0' },
      node: 'n1',
      groups: ['g'],
      labels: [{ key: 'k', value: 'v' }],
    });
    assert.deepEqual(a.lease.addresses, [{ pool: '10.210.20.0/24', family: 4, address: '10.210.20.3', prefixLength: 24, gateway: '10.210.20.1' }]);
    assert.deepEqual(await client.getLease(a.lease.handle), a.lease);
    assert.deepEqual(await client.listLeases({ owner: 'n1' }), [a.lease]);
    const stale = await client.release(a.lease.handle, a.lease.epoch + 1000);
    assert.deepEqual(stale, { released: [], stale: true });
    const r = await client.release(a.lease.handle, a.lease.epoch);
    assert.deepEqual(r.released, [a.lease]);
    const pools = await client.listPools('blue');
    assert.equal(pools[0]!.cooling, 1);
    const gc = await client.garbageCollect({ network: 'blue', valid: [] });
    assert.deepEqual(gc, { reclaimed: [], suspected: [] });
    // A cool-down of 0 (none) is not the same as no cool-down given (the service's default).
    const none = await client.ensurePool({ network: 'quick', ranges: [{ subnet: '10.210.21.0/24' }], cooldownSeconds: 0 });
    assert.equal(none.pool.spec.cooldownSeconds, 0);
    const unset = await client.ensurePool({ network: 'slow', ranges: [{ subnet: '10.210.22.0/24' }] });
    assert.equal(unset.pool.spec.cooldownSeconds, undefined);
    const q = await client.allocate({ handle: { network: 'quick', containerId: 'q', ifName: 'eth0' } });
    await client.release(q.lease.handle);
    assert.equal((await client.listPools('quick'))[0]!.cooling, 0, 'released straight back to free');
  });

  it('rethrows the service error as a typed IpamError with its code and details', async () => {
    const err = await rejectsWith(
      client.allocate({ handle: { network: 'nowhere', containerId: 'c', ifName: 'eth0' } }),
      'IPAM_UNKNOWN_NETWORK',
      /has no address pools/,
    );
    assert.ok(err instanceof IpamError);
    assert.deepEqual(err.details, { network: 'nowhere' });
    await rejectsWith(
      client.allocate({ handle: { network: 'blue', containerId: 'c', ifName: 'eth0' }, requests: [{ address: '10.210.99.1' }] }),
      'IPAM_ADDRESS_OUTSIDE_POOL',
    );
  });

  it('refuses a client without the token, and maps an unreachable service to IPAM_UNAVAILABLE', async () => {
    const anon = createIpamClient({ address, auth: { token: 'wrong' } });
    await rejectsWith(anon.listPools(), 'IPAM_BAD_REQUEST', /credentials/);
    anon.close();
    const down = createIpamClient({ address: '127.0.0.1:1', auth: { token: 'x' }, timeoutMs: 500 });
    await rejectsWith(down.listPools(), 'IPAM_UNAVAILABLE', /unreachable/);
    down.close();
  });

  it('a call made while the service restarts waits for it (within its deadline) instead of failing at once', async () => {
    const d = mkdtempSync(join(tmpdir(), 'ipam-restart-'));
    const store = join(d, 'db');
    let svc = createIpamService({ store: createEmbeddedStore({ path: store }), cooldownMs: 0 });
    let srv = createIpamServer({ service: svc, auth: { token: 't0ken' } });
    const port = await srv.listen('127.0.0.1:0');
    const c = createIpamClient({ address: `127.0.0.1:${port}`, auth: { token: 't0ken' }, timeoutMs: 8_000 });
    try {
      await c.ensurePool({ network: 'restart', ranges: [{ subnet: '10.211.0.0/29' }] });
      await srv.close();
      await svc.close();
      // The channel has seen the service go: a call now is made while nothing listens.
      await new Promise((r) => setTimeout(r, 300));
      const pending = c.allocate({ handle: { network: 'restart', containerId: 'c1', ifName: 'eth0' } });
      await new Promise((r) => setTimeout(r, 500));
      svc = createIpamService({ store: createEmbeddedStore({ path: store }), cooldownMs: 0 });
      srv = createIpamServer({ service: svc, auth: { token: 't0ken' } });
      await srv.listen(`127.0.0.1:${port}`);
      const started = Date.now();
      const { lease } = await pending;
      assert.match(lease.addresses[0]!.address, /^10\.211\.0\./);
      assert.ok(Date.now() - started < 3_000, `answered ${Date.now() - started} ms after the restart`);
    } finally {
      c.close();
      await srv.close();
      await svc.close();
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('reports health SERVING for the IPAM service and exports per-pool size, used, cooling', async () => {
    assert.equal(await checkHealth(address, IPAM_SERVICE_NAME), 'SERVING');
    await client.allocate({ handle: { network: 'blue', containerId: 'm1', ifName: 'eth0' } });
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    assert.match(text, /ippc_ipam_pool_size\{network="blue",pool="10.210.20.0\/24",component="ipam"\} 252/);
    assert.match(text, /ippc_ipam_pool_used\{network="blue",pool="10.210.20.0\/24",component="ipam"\} 1/);
    assert.match(text, /ippc_ipam_pool_cooling\{network="blue",pool="10.210.20.0\/24",component="ipam"\} 1/);
    assert.match(text, /ippc_ipam_allocations_total\{result="IPAM_UNKNOWN_NETWORK",component="ipam"\} 1/);
    const health = await (await fetch(`http://127.0.0.1:${httpPort}/health`)).json();
    assert.deepEqual(health, { status: 'ok', store: 'embedded' });
  });
});
