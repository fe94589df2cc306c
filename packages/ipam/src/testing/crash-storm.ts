import { createServer } from 'node:net';
import { sleep } from '@ippc/core';
import { createIpamClient, type IpamClient } from '../client.js';
import { isIpamError } from '../errors.js';
import type { ServerProcess } from './server-process.js';

// kill -9 the IPAM service repeatedly while 64 clients allocate, restart it each time, then check
// that every acknowledged assignment survived and no address is held twice.

export interface CrashStormOptions {
  /** Starts the service on the given gRPC port (same data each time). */
  start(port: number): Promise<ServerProcess>;
  token: string;
  network: string;
  clients?: number;
  perClient?: number;
  /** Upper bound per client while waiting for the kills to happen. Default 200 (64 x 200 fits a /18). */
  maxPerClient?: number;
  kills?: number;
  /** Time between a restart and the next kill. Default 600 ms. */
  killEveryMs?: number;
  /** Hard limit of the whole storm. Default 120 s. */
  timeLimitMs?: number;
}

export interface CrashStormResult {
  kills: number;
  acknowledged: number;
  retriedCalls: number;
  leases: number;
  duplicates: string[];
  lost: string[];
  changed: string[];
  ms: number;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

export async function runCrashStorm(o: CrashStormOptions): Promise<CrashStormResult> {
  const clients = o.clients ?? 64;
  const perClient = o.perClient ?? 20;
  const kills = o.kills ?? 5;
  const maxPerClient = o.maxPerClient ?? 200;
  const started = Date.now();
  const deadline = started + (o.timeLimitMs ?? 120_000);
  const port = await freePort();
  let server = await o.start(port);
  const address = `127.0.0.1:${port}`;
  const channelOptions = { 'grpc.initial_reconnect_backoff_ms': 50, 'grpc.max_reconnect_backoff_ms': 300, 'grpc.min_reconnect_backoff_ms': 50 };
  const acked = new Map<string, { address: string; epoch: number }>();
  let retried = 0;
  let killed = 0;
  let done = false;

  const worker = async (w: number, client: IpamClient) => {
    // At least perClient each, and on until every kill has happened (bounded by maxPerClient).
    for (let i = 0; (i < perClient || killed < kills) && i < maxPerClient && Date.now() < deadline; i++) {
      const containerId = `storm-${w}-${i}`;
      for (;;) {
        if (Date.now() > deadline) return;
        try {
          const r = await client.allocate({ handle: { network: o.network, containerId, ifName: 'eth0' }, node: `n${w % 4}` });
          acked.set(containerId, { address: r.lease.addresses[0]!.address, epoch: r.lease.epoch });
          break;
        } catch (err) {
          if (!isIpamError(err, 'IPAM_UNAVAILABLE', 'IPAM_CONFLICT')) throw err;
          retried++;
          await sleep(20);
        }
      }
    }
  };
  const ipams = Array.from({ length: clients }, () => createIpamClient({ address, auth: { token: o.token }, timeoutMs: 2_000, channelOptions }));
  const killer = (async () => {
    while (killed < kills && !done && Date.now() < deadline) {
      await sleep(o.killEveryMs ?? 600);
      if (done) break;
      await server.kill('SIGKILL');
      killed++;
      server = await o.start(port);
    }
  })();
  try {
    await Promise.all(ipams.map((c, w) => worker(w, c)));
    done = true;
    await killer;
    // Restart once more so the checks read what a fresh process loads from the store.
    await server.kill('SIGKILL');
    server = await o.start(port);
    const check = createIpamClient({ address, auth: { token: o.token }, channelOptions });
    let leases;
    for (;;) {
      try {
        leases = await check.listLeases({ network: o.network });
        break;
      } catch (err) {
        if (!isIpamError(err, 'IPAM_UNAVAILABLE') || Date.now() > deadline + 30_000) throw err;
        await sleep(50);
      }
    }
    const byAddress = new Map<string, string[]>();
    for (const l of leases) {
      for (const a of l.addresses) byAddress.set(a.address, [...(byAddress.get(a.address) ?? []), l.handle.containerId]);
    }
    const duplicates = [...byAddress].filter(([, hs]) => hs.length > 1).map(([a, hs]) => `${a}: ${hs.join(', ')}`);
    const byHandle = new Map(leases.map((l) => [l.handle.containerId, l]));
    const lost: string[] = [];
    const changed: string[] = [];
    for (const [id, a] of acked) {
      const l = byHandle.get(id);
      if (!l) lost.push(id);
      else if (l.addresses[0]!.address !== a.address || l.epoch !== a.epoch)
        changed.push(`${id}: acked ${a.address}@${a.epoch}, stored ${l.addresses[0]!.address}@${l.epoch}`);
    }
    check.close();
    return { kills: killed, acknowledged: acked.size, retriedCalls: retried, leases: leases.length, duplicates, lost, changed, ms: Date.now() - started };
  } finally {
    done = true;
    for (const c of ipams) c.close();
    await killer.catch(() => undefined);
    await server.kill('SIGKILL');
  }
}
