import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import type { Endpoint, Prober, ProbeResult } from './check.js';

// A prober for endpoints that are network namespaces on this machine (the emulation, or an agent
// container's view of its own containers). One small probe agent per namespace: it serves each
// endpoint's port with the endpoint's identity, and opens connections from inside the namespace
// when asked over a unix socket (sockets on a path reach across namespaces). No exec per probe.

/**
 * The probe agent, plain JavaScript for `node` (no loader, about 80 ms to start):
 *   node probe-agent.mjs <control.sock> <port>=<endpoint id> ...
 * A connection to <port> reads `ippc-probe <endpoint id>\n`. `GET /probe?address&port&timeout&expect`
 * on the control socket connects from this namespace and answers {reachable, detail, ms}:
 * reachable only when the identity line arrived and names `expect`.
 */
export const PROBE_AGENT_SOURCE = `import net from 'node:net';
import http from 'node:http';
import fs from 'node:fs';
const [control, ...serves] = process.argv.slice(2);
let pending = serves.length;
const ready = () => { if (--pending <= 0) process.stdout.write('ready\\n'); };
for (const s of serves) {
  const eq = s.indexOf('=');
  const port = Number(s.slice(0, eq));
  const id = s.slice(eq + 1);
  const server = net.createServer((sock) => { sock.on('error', () => {}); sock.end('ippc-probe ' + id + '\\n'); });
  server.on('error', (err) => {
    if (err.code === 'EAFNOSUPPORT' || err.code === 'EADDRNOTAVAIL') server.listen(port, '0.0.0.0', ready);
    else { process.stderr.write('listen ' + port + ': ' + err.message + '\\n'); process.exit(2); }
  });
  server.listen({ port, host: '::', ipv6Only: false }, ready);
}
try { fs.unlinkSync(control); } catch {}
http.createServer((req, res) => {
  const u = new URL(req.url, 'http://probe');
  if (u.pathname !== '/probe') { res.writeHead(u.pathname === '/health' ? 200 : 404); res.end('{}'); return; }
  const address = u.searchParams.get('address');
  const port = Number(u.searchParams.get('port'));
  const timeout = Number(u.searchParams.get('timeout') || 1000);
  const expect = u.searchParams.get('expect') || '';
  const started = performance.now();
  let done = false;
  let data = '';
  const sock = net.connect({ host: address, port });
  const finish = (reachable, detail) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    sock.destroy();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ reachable, detail, ms: Math.round((performance.now() - started) * 10) / 10 }));
  };
  const timer = setTimeout(() => finish(false, 'timeout'), timeout);
  sock.on('data', (d) => {
    data += d;
    const nl = data.indexOf('\\n');
    if (nl < 0) return;
    const id = data.slice(0, nl).replace(/^ippc-probe /, '');
    if (!expect || id === expect) finish(true, 'connected');
    else finish(false, 'wrong target: ' + id);
  });
  sock.on('error', (err) => finish(false, err.code === 'ECONNREFUSED' ? 'refused' : (err.code || err.message)));
  sock.on('close', () => finish(false, data ? 'no identity' : 'closed'));
}).listen(control, ready);
pending += 1;
`;

export interface NamespaceProberOptions {
  /** A folder for the control sockets and the agent script (one of the caller's own). */
  dir: string;
  /** Endpoint id → the network namespace it lives in (`/run/netns/...`). Endpoints sharing a namespace share one agent. */
  namespaces: Record<string, string>;
  /** Port each endpoint serves when it names none. Default 8080. */
  port?: number;
  /** Started agents report ready within this long. Default 20 s. */
  startTimeoutMs?: number;
}

export interface NamespaceProber extends Prober {
  /** Starts one probe agent per namespace, serving every endpoint's port there. */
  start(endpoints: Endpoint[]): Promise<void>;
  /** Stops one endpoint's namespace agent (its row and column then fail: useful to test controls). */
  stopNamespace(nsPath: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Probes between network namespaces on this machine (root needed for nsenter).
 *
 * @example
 * ```ts
 * const prober = createNamespaceProber({ dir, namespaces: { 'a1/c1': '/run/netns/c1', a1: '/run/netns/a1' } });
 * await prober.start(endpoints);
 * const report = await runNetCheck({ endpoints, rules, prober });
 * await prober.close();
 * ```
 */
export function createNamespaceProber(options: NamespaceProberOptions): NamespaceProber {
  const agents = new Map<string, { child: ChildProcess; control: string }>();
  const port = options.port ?? 8080;

  return {
    async start(endpoints) {
      await mkdir(options.dir, { recursive: true });
      const script = join(options.dir, 'probe-agent.mjs');
      await writeFile(script, PROBE_AGENT_SOURCE);
      const byNs = new Map<string, Endpoint[]>();
      for (const e of endpoints) {
        const ns = options.namespaces[e.id];
        if (!ns) throw new Error(`no namespace given for endpoint ${e.id}`);
        byNs.set(ns, [...(byNs.get(ns) ?? []), e]);
      }
      let k = agents.size;
      await Promise.all(
        [...byNs].map(async ([ns, eps]) => {
          const control = join(options.dir, `probe-${k++}.sock`);
          const child = spawn('nsenter', [`--net=${ns}`, '--', process.execPath, script, control, ...eps.map((e) => `${e.port ?? port}=${e.id}`)], {
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          agents.set(ns, { child, control });
          let err = '';
          child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
          await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`probe agent in ${ns} not ready: ${err}`)), options.startTimeoutMs ?? 20_000);
            child.stdout?.on('data', (d: Buffer) => {
              if (d.toString().includes('ready')) {
                clearTimeout(timer);
                resolve();
              }
            });
            child.once('exit', (code) => {
              clearTimeout(timer);
              reject(new Error(`probe agent in ${ns} exited with ${code}: ${err}`));
            });
          });
        }),
      );
    },
    async probe(from, to, toPort, { timeoutMs }) {
      const ns = options.namespaces[from.id];
      const agent = ns ? agents.get(ns) : undefined;
      if (!agent) return { reachable: false, detail: `no probe agent for ${from.id}` };
      const q = new URLSearchParams({ address: to.address, port: String(toPort), timeout: String(timeoutMs), expect: to.id });
      try {
        return await call(agent.control, `/probe?${q}`, timeoutMs);
      } catch (err) {
        return { reachable: false, detail: `probe agent of ${from.id}: ${(err as Error).message}` };
      }
    },
    async stopNamespace(nsPath) {
      const a = agents.get(nsPath);
      if (!a) return;
      agents.delete(nsPath);
      await stop(a.child);
    },
    async close() {
      await Promise.allSettled([...agents.values()].map((a) => stop(a.child)));
      agents.clear();
    },
  };
}

/** Asks the probe agent on `control` (GET `path`) and reads its JSON answer. */
function call(control: string, path: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: control, path, method: 'GET', timeout: timeoutMs + 5_000, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body) as ProbeResult);
        } catch (err) {
          reject(err as Error);
        }
      });
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('probe agent did not answer')));
    req.end();
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.kill('SIGKILL'), 2_000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
