// Load generator for the ippc-dns benchmark, run as its own process so it does not share a CPU
// with the server: keeps `window` queries in flight for `seconds`, over UDP or one TCP connection,
// and prints {sent, answered, lost, errors, qps, p50Ms, p99Ms} as JSON on standard output.
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import * as dnsPacket from 'dns-packet';

interface LoadArgs {
  host: string;
  port: number;
  transport: 'udp' | 'tcp';
  names: string[];
  window: number;
  seconds: number;
  warmupSeconds: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as LoadArgs;
const templates = args.names.map((name) => dnsPacket.encode({ type: 'query', id: 0, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] }));

const latencies: number[] = [];
const inflight = new Map<number, number>();
let nextId = 1;
let sent = 0;
let answered = 0;
let errors = 0;
let lost = 0;
let measuring = false;
let stopping = false;
let measureStart = 0;
let measureEnd = 0;

function nextQuery(): { id: number; buf: Buffer } {
  const id = nextId;
  nextId = (nextId + 1) & 0xffff || 1;
  const buf = Buffer.from(templates[Math.floor(Math.random() * templates.length)]!);
  buf.writeUInt16BE(id, 0);
  return { id, buf };
}

function onAnswer(msg: Buffer, send: () => void): void {
  if (msg.length < 12) return;
  const id = msg.readUInt16BE(0);
  const started = inflight.get(id);
  if (started === undefined) return;
  inflight.delete(id);
  const rcode = msg.readUInt16BE(2) & 0xf;
  if (measuring) {
    answered++;
    latencies.push(performance.now() - started);
    if (rcode !== 0) errors++;
  }
  if (!stopping) send();
}

async function main(): Promise<void> {
  let send: () => void;
  let close: () => void;
  if (args.transport === 'udp') {
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.connect(args.port, args.host, () => r()));
    send = () => {
      const q = nextQuery();
      inflight.set(q.id, performance.now());
      if (measuring) sent++;
      socket.send(q.buf);
    };
    socket.on('message', (msg) => onAnswer(msg, send));
    close = () => socket.close();
  } else {
    const socket = connect({ host: args.host, port: args.port, noDelay: true });
    await new Promise<void>((r) => socket.once('connect', () => r()));
    let buffered = Buffer.alloc(0);
    send = () => {
      const q = nextQuery();
      inflight.set(q.id, performance.now());
      if (measuring) sent++;
      const len = Buffer.alloc(2);
      len.writeUInt16BE(q.buf.length);
      socket.write(Buffer.concat([len, q.buf]));
    };
    socket.on('data', (chunk) => {
      buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const size = buffered.readUInt16BE(0);
        const msg = buffered.subarray(2, 2 + size);
        buffered = buffered.subarray(2 + size);
        onAnswer(msg, send);
      }
    });
    close = () => socket.destroy();
  }

  // A query unanswered for a second is lost (a dropped datagram); replace it to keep the window full.
  const sweeper = setInterval(() => {
    const now = performance.now();
    for (const [id, started] of inflight) {
      if (now - started > 1000) {
        inflight.delete(id);
        if (measuring) lost++;
        if (!stopping) send();
      }
    }
  }, 100);

  for (let i = 0; i < args.window; i++) send();
  await new Promise((r) => setTimeout(r, args.warmupSeconds * 1000));
  measuring = true;
  measureStart = performance.now();
  await new Promise((r) => setTimeout(r, args.seconds * 1000));
  measureEnd = performance.now();
  measuring = false;
  stopping = true;
  clearInterval(sweeper);
  await new Promise((r) => setTimeout(r, 200));
  close();

  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  const seconds = (measureEnd - measureStart) / 1000;
  process.stdout.write(
    JSON.stringify({ sent, answered, lost, errors, qps: answered / seconds, p50Ms: pct(50), p99Ms: pct(99), maxMs: latencies[latencies.length - 1] ?? NaN }) +
      '\n',
  );
}

await main();
