import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { checkHealth, clientOptions, createGrpcServer, type IppcGrpcServer } from './grpc.js';
import { createMetricsRegistry, startHttpServer } from './http.js';

// A one-method service with JSON payloads, enough to exercise the interceptors.
const json = {
  serialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer) => JSON.parse(b.toString()) as unknown,
};
const EchoService: grpc.ServiceDefinition = {
  say: {
    path: '/test.Echo/Say',
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
};
const EchoClient = grpc.makeGenericClientConstructor(EchoService, 'Echo') as unknown as new (
  address: string,
  creds: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => grpc.Client & { say(req: unknown, cb: (err: grpc.ServiceError | null, res?: unknown) => void): void };

function say(client: InstanceType<typeof EchoClient>, text: string): Promise<unknown> {
  return new Promise((resolve, reject) => client.say({ text }, (err, res) => (err ? reject(err) : resolve(res))));
}

describe('gRPC server plumbing', () => {
  let srv: IppcGrpcServer;
  let address: string;

  before(async () => {
    srv = createGrpcServer({ auth: { token: 's3cret' }, healthServices: ['test.Echo'] });
    srv.server.addService(EchoService, {
      say: (call: grpc.ServerUnaryCall<{ text: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { echo: call.request.text }),
    });
    address = `127.0.0.1:${await srv.listen('127.0.0.1:0')}`;
  });
  after(() => srv.close());

  it('answers a peer that sends the token', async () => {
    const client = new EchoClient(address, grpc.credentials.createInsecure(), clientOptions({ token: 's3cret' }));
    assert.deepEqual(await say(client, 'hi'), { echo: 'hi' });
    client.close();
  });

  it('refuses a peer without the token, or with a wrong one, as UNAUTHENTICATED', async () => {
    for (const options of [{}, clientOptions({ token: 'wrong!' })]) {
      const client = new EchoClient(address, grpc.credentials.createInsecure(), options);
      await assert.rejects(say(client, 'hi'), (err: grpc.ServiceError) => err.code === grpc.status.UNAUTHENTICATED && /credentials/.test(err.details));
      client.close();
    }
  });

  it('leaves the health service open and reports per-service status', async () => {
    assert.equal(await checkHealth(address), 'SERVING');
    assert.equal(await checkHealth(address, 'test.Echo'), 'NOT_SERVING');
    srv.setHealth('test.Echo', 'SERVING');
    assert.equal(await checkHealth(address, 'test.Echo'), 'SERVING');
  });

  it('with auth disabled explicitly, anyone may call', async () => {
    const open = createGrpcServer({ auth: { disabled: true } });
    open.server.addService(EchoService, { say: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { ok: true }) });
    const port = await open.listen('127.0.0.1:0');
    const client = new EchoClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    assert.deepEqual(await say(client, 'x'), { ok: true });
    client.close();
    await open.close();
  });
});

describe('HTTP endpoints', () => {
  it('serves routes as JSON, /health, Prometheus /metrics, and JSON 404s', async () => {
    const metrics = createMetricsRegistry('test');
    const http = await startHttpServer('127.0.0.1', 0, { metrics, routes: { '/state': () => ({ hello: 'world' }) } });
    const base = `http://127.0.0.1:${http.port}`;
    assert.deepEqual(await (await fetch(`${base}/state`)).json(), { hello: 'world' });
    assert.deepEqual(await (await fetch(`${base}/health`)).json(), { status: 'ok' });
    const text = await (await fetch(`${base}/metrics`)).text();
    assert.match(text, /process_cpu_user_seconds_total\{component="test"\}/);
    const missing = await fetch(`${base}/nope`);
    assert.equal(missing.status, 404);
    const post = await fetch(`${base}/state`, { method: 'POST', body: '{"x":' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    assert.deepEqual(await post.json(), { error: 'POST is not allowed on /state; use GET' });
    await http.close();
  });

  it('answers 503 on /health when the health function throws', async () => {
    const http = await startHttpServer('127.0.0.1', 0, {
      health: () => {
        throw new Error('store not open');
      },
    });
    const res = await fetch(`http://127.0.0.1:${http.port}/health`);
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { error: 'store not open' });
    await http.close();
  });
});
