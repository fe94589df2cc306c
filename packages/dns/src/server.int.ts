// The real server on loopback (UDP and TCP) against a fake master over HTTP, queried with DNS
// client libraries (dns2 and Node's c-ares resolver), forwarding to a second DNS server (dns2's).
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { createServer as createTcpServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import DNS from 'dns2';
import { silentLogger, isIppcError } from '@ippc/core';
import { startFakeMaster, type FakeMaster } from './testing/fake-master.js';
import { loadFixture } from './fixtures/index.js';
import { parseIp } from './ip-sources.js';
import { createDnsServer, type DnsServer, type DnsServerOptions } from './server.js';
import type { MesosState } from './mesos-state.js';
import type { StateListener, StateSource } from './state-source.js';

const RCODE_NAME = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

/** One query with dns2's client over UDP or TCP; returns rcode name and the parsed packet. */
async function query(server: { port: number }, name: string, type = 'A', transport: 'udp' | 'tcp' = 'udp') {
  const resolve =
    transport === 'udp'
      ? DNS.UDPClient({ dns: '127.0.0.1', port: server.port, timeout: 2000, retryOverTCP: false })
      : DNS.TCPClient({ dns: '127.0.0.1', port: server.port });
  const packet = await resolve(name, type);
  const rcode = RCODE_NAME[packet.header.rcode as number] ?? String(packet.header.rcode);
  const addresses = packet.answers
    .filter((a: DNS.Packet.Resource) => a.type === DNS.Packet.TYPE.A || a.type === DNS.Packet.TYPE.AAAA)
    .map((a: DNS.Packet.Resource) => parseIp((a as { address?: string }).address)?.ip)
    .sort();
  return { rcode, packet, addresses };
}

/** Asks until `check` passes or `ms` elapse (bounded: every 20 ms). */
async function eventually<T>(what: string, ms: number, probe: () => Promise<T>, check: (v: T) => boolean): Promise<{ value: T; afterMs: number }> {
  const started = Date.now();
  let last: T | undefined;
  while (Date.now() - started < ms) {
    last = await probe();
    if (check(last)) return { value: last, afterMs: Date.now() - started };
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`${what}: not within ${ms} ms (last: ${JSON.stringify(last)})`);
}

const base = (master: FakeMaster, extra: Partial<DnsServerOptions> = {}): DnsServerOptions => ({
  master: master.url,
  listen: '127.0.0.1:0',
  logger: silentLogger(),
  ...extra,
});

describe('ippc-dns on loopback against a fake master', () => {
  let master: FakeMaster;
  let server: DnsServer;

  before(async () => {
    master = await startFakeMaster({ state: loadFixture('mesos-1x-state.json') });
    server = await createDnsServer(base(master, { refreshMs: 60_000 }));
    await server.ready(5000);
  });
  after(async () => {
    await server?.close();
    await master?.close();
  });

  it('answers A over UDP and over TCP, on the same port', async () => {
    for (const transport of ['udp', 'tcp'] as const) {
      const r = await query(server, 'web.marathon.ippc', 'A', transport);
      assert.equal(r.rcode, 'NOERROR', transport);
      assert.deepEqual(r.addresses, ['192.168.0.2'], transport);
      assert.equal(r.packet.header.aa, 1);
    }
    assert.deepEqual((await query(server, 'web-j845k-s0.marathon.ippc')).addresses, ['192.168.0.2']);
    assert.deepEqual((await query(server, 'web.marathon.agent.ippc')).addresses, ['10.0.0.5']);
  });

  it('answers AAAA for a task with an IPv6 address', async () => {
    const r = await query(server, 'multi.marathon.ippc', 'AAAA', 'tcp');
    assert.deepEqual(r.addresses, ['fd01::2']);
  });

  it('answers SRV with target addresses in the additional section', async () => {
    const r = await query(server, '_db._tcp.marathon.ippc', 'SRV');
    const srv = r.packet.answers.map((a: DNS.Packet.Resource) => `${(a as { target: string }).target}:${(a as { port: number }).port}`).sort();
    assert.deepEqual(srv, ['db-9yj6a-s1.marathon.agent.ippc:31001', 'db-9yj6a-s1.marathon.agent.ippc:31002']);
    assert.deepEqual(
      r.packet.additionals.filter((a: DNS.Packet.Resource) => a.type === DNS.Packet.TYPE.A).map((a: DNS.Packet.Resource) => (a as { address: string }).address),
      ['10.0.0.6'],
    );
  });

  it('answers NXDOMAIN for unknown names in the zone and REFUSED outside it (no upstreams)', async () => {
    assert.equal((await query(server, 'nope.marathon.ippc')).rcode, 'NXDOMAIN');
    assert.equal((await query(server, 'worker.marathon.ippc')).rcode, 'NXDOMAIN', 'a TASK_KILLED task');
    assert.equal((await query(server, 'example.com')).rcode, 'REFUSED');
  });

  it('works with the system resolver library (c-ares), as a container would use it', async () => {
    const r = new Resolver({ timeout: 1000, tries: 1 });
    r.setServers([`127.0.0.1:${server.port}`]);
    assert.deepEqual(await r.resolve4('api.marathon.ippc'), ['10.0.0.5']);
    assert.deepEqual(await r.resolve6('dockeruser.marathon.ippc'), ['fd01::2']);
    assert.deepEqual(await r.resolveSrv('_web._tcp.marathon.ippc'), [{ name: 'web-j845k-s0.marathon.agent.ippc', port: 31000, priority: 0, weight: 1 }]);
    await assert.rejects(r.resolve4('nope.marathon.ippc'), { code: 'ENOTFOUND' });
  });

  it('drops a killed task and adds a new one on the next refresh', async () => {
    master.update((s) => {
      const web = s.frameworks![0]!.tasks!.find((t) => t.name === 'web')!;
      web.state = 'TASK_KILLED';
      web.statuses!.push({ state: 'TASK_KILLED', timestamp: 1700000500 });
      const api = s.frameworks![0]!.tasks!.find((t) => t.name === 'api')!;
      s.frameworks![0]!.tasks!.push({ ...structuredClone(api), id: 'fresh.1', name: 'fresh' });
    });
    assert.equal((await query(server, 'web.marathon.ippc')).rcode, 'NOERROR', 'still there until the next read');
    await server.refresh();
    assert.equal((await query(server, 'web.marathon.ippc')).rcode, 'NXDOMAIN');
    assert.equal((await query(server, '_web._tcp.marathon.ippc', 'SRV')).rcode, 'NXDOMAIN');
    assert.deepEqual((await query(server, 'fresh.marathon.ippc')).addresses, ['10.0.0.5']);
  });

  it('uses conditional requests: an unchanged state costs a 304', async () => {
    const before304 = master.requests.notModified;
    const serial = server.status().serial;
    await server.refresh();
    await server.refresh();
    assert.equal(master.requests.notModified, before304 + 2);
    assert.equal(server.status().serial, serial, 'zone not rebuilt');
  });
});

describe('ippc-dns when the master is missing, failing or slow to change', () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  });

  it('answers SERVFAIL until the state can be read, then answers', async () => {
    const master = await startFakeMaster({ state: loadFixture('mesos-1x-state.json') });
    cleanup.push(() => master.close());
    master.fail(503);
    const server = await createDnsServer(base(master, { refreshMs: 60_000 }));
    cleanup.push(() => server.close());
    await assert.rejects(server.ready(300), (e: unknown) => isIppcError(e, 'DNS_STATE_UNAVAILABLE'));
    assert.equal((await query(server, 'web.marathon.ippc')).rcode, 'SERVFAIL');
    assert.equal((await query(server, 'web.marathon.ippc', 'A', 'tcp')).rcode, 'SERVFAIL');
    assert.match(server.status().lastError ?? '', /503/);
    master.fail(undefined);
    await server.refresh();
    assert.equal((await query(server, 'web.marathon.ippc')).rcode, 'NOERROR');
  });

  it('keeps serving the last good state when polls fail, and SERVFAILs once it is stale', async () => {
    const master = await startFakeMaster({ state: loadFixture('mesos-1x-state.json') });
    cleanup.push(() => master.close());
    const server = await createDnsServer(base(master, { refreshMs: 50, staleAfterMs: 400 }));
    cleanup.push(() => server.close());
    await server.ready(5000);
    master.fail('reset');
    await server.refresh();
    assert.ok(server.status().lastError, 'the failed read is reported');
    assert.equal((await query(server, 'web.marathon.ippc')).rcode, 'NOERROR', 'last good state still served');
    const stale = await eventually(
      'SERVFAIL once stale',
      3000,
      () => query(server, 'web.marathon.ippc'),
      (r) => r.rcode === 'SERVFAIL',
    );
    assert.ok(stale.afterMs >= 200, `stale after ${stale.afterMs} ms`);
    master.fail(undefined);
    await eventually(
      'answers again',
      3000,
      () => query(server, 'web.marathon.ippc'),
      (r) => r.rcode === 'NOERROR',
    );
  });

  it('follows the state by polling alone: a killed task goes away within an interval', async () => {
    const master = await startFakeMaster({ state: loadFixture('mesos-1x-state.json'), etag: false });
    cleanup.push(() => master.close());
    const server = await createDnsServer(base(master, { refreshMs: 100 }));
    cleanup.push(() => server.close());
    await server.ready(5000);
    assert.equal((await query(server, 'db.marathon.ippc')).rcode, 'NOERROR');
    master.update((s) => {
      const db = s.frameworks![0]!.tasks!.find((t) => t.name === 'db')!;
      db.state = 'TASK_KILLED';
    });
    const gone = await eventually(
      'db gone',
      3000,
      () => query(server, 'db.marathon.ippc'),
      (r) => r.rcode === 'NXDOMAIN',
    );
    assert.ok(gone.afterMs < 1500, `gone after ${gone.afterMs} ms`);
  });
});

describe('ippc-dns forwarding to an upstream DNS server', () => {
  let master: FakeMaster;
  let upstream: ReturnType<typeof DNS.createServer>;
  let upstreamPort: number;
  let upstreamQueries = 0;
  const servers: DnsServer[] = [];

  before(async () => {
    master = await startFakeMaster({ state: loadFixture('mesos-1x-state.json') });
    // A second, independent DNS server on loopback: answers example.test, NXDOMAIN otherwise.
    upstream = DNS.createServer({
      udp: true,
      tcp: true,
      handle: (request, send) => {
        upstreamQueries++;
        const response = DNS.Packet.createResponseFromRequest(request);
        const q = request.questions[0]!;
        if (q.name === 'example.test')
          response.answers.push({ name: q.name, type: DNS.Packet.TYPE.A, class: DNS.Packet.CLASS.IN, ttl: 300, address: '192.0.2.10' } as DNS.Packet.Resource);
        else response.header.rcode = 3;
        void send(response);
      },
    });
    // UDP and TCP on the same free port.
    const probe = createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
    upstreamPort = probe.address().port;
    await new Promise<void>((r) => probe.close(() => r()));
    await upstream.listen({ udp: { port: upstreamPort, address: '127.0.0.1' }, tcp: { port: upstreamPort, address: '127.0.0.1' } });
  });
  after(async () => {
    for (const s of servers) await s.close();
    await upstream?.close();
    await master?.close();
  });

  it('forwards names outside the zone over UDP and TCP, and still answers the zone itself', async () => {
    const server = await createDnsServer(base(master, { upstreams: [`127.0.0.1:${upstreamPort}`] }));
    servers.push(server);
    await server.ready(5000);
    const before = upstreamQueries;
    for (const transport of ['udp', 'tcp'] as const) {
      const r = await query(server, 'example.test', 'A', transport);
      assert.equal(r.rcode, 'NOERROR', transport);
      assert.deepEqual(r.addresses, ['192.0.2.10'], transport);
    }
    assert.equal((await query(server, 'missing.test')).rcode, 'NXDOMAIN', "the upstream's NXDOMAIN comes back");
    assert.equal(upstreamQueries, before + 3);
    const own = await query(server, 'web.marathon.ippc');
    assert.deepEqual(own.addresses, ['192.168.0.2']);
    assert.equal(upstreamQueries, before + 3, 'zone names are never forwarded');
    assert.equal(own.packet.header.ra, 1);
  });

  it('tries the next upstream when one is down, and SERVFAILs when all are', async () => {
    const dead = createSocket('udp4');
    await new Promise<void>((r) => dead.bind(0, '127.0.0.1', () => r()));
    const deadPort = dead.address().port; // bound but never answers
    try {
      const server = await createDnsServer(base(master, { upstreams: [`127.0.0.1:${deadPort}`, `127.0.0.1:${upstreamPort}`], upstreamTimeoutMs: 200 }));
      servers.push(server);
      assert.deepEqual((await query(server, 'example.test')).addresses, ['192.0.2.10']);
      const alone = await createDnsServer(base(master, { upstreams: [`127.0.0.1:${deadPort}`], upstreamTimeoutMs: 200 }));
      servers.push(alone);
      assert.equal((await query(alone, 'example.test')).rcode, 'SERVFAIL');
    } finally {
      await new Promise<void>((r) => dead.close(() => r()));
    }
  });
});

describe('ippc-dns rejects bad options and leaves nothing behind', () => {
  it('rejects invalid IP sources with the mesos-dns message before binding', async () => {
    await assert.rejects(
      createDnsServer({ master: 'http://127.0.0.1:1', listen: '127.0.0.1:0', ipSources: ['netinfo', 'bogus'], logger: silentLogger() }),
      (e: unknown) => isIppcError(e, 'DNS_INVALID_IP_SOURCES') && e.message === 'invalid ip source "bogus"',
    );
    for (const [opts, pattern] of [
      [{ master: 'not a url' }, /not a URL/],
      [{ master: 'http://x', domain: 'bad_domain!' }, /not a valid DNS name/],
      [{ master: 'http://x', listen: 'localhost:53' }, /must be an IP address/],
      [{ master: 'http://x', upstreams: ['dns.example'] }, /not an IP address/],
      [{ master: 'http://x', upstreams: ['127.0.0.1', '127.0.0.1:53'] }, /duplicate upstream/],
      [{ master: 'http://x', refreshMs: -1 }, /refreshMs/],
      [{}, /no master given/],
    ] as const) {
      await assert.rejects(
        createDnsServer({ listen: '127.0.0.1:0', logger: silentLogger(), ...opts }),
        (e: unknown) => isIppcError(e, 'DNS_INVALID_OPTIONS') && pattern.test(e.message),
      );
    }
  });

  it('fails with DNS_LISTEN_FAILED when TCP is taken, and frees the UDP port it had bound', async () => {
    const blocker = createTcpServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      await assert.rejects(
        createDnsServer({ master: 'http://127.0.0.1:1', listen: `127.0.0.1:${port}`, logger: silentLogger() }),
        (e: unknown) => isIppcError(e, 'DNS_LISTEN_FAILED') && /UDP and TCP/.test(e.message),
      );
      // The UDP socket on that port was closed again: we can bind it ourselves.
      const udp = createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(port, '127.0.0.1', () => resolve());
      });
      await new Promise<void>((r) => udp.close(() => r()));
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });
});

describe('ippc-dns health and metrics over HTTP', () => {
  it('reports 503 until the zone is loaded, then 200, and counts queries', async () => {
    const master = await startFakeMaster({ state: loadFixture('mesos-1x-state.json') });
    master.fail(503);
    const server = await createDnsServer(base(master, { http: '127.0.0.1:0', refreshMs: 60_000 }));
    try {
      const health = () => fetch(`http://127.0.0.1:${server.httpPort}/health`);
      assert.equal((await health()).status, 503);
      master.fail(undefined);
      await server.refresh();
      const ok = await health();
      assert.equal(ok.status, 200);
      assert.equal(((await ok.json()) as { tasks: number }).tasks, 8);
      await query(server, 'web.marathon.ippc');
      await query(server, 'nope.marathon.ippc');
      const metrics = await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
      assert.match(metrics, /ippc_dns_queries_total\{rcode="NOERROR",transport="udp",forwarded="false",component="dns"\} 1/);
      assert.match(metrics, /ippc_dns_queries_total\{rcode="NXDOMAIN"/);
      assert.match(metrics, /ippc_dns_records\{component="dns"\} \d+/);
    } finally {
      await server.close();
      await master.close();
    }
  });
});

describe('ippc-dns with a StateSource of its own (the seam a watch plugs into)', () => {
  it('serves whatever the source pushes, as soon as it pushes it, with no polling', async () => {
    let push: StateListener | undefined;
    let refreshes = 0;
    const source: StateSource = {
      description: 'test push source',
      start: (l) => void (push = l),
      refresh: async () => void refreshes++,
      close: async () => void (push = undefined),
    };
    const server = await createDnsServer({ source, listen: '127.0.0.1:0', logger: silentLogger() });
    try {
      assert.equal((await query(server, 'web.marathon.ippc')).rcode, 'SERVFAIL', 'nothing pushed yet');
      const state: MesosState = loadFixture('mesos-1x-state.json');
      await push!({ kind: 'state', state, at: Date.now() });
      assert.deepEqual((await query(server, 'web.marathon.ippc')).addresses, ['192.168.0.2']);
      state.frameworks![0]!.tasks!.find((t) => t.name === 'web')!.state = 'TASK_KILLED';
      await push!({ kind: 'state', state, at: Date.now() });
      assert.equal((await query(server, 'web.marathon.ippc')).rcode, 'NXDOMAIN');
      await server.refresh();
      assert.equal(refreshes, 1);
    } finally {
      await server.close();
    }
    assert.equal(push, undefined, 'the source was closed with the server');
  });
});
