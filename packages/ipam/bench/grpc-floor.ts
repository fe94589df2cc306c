// The transport floor under the service rows: a bare @grpc/grpc-js echo server in a process of its
// own (no interceptors, no protobuf, no store), called from this process exactly as the IPAM client
// calls the service. On a small VM the floor's own p99 can exceed the service target; printing it
// beside the service shows what the IPAM adds on top of gRPC itself.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import type * as grpcTypes from '@grpc/grpc-js';

const grpc = createRequire(import.meta.url)('@grpc/grpc-js') as typeof grpcTypes;

const echo = {
  echo: {
    path: '/bench.Floor/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  },
} as const;

const SERVER = `
const grpc = require(${JSON.stringify(createRequire(import.meta.url).resolve('@grpc/grpc-js'))});
const s = new grpc.Server();
const id = (b) => b;
s.addService({ echo: { path: '/bench.Floor/Echo', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id } }, { echo: (call, cb) => cb(null, call.request) });
s.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, port) => { if (e) { console.error(e); process.exit(1); } console.log(port); });
`;

/** Latencies (ms) of `perClient` sequential echo calls from each of `clients` channels at once. */
export async function measureGrpcFloor(clients: number, perClient: number, warmUp = 20): Promise<number[]> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
      child.once('exit', (c) => reject(new Error(`grpc floor server exited (${c})`)));
    });
    const Client = grpc.makeGenericClientConstructor(echo, 'Floor');
    const channels = Array.from({ length: clients }, () => new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()));
    const call = (c: grpcTypes.Client) =>
      new Promise<void>((resolve, reject) =>
        (c as unknown as { echo(b: Buffer, cb: (e: Error | null) => void): void }).echo(Buffer.from('x'), (e) => (e ? reject(e) : resolve())),
      );
    await Promise.all(
      channels.map(async (c) => {
        for (let i = 0; i < warmUp; i++) await call(c);
      }),
    ); // connect, warm up (JIT)
    const lat: number[] = [];
    await Promise.all(
      channels.map(async (c) => {
        for (let i = 0; i < perClient; i++) {
          const t = process.hrtime.bigint();
          await call(c);
          lat.push(Number(process.hrtime.bigint() - t) / 1e6);
        }
      }),
    );
    for (const c of channels) c.close();
    return lat;
  } finally {
    child.kill('SIGKILL');
  }
}
