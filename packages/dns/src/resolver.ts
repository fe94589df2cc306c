/**
 * Answering one DNS message: authoritative answers for the zone, forwarding for everything else.
 * Transport-free (bytes in, bytes out) so it is tested without sockets.
 */
import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, OptAnswer, Packet, Question } from 'dns-packet';
import type { Forwarder, Transport } from './forwarder.js';
import { canonicalName } from './labels.js';
import type { NameRecords, RecordSet } from './records.js';

/** Response codes we send (RFC 1035 §4.1.1). */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export type RcodeName = keyof typeof RCODE;

/** What the handler needs to know about the zone at the moment of a query. */
export interface ZoneView {
  /** The current zone, or undefined before the first state was read. */
  records: RecordSet | undefined;
  /** False before the first state, and when the state is older than the staleness limit. */
  servable: boolean;
  /** SOA serial of the current zone. */
  serial: number;
}

export interface QueryHandlerOptions {
  /** The zone apex, canonical. */
  domain: string;
  /** TTL of every answer, and the SOA minimum (negative caching). */
  ttl: number;
  zone: () => ZoneView;
  /** Where names outside the zone go; without one they are REFUSED. */
  forwarder?: Forwarder;
  /** Called once per answered message, for metrics and logs. */
  onAnswer?: (info: { rcode: RcodeName; transport: Transport; forwarded: boolean; name?: string; type?: string }) => void;
  /** Called when forwarding failed (the client got SERVFAIL). */
  onForwardError?: (err: unknown) => void;
}

/** Biggest UDP answer we send to an EDNS client (the DNS flag day 2020 value). */
export const EDNS_UDP_SIZE = 1232;
const CLASSIC_UDP_SIZE = 512;
const TCP_MAX = 65535;

/** A function from a query message to the answer message (undefined: drop it, it was garbage). */
export type QueryHandler = (query: Buffer, transport: Transport) => Promise<Buffer | undefined>;

/** What the pieces of one handler share: its options, and the names derived from the domain. */
interface HandlerContext {
  readonly options: QueryHandlerOptions;
  readonly domain: string;
  readonly ttl: number;
  readonly forwarder: Forwarder | undefined;
  readonly suffix: string;
  readonly nsName: string;
  readonly report: NonNullable<QueryHandlerOptions['onAnswer']>;
}

export function createQueryHandler(options: QueryHandlerOptions): QueryHandler {
  const { domain, ttl, forwarder } = options;
  const ctx: HandlerContext = {
    options,
    domain,
    ttl,
    forwarder,
    suffix: `.${domain}`,
    nsName: `ns1.${domain}`,
    report: options.onAnswer ?? (() => undefined),
  };
  return (query, transport) => handle(ctx, query, transport);
}

async function handle(ctx: HandlerContext, query: Buffer, transport: Transport): Promise<Buffer | undefined> {
  const { domain, suffix, forwarder, report } = ctx;
  let q: DecodedPacket;
  try {
    q = dnsPacket.decode(query);
  } catch {
    report({ rcode: 'FORMERR', transport, forwarded: false });
    return errorReply(query, RCODE.FORMERR);
  }
  if (q.type !== 'query') return undefined; // never answer an answer
  const opcode = (q as DecodedPacket & { opcode?: string }).opcode;
  if (opcode !== 'QUERY') {
    report({ rcode: 'NOTIMP', transport, forwarded: false });
    return errorReply(query, RCODE.NOTIMP);
  }
  const question = q.questions?.[0];
  if (!question || q.questions!.length !== 1) {
    report({ rcode: 'FORMERR', transport, forwarded: false });
    return errorReply(query, RCODE.FORMERR);
  }
  const name = canonicalName(question.name);
  if (name === domain || name.endsWith(suffix)) {
    if (question.class !== undefined && question.class !== 'IN' && question.class !== 'ANY') {
      report({ rcode: 'REFUSED', transport, forwarded: false, name, type: question.type });
      return encode(q, { type: 'response', id: q.id, flags: flagsFor(ctx, q, RCODE.REFUSED, false), questions: [question] }, transport);
    }
    return authoritative(ctx, q, question, name, transport);
  }
  if (!forwarder) {
    report({ rcode: 'REFUSED', transport, forwarded: false, name, type: question.type });
    return encode(q, { type: 'response', id: q.id, flags: flagsFor(ctx, q, RCODE.REFUSED, false), questions: [question] }, transport);
  }
  try {
    const answer = await forwarder.forward(query, transport);
    report({ rcode: rcodeName(answer), transport, forwarded: true, name, type: question.type });
    return answer;
  } catch (err) {
    ctx.options.onForwardError?.(err);
    report({ rcode: 'SERVFAIL', transport, forwarded: true, name, type: question.type });
    return encode(q, { type: 'response', id: q.id, flags: flagsFor(ctx, q, RCODE.SERVFAIL, false), questions: [question] }, transport);
  }
}

function soa(ctx: HandlerContext, serial: number): Answer {
  const { domain, ttl, nsName } = ctx;
  return {
    type: 'SOA',
    name: domain,
    ttl,
    class: 'IN',
    data: { mname: nsName, rname: `root.${nsName}`, serial, refresh: 60, retry: 600, expire: 86400, minimum: ttl },
  };
}

function flagsFor(ctx: HandlerContext, q: DecodedPacket, rcode: number, authoritative: boolean): number {
  let flags = rcode & 0xf;
  flags |= q.flags ? q.flags & (0xf << 11) : 0; // echo the opcode
  if (authoritative) flags |= dnsPacket.AUTHORITATIVE_ANSWER;
  if (q.flags && q.flags & dnsPacket.RECURSION_DESIRED) flags |= dnsPacket.RECURSION_DESIRED;
  if (ctx.forwarder) flags |= dnsPacket.RECURSION_AVAILABLE;
  return flags;
}

function encode(q: DecodedPacket, p: Packet, transport: Transport): Buffer {
  const clientOpt = (q.additionals ?? []).find((r): r is OptAnswer => r.type === 'OPT');
  const opt: Answer[] = clientOpt
    ? [{ type: 'OPT', name: '.', udpPayloadSize: EDNS_UDP_SIZE, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }]
    : [];
  const limit = transport === 'tcp' ? TCP_MAX : clientOpt ? Math.max(CLASSIC_UDP_SIZE, Math.min(clientOpt.udpPayloadSize, EDNS_UDP_SIZE)) : CLASSIC_UDP_SIZE;
  const full: Packet = { ...p, additionals: [...(p.additionals ?? []), ...opt] };
  let buf = dnsPacket.encode(full);
  if (buf.length <= limit) return buf;
  // Too big: drop the additional section first, then as many answers as needed, and set TC so
  // the client retries over TCP (RFC 2181 §9).
  const answers = p.answers ?? [];
  const withoutExtra: Packet = { ...p, additionals: opt, flags: (p.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE };
  buf = dnsPacket.encode(withoutExtra);
  if (buf.length <= limit) return buf;
  let lo = 0;
  let hi = answers.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (dnsPacket.encodingLength({ ...withoutExtra, answers: answers.slice(0, mid) }) <= limit) lo = mid;
    else hi = mid - 1;
  }
  return dnsPacket.encode({ ...withoutExtra, answers: answers.slice(0, lo), authorities: lo === 0 ? [] : withoutExtra.authorities });
}

function errorReply(query: Buffer, rcode: number): Buffer | undefined {
  if (query.length < 12) return undefined;
  const id = query.readUInt16BE(0);
  const opcodeBits = query.readUInt16BE(2) & (0xf << 11);
  return dnsPacket.encode({ type: 'response', id, flags: opcodeBits | rcode, questions: [] });
}

function rotate<T>(list: readonly T[]): T[] {
  // Round-robin-ish: start at a random entry so clients spread over instances.
  if (list.length < 2) return [...list];
  const k = Math.floor(Math.random() * list.length);
  return [...list.slice(k), ...list.slice(0, k)];
}

function authoritative(ctx: HandlerContext, q: DecodedPacket, question: Question, name: string, transport: Transport): Buffer {
  const { domain, ttl, nsName, report } = ctx;
  const view = ctx.options.zone();
  const reply = (rcode: RcodeName, answers: Answer[] = [], authorities: Answer[] = [], additionals: Answer[] = []) => {
    report({ rcode, transport, forwarded: false, name, type: question.type });
    return encode(
      q,
      { type: 'response', id: q.id, flags: flagsFor(ctx, q, RCODE[rcode], true), questions: [question], answers, authorities, additionals },
      transport,
    );
  };
  if (!view.servable || !view.records) return reply('SERVFAIL');
  const zone = view.records;
  const qname = question.name; // answer with the name as asked (0x20 case randomisation)
  const type = question.type as string;
  const entry: NameRecords | undefined = zone.lookup(name);
  const answers: Answer[] = [];
  const additionals: Answer[] = [];
  const wants = (t: string) => type === t || type === 'ANY';
  if (entry) {
    if (wants('A')) for (const ip of rotate(entry.a)) answers.push({ type: 'A', name: qname, ttl, class: 'IN', data: ip });
    if (wants('AAAA')) for (const ip of rotate(entry.aaaa)) answers.push({ type: 'AAAA', name: qname, ttl, class: 'IN', data: ip });
    if (wants('SRV')) {
      const targets = new Set<string>();
      for (const s of rotate(entry.srv)) {
        answers.push({ type: 'SRV', name: qname, ttl, class: 'IN', data: { priority: 0, weight: 1, port: s.port, target: s.target } });
        targets.add(s.target);
      }
      for (const t of targets) {
        const te = zone.lookup(t);
        for (const ip of te?.a ?? []) additionals.push({ type: 'A', name: t, ttl, class: 'IN', data: ip });
        for (const ip of te?.aaaa ?? []) additionals.push({ type: 'AAAA', name: t, ttl, class: 'IN', data: ip });
      }
    }
  }
  if (name === domain) {
    if (wants('SOA')) answers.push({ ...soa(ctx, view.serial), name: qname } as Answer);
    if (wants('NS')) {
      answers.push({ type: 'NS', name: qname, ttl, class: 'IN', data: nsName });
      for (const ip of zone.lookup(nsName)?.a ?? []) additionals.push({ type: 'A', name: nsName, ttl, class: 'IN', data: ip });
    }
  }
  if (answers.length > 0) return reply('NOERROR', answers, [], additionals);
  // No data: NOERROR if the name exists (with other types, or names below it), else NXDOMAIN.
  // Both carry the SOA so resolvers cache the negative answer for `ttl` (RFC 2308).
  return reply(zone.exists(name) ? 'NOERROR' : 'NXDOMAIN', [], [soa(ctx, view.serial)]);
}

function rcodeName(answer: Buffer): RcodeName {
  const code = answer.length >= 4 ? answer.readUInt16BE(2) & 0xf : 2;
  return (Object.keys(RCODE) as RcodeName[]).find((k) => RCODE[k] === code) ?? 'SERVFAIL';
}
