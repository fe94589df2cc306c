// ippc-dns benchmark: queries per second and latency on loopback with a zone of ~10,000 records,
// against a baseline responder; and the delay from TASK_RUNNING in the master's state to the name
// resolving, for the polling source at its default interval and at a short one.
//
//   npx tsx packages/dns/bench/bench.ts [--tasks 1250] [--seconds 5] [--window 64] [--trials 5]
//
// The server runs in this process; the load generator (bench/load.ts) in another, so each has a
// core. Figures are printed, never asserted.
import { fork } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as dnsPacket from 'dns-packet';
import { silentLogger } from '@ippc/core';
import { createDnsServer, DEFAULT_IP_SOURCES, DEFAULT_REFRESH_MS, buildRecords, type DnsServer } from '../src/index.js';
import { startFakeMaster } from '../src/testing/fake-master.js';
import { generatedTask, generateState } from '../src/fixtures/generate.js';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '1250' },
    seconds: { type: 'string', default: '5' },
    window: { type: 'string', default: '64' },
    trials: { type: 'string', default: '5' },
    'short-interval': { type: 'string', default: '100' },
  },
});
const TASKS = Number(values.tasks);
const SECONDS = Number(values.seconds);
const WINDOW = Number(values.window);
const TRIALS = Number(values.trials);
const SHORT_MS = Number(values['short-interval']);
const AGENTS = 10;

interface LoadResult {
  sent: number;
  answered: number;
  lost: number;
  errors: number;
  qps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

function runLoad(port: number, transport: 'udp' | 'tcp', names: string[]): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(
      fileURLToPath(new URL('./load.ts', import.meta.url)),
      [JSON.stringify({ host: '127.0.0.1', port, transport, names, window: WINDOW, seconds: SECONDS, warmupSeconds: 1 })],
      {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      },
    );
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`load generator exited ${code}`))));
  });
}

/** The floor: decode the query, answer one fixed A record, encode. Same library, same socket type. */
async function startBaseline(): Promise<{ port: number; close: () => Promise<void> }> {
  const socket = createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    const q = dnsPacket.decode(msg);
    const answer = dnsPacket.encode({
      type: 'response',
      id: q.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER,
      questions: q.questions,
      answers: [{ type: 'A', name: q.questions![0]!.name, ttl: 5, data: '10.0.0.1' }],
    });
    socket.send(answer, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  return { port: socket.address().port, close: () => new Promise((r) => socket.close(() => r())) };
}

/** One UDP client in this process for the propagation probe. */
function prober(port: number): { resolves: (name: string) => Promise<boolean>; close: () => void } {
  const socket: Socket = createSocket('udp4');
  const waiting = new Map<number, (ok: boolean) => void>();
  let id = 1;
  socket.on('message', (msg) => {
    const done = waiting.get(msg.readUInt16BE(0));
    if (done) {
      waiting.delete(msg.readUInt16BE(0));
      done((msg.readUInt16BE(2) & 0xf) === 0 && msg.readUInt16BE(6) > 0);
    }
  });
  return {
    resolves: (name) =>
      new Promise((resolve) => {
        const qid = (id = (id + 1) & 0xffff || 1);
        waiting.set(qid, resolve);
        socket.send(dnsPacket.encode({ type: 'query', id: qid, questions: [{ type: 'A', name }] }), port, '127.0.0.1');
        setTimeout(() => waiting.delete(qid) && resolve(false), 500).unref();
      }),
    close: () => socket.close(),
  };
}

interface Trial {
  /** TASK_RUNNING in the state -> the name resolves. */
  totalMs: number;
  /** TASK_RUNNING in the state -> the master's answer with it arrived (waiting for the poll + transfer). */
  answerMs: number;
}

async function propagation(intervalMs: number, trials: number): Promise<Trial[]> {
  const state = generateState({ tasks: TASKS, agents: AGENTS });
  const master = await startFakeMaster({ state });
  const server = await createDnsServer({ master: master.url, listen: '127.0.0.1:0', refreshMs: intervalMs, logger: silentLogger() });
  const probe = prober(server.port);
  const delays: Trial[] = [];
  try {
    await server.ready(30_000);
    for (let t = 0; t < trials; t++) {
      const index = TASKS + 1000 + t;
      const name = `app-${index}.marathon.ippc`;
      // Let the trial start at a random point of the polling cycle.
      await new Promise((r) => setTimeout(r, Math.random() * intervalMs));
      const t0 = performance.now();
      const wall0 = Date.now();
      master.update((s) => s.frameworks![0]!.tasks!.push(generatedTask(index, AGENTS)));
      const deadline = t0 + intervalMs * 3 + 5000;
      let ok = false;
      while (!ok && performance.now() < deadline) {
        ok = await probe.resolves(name);
        if (!ok) await new Promise((r) => setTimeout(r, 2));
      }
      if (!ok) throw new Error(`${name} did not resolve within ${Math.round(deadline - t0)} ms`);
      delays.push({ totalMs: performance.now() - t0, answerMs: (server.status().updatedAt ?? wall0) - wall0 });
    }
  } finally {
    probe.close();
    await server.close();
    await master.close();
  }
  return delays;
}

const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const pad = (s: string, n: number) => s.padEnd(n);
const lpad = (s: string, n: number) => s.padStart(n);

async function main(): Promise<void> {
  const state = generateState({ tasks: TASKS, agents: AGENTS });
  const t0 = performance.now();
  const zone = buildRecords(state, { domain: 'ippc', ipSources: DEFAULT_IP_SOURCES });
  const buildMs = performance.now() - t0;
  const names = Array.from({ length: TASKS }, (_, i) => `app-${i}.marathon.ippc`);

  const master = await startFakeMaster({ state });
  let server: DnsServer | undefined;
  const baseline = await startBaseline();
  const rows: Array<[string, LoadResult]> = [];
  try {
    server = await createDnsServer({ master: master.url, listen: '127.0.0.1:0', refreshMs: 60_000, logger: silentLogger() });
    await server.ready(30_000);
    rows.push(['baseline responder, UDP', await runLoad(baseline.port, 'udp', names)]);
    rows.push(['ippc-dns, UDP', await runLoad(server.port, 'udp', names)]);
    rows.push(['ippc-dns, TCP (1 conn)', await runLoad(server.port, 'tcp', names)]);
  } finally {
    await server?.close();
    await baseline.close();
    await master.close();
  }

  const base = rows[0]![1];
  console.log(
    `\nippc-dns query load: ${TASKS} running tasks on ${AGENTS} agents -> ${zone.stats.records} records under ${zone.stats.names} names (zone built in ${fmt(buildMs, 0)} ms)`,
  );
  console.log(`loopback, ${WINDOW} queries in flight, ${SECONDS} s per run after 1 s warm-up, random A queries over ${names.length} names\n`);
  console.log(
    `${pad('run', 26)}${lpad('qps', 10)}${lpad('p50 ms', 9)}${lpad('p99 ms', 9)}${lpad('max ms', 9)}${lpad('lost', 7)}${lpad('errors', 8)}${lpad('qps/base', 10)}${lpad('p99/base', 10)}`,
  );
  for (const [name, r] of rows) {
    console.log(
      `${pad(name, 26)}${lpad(fmt(r.qps, 0), 10)}${lpad(fmt(r.p50Ms), 9)}${lpad(fmt(r.p99Ms), 9)}${lpad(fmt(r.maxMs), 9)}${lpad(String(r.lost), 7)}${lpad(String(r.errors), 8)}${lpad(fmt(r.qps / base.qps), 10)}${lpad(fmt(r.p99Ms / base.p99Ms), 10)}`,
    );
  }

  console.log(`\nTASK_RUNNING in the master's state -> name resolves (polling source, ${TASKS} tasks in the state)\n`);
  console.log(
    `${pad('interval', 20)}${lpad('trials', 7)}${lpad('min ms', 9)}${lpad('median', 9)}${lpad('max ms', 9)}${lpad('mean', 9)}${lpad('interval/2', 12)}${lpad('mean/(i/2)', 12)}${lpad('poll wait', 11)}${lpad('parse+build', 13)}`,
  );
  for (const [label, interval, trials] of [
    [`${DEFAULT_REFRESH_MS} ms (default)`, DEFAULT_REFRESH_MS, TRIALS],
    [`${SHORT_MS} ms`, SHORT_MS, TRIALS * 2],
  ] as const) {
    const trialsRun = await propagation(interval, trials);
    const d = trialsRun.map((t) => t.totalMs).sort((a, b) => a - b);
    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const mean = avg(d);
    const wait = avg(trialsRun.map((t) => t.answerMs));
    console.log(
      `${pad(label, 20)}${lpad(String(d.length), 7)}${lpad(fmt(d[0]!, 0), 9)}${lpad(fmt(d[Math.floor(d.length / 2)]!, 0), 9)}${lpad(fmt(d[d.length - 1]!, 0), 9)}${lpad(fmt(mean, 0), 9)}${lpad(String(interval / 2), 12)}${lpad(fmt(mean / (interval / 2)), 12)}${lpad(fmt(wait, 0), 11)}${lpad(fmt(mean - wait, 0), 13)}`,
    );
  }
  console.log('\n(baseline: a responder answering one fixed A record with the same DNS library, the floor of a Node UDP server here;');
  console.log(' poll wait: TASK_RUNNING -> the master answer containing it arrived; parse+build: the rest, JSON parse + zone build + first query)');
}

await main();
