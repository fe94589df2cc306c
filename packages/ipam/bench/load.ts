// A load generator for the IPAM benchmark, in a process of its own: a lean client (nothing else in
// its heap, like ippc-ipam-node), so that the row it feeds measures the service and the client's
// own garbage collector as configured by the node flags it was started with, not the bench's.
//
//   node [node flags] --import tsx bench/load.ts --address HOST:PORT --token T --network N
//        --clients K --count C [--warm W] [--prefix P]
// prints one JSON line: { lat: number[] (ms), wallMs, warmLat: number[] (the warm-up's own
// latencies, sequential) }; the bench checks uniqueness on the service's own listing
import { parseArgs } from 'node:util';
import { createIpamClient } from '../src/client.js';

const { values } = parseArgs({
  options: {
    address: { type: 'string' },
    token: { type: 'string' },
    network: { type: 'string' },
    clients: { type: 'string', default: '1' },
    count: { type: 'string' },
    warm: { type: 'string', default: '0' },
    prefix: { type: 'string', default: 'c' },
  },
});
const clients = Number(values.clients);
const count = Number(values.count);
const warm = Number(values.warm);
const network = values.network!;
const ipam = Array.from({ length: clients }, () => createIpamClient({ address: values.address!, auth: { token: values.token! } }));
const now = () => Number(process.hrtime.bigint()) / 1e6;
try {
  // Connect every channel, then warm up with `warm` allocations of their own: the figures are
  // the steady state of a long-running client and service. V8 keeps tiering up grpc-js's, the
  // protobuf code's and our paths for the first thousands of calls: here, without fsync, p99 was
  // 2.0-2.1 ms after 2,000 warm-up allocations and 1.1 ms after 5,000 (same server, same run).
  await Promise.all(ipam.map((c) => c.listPools(network)));
  const warmLat: number[] = [];
  for (let i = 0; i < warm; i++) {
    const t = now();
    await ipam[i % clients]!.allocate({ handle: { network, containerId: `${values.prefix}-warm-${i}`, ifName: 'eth0' }, node: 'bench' });
    warmLat.push(now() - t);
  }
  const lat: number[] = [];
  const t0 = now();
  await Promise.all(
    ipam.map(async (c, w) => {
      for (let i = 0; i < count; i++) {
        const t = now();
        await c.allocate({ handle: { network, containerId: `${values.prefix}-${w}-${i}`, ifName: 'eth0' }, node: 'bench' });
        lat.push(now() - t);
      }
    }),
  );
  process.stdout.write(`${JSON.stringify({ lat, wallMs: now() - t0, warmLat })}\n`);
} finally {
  for (const c of ipam) c.close();
}
