import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, RecordType } from 'dns-packet';
import { DnsError } from './errors.js';
import { generateState } from './fixtures/generate.js';
import { loadFixture } from './fixtures/index.js';
import type { Forwarder, Transport } from './forwarder.js';
import { DEFAULT_IP_SOURCES } from './ip-sources.js';
import { buildRecords, type RecordSet } from './records.js';
import { createQueryHandler, type QueryHandler, type QueryHandlerOptions } from './resolver.js';

const zone = buildRecords(loadFixture('mesos-1x-state.json'), { domain: 'ippc', ipSources: DEFAULT_IP_SOURCES, nameserverAddresses: ['127.0.0.53'] });

function handler(overrides: Partial<QueryHandlerOptions> & { records?: RecordSet | undefined; servable?: boolean } = {}): QueryHandler {
  const records = 'records' in overrides ? overrides.records : zone;
  return createQueryHandler({
    domain: 'ippc',
    ttl: 5,
    zone: () => ({ records, servable: overrides.servable ?? records !== undefined, serial: 42 }),
    ...overrides,
  });
}

interface Ask {
  type?: RecordType;
  transport?: Transport;
  edns?: number;
  opcode?: number;
}

async function ask(h: QueryHandler, name: string, { type = 'A', transport = 'udp', edns, opcode = 0 }: Ask = {}): Promise<DecodedPacket & { rcode: string }> {
  const query = dnsPacket.encode({
    type: 'query',
    id: 4242,
    flags: dnsPacket.RECURSION_DESIRED | (opcode << 11),
    questions: [{ type, name, class: 'IN' }],
    additionals: edns ? [{ type: 'OPT', name: '.', udpPayloadSize: edns, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [],
  });
  const answer = await h(query, transport);
  assert.ok(answer, 'an answer');
  return dnsPacket.decode(answer) as DecodedPacket & { rcode: string };
}

const data = (rrs: Answer[] | undefined, type: string) =>
  (rrs ?? [])
    .filter((r) => r.type === type)
    .map((r) => (typeof (r as { data: unknown }).data === 'object' ? JSON.stringify((r as { data: unknown }).data) : String((r as { data: unknown }).data)))
    .sort();

describe('createQueryHandler: answers for the zone', () => {
  const h = handler();

  it('answers A authoritatively, echoing the question name as asked', async () => {
    const r = await ask(h, 'Web.Marathon.IPPC');
    assert.equal(r.rcode, 'NOERROR');
    assert.equal(r.id, 4242);
    assert.ok(r.flag_aa);
    assert.ok(r.flag_rd);
    assert.equal(r.flag_ra, false, 'no upstreams, no recursion');
    assert.deepEqual(data(r.answers, 'A'), ['192.168.0.2']);
    assert.equal(r.answers?.[0]?.name, 'Web.Marathon.IPPC');
    assert.equal((r.answers?.[0] as { ttl: number }).ttl, 5);
  });

  it('answers AAAA', async () => {
    const r = await ask(h, 'multi.marathon.ippc', { type: 'AAAA' });
    assert.deepEqual(data(r.answers, 'AAAA'), ['fd01::2']);
  });

  it("answers SRV with the targets' addresses in the additional section", async () => {
    const r = await ask(h, '_db._tcp.marathon.ippc', { type: 'SRV' });
    assert.deepEqual(
      (r.answers ?? [])
        .map((a) => (a as { data: { port: number; target: string } }).data)
        .map((d) => `${d.target}:${d.port}`)
        .sort(),
      ['db-9yj6a-s1.marathon.agent.ippc:31001', 'db-9yj6a-s1.marathon.agent.ippc:31002'],
    );
    assert.deepEqual(data(r.additionals, 'A'), ['10.0.0.6']);
    assert.equal(r.additionals?.[0]?.name, 'db-9yj6a-s1.marathon.agent.ippc');
  });

  it('answers ANY with every type the name has', async () => {
    const r = await ask(h, 'dockeruser.marathon.ippc', { type: 'ANY' as RecordType });
    assert.deepEqual(data(r.answers, 'A'), ['172.18.0.2']);
    assert.deepEqual(data(r.answers, 'AAAA'), ['fd01::2']);
  });

  it('gives NXDOMAIN with the SOA for an unknown name in the zone', async () => {
    const r = await ask(h, 'nope.marathon.ippc');
    assert.equal(r.rcode, 'NXDOMAIN');
    assert.ok(r.flag_aa);
    assert.equal(r.answers?.length, 0);
    const soa = r.authorities?.[0] as { type: string; name: string; data: { mname: string; serial: number; minimum: number } };
    assert.equal(soa.type, 'SOA');
    assert.equal(soa.name, 'ippc');
    assert.equal(soa.data.mname, 'ns1.ippc');
    assert.equal(soa.data.serial, 42);
    assert.equal(soa.data.minimum, 5);
  });

  it('gives NOERROR with no data for a name that has other types or names below it', async () => {
    const aaaa = await ask(h, 'web.marathon.ippc', { type: 'AAAA' });
    assert.equal(aaaa.rcode, 'NOERROR');
    assert.equal(aaaa.answers?.length, 0);
    assert.equal(aaaa.authorities?.[0]?.type, 'SOA');
    const ent = await ask(h, 'marathon.agent.ippc');
    assert.equal(ent.rcode, 'NOERROR');
    const txt = await ask(h, 'web.marathon.ippc', { type: 'TXT' });
    assert.equal(txt.rcode, 'NOERROR');
  });

  it('answers SOA and NS at the apex, with the name server address', async () => {
    const soa = await ask(h, 'ippc', { type: 'SOA' });
    assert.equal(soa.answers?.[0]?.type, 'SOA');
    const ns = await ask(h, 'ippc', { type: 'NS' });
    assert.deepEqual(data(ns.answers, 'NS'), ['ns1.ippc']);
    assert.deepEqual(data(ns.additionals, 'A'), ['127.0.0.53']);
  });

  it('answers SERVFAIL for the zone before the first state and when the state is stale', async () => {
    assert.equal((await ask(handler({ records: undefined }), 'web.marathon.ippc')).rcode, 'SERVFAIL');
    const stale = await ask(handler({ servable: false }), 'web.marathon.ippc');
    assert.equal(stale.rcode, 'SERVFAIL');
    assert.equal(stale.answers?.length, 0);
  });
});

describe('createQueryHandler: names outside the zone', () => {
  it('refuses them when no upstream is configured', async () => {
    const r = await ask(handler(), 'example.com');
    assert.equal(r.rcode, 'REFUSED');
    assert.equal(r.flag_aa, false);
  });

  it('relays the query bytes to the forwarder and its answer back unchanged', async () => {
    const seen: Array<{ id: number; transport: Transport }> = [];
    const canned = (q: Buffer) =>
      dnsPacket.encode({
        type: 'response',
        id: q.readUInt16BE(0),
        flags: dnsPacket.RECURSION_AVAILABLE,
        questions: dnsPacket.decode(q).questions,
        answers: [{ type: 'A', name: 'example.com', ttl: 300, data: '93.184.216.34' }],
      });
    const forwarder: Forwarder = {
      upstreams: ['127.0.0.1:5353'],
      async forward(query, transport) {
        seen.push({ id: query.readUInt16BE(0), transport });
        return canned(query);
      },
    };
    const h = handler({ forwarder });
    const r = await ask(h, 'example.com', { transport: 'tcp' });
    assert.deepEqual(seen, [{ id: 4242, transport: 'tcp' }]);
    assert.deepEqual(data(r.answers, 'A'), ['93.184.216.34']);
    // The zone's own answers now advertise recursion.
    assert.ok((await ask(h, 'web.marathon.ippc')).flag_ra);
  });

  it('answers SERVFAIL when no upstream answers', async () => {
    const forwarder: Forwarder = {
      upstreams: ['127.0.0.1:9'],
      forward: async () => {
        throw new DnsError('DNS_UPSTREAM_FAILED', 'no upstream answered');
      },
    };
    let reported: unknown;
    const r = await ask(handler({ forwarder, onForwardError: (e) => (reported = e) }), 'example.com');
    assert.equal(r.rcode, 'SERVFAIL');
    assert.ok(reported instanceof DnsError);
  });
});

describe('createQueryHandler: malformed and oversized messages', () => {
  const h = handler();

  it('answers FORMERR to garbage with a header, and drops shorter garbage', async () => {
    const garbage = Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff]);
    const r = dnsPacket.decode((await h(garbage, 'udp'))!) as DecodedPacket & { rcode: string };
    assert.equal(r.rcode, 'FORMERR');
    assert.equal(r.id, 0x1234);
    assert.equal(await h(Buffer.from([1, 2, 3]), 'udp'), undefined);
  });

  it('answers FORMERR to a query with two questions, NOTIMP to another opcode', async () => {
    const two = dnsPacket.encode({
      type: 'query',
      id: 7,
      questions: [
        { type: 'A', name: 'a.ippc' },
        { type: 'A', name: 'b.ippc' },
      ],
    });
    assert.equal((dnsPacket.decode((await h(two, 'udp'))!) as unknown as { rcode: string }).rcode, 'FORMERR');
    assert.equal((await ask(h, 'web.marathon.ippc', { opcode: 2 })).rcode, 'NOTIMP');
  });

  it('ignores messages that are answers', async () => {
    const response = dnsPacket.encode({ type: 'response', id: 8, questions: [{ type: 'A', name: 'web.marathon.ippc' }] });
    assert.equal(await h(response, 'udp'), undefined);
  });

  it('truncates a big UDP answer with TC, sends it whole over TCP, and honours the EDNS size', async () => {
    // 300 instances of one app: one name with 300 addresses and 300 SRV targets.
    const state = generateState({ tasks: 300, agents: 3 });
    for (const t of state.frameworks![0]!.tasks!) t.name = 'web';
    const shared = buildRecords(state, { domain: 'ippc', ipSources: DEFAULT_IP_SOURCES });
    const hh = handler({ records: shared });
    const udp = await ask(hh, 'web.marathon.ippc');
    assert.ok(udp.flag_tc, 'TC over UDP');
    assert.ok((udp.answers?.length ?? 0) > 0 && (udp.answers?.length ?? 0) < 300);
    assert.ok(dnsPacket.encodingLength(udp) <= 512);
    const edns = await ask(hh, 'web.marathon.ippc', { edns: 4096 });
    assert.ok(edns.flag_tc);
    assert.ok((edns.answers?.length ?? 0) > (udp.answers?.length ?? 0), 'a bigger EDNS buffer carries more answers');
    assert.equal(edns.additionals?.find((a) => a.type === 'OPT')?.type, 'OPT');
    const tcp = await ask(hh, 'web.marathon.ippc', { transport: 'tcp' });
    assert.equal(tcp.flag_tc, false);
    assert.equal(tcp.answers?.length, 300);
    const srv = await ask(hh, '_web._tcp.marathon.ippc', { type: 'SRV' });
    assert.ok(srv.flag_tc);
    assert.equal(srv.additionals?.length ?? 0, 0, 'additional records go first');
  });
});
