import * as grpc from '@grpc/grpc-js';

// gRPC health (grpc.health.v1.Health/Check) for readiness probes, on a channel of its own: a local
// subchannel pool, closed after each probe, so no connection attempt outlives the probe (a shared
// subchannel still connecting to a removed container kept the process alive for two minutes).

/** `HealthCheckRequest { string service = 1; }` */
function encodeRequest(service: string): Buffer {
  const s = Buffer.from(service);
  if (s.length > 127) throw new Error('service name too long for a one-byte length');
  return Buffer.concat([Buffer.from([0x0a, s.length]), s]);
}

/** `HealthCheckResponse { ServingStatus status = 1; }`: 0 UNKNOWN, 1 SERVING, 2 NOT_SERVING, 3 SERVICE_UNKNOWN. */
function decodeStatus(b: Buffer): string {
  const names = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];
  return b.length >= 2 && b[0] === 0x08 ? (names[b[1]!] ?? 'UNKNOWN') : 'UNKNOWN';
}

/** The serving status of `service` at `address` (`host:port`); rejects when the call fails. */
export async function probeGrpcHealth(address: string, service: string, deadlineMs = 1000): Promise<string> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1, 'grpc.initial_reconnect_backoff_ms': 100 });
  try {
    return await new Promise<string>((resolve, reject) =>
      client.makeUnaryRequest(
        '/grpc.health.v1.Health/Check',
        (s: string) => encodeRequest(s),
        (b: Buffer) => decodeStatus(b),
        service,
        new grpc.Metadata(),
        { deadline: Date.now() + deadlineMs },
        (err, status) => (err ? reject(err) : resolve(status ?? 'UNKNOWN')),
      ),
    );
  } finally {
    client.close();
  }
}
