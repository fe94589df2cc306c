import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '@ippc/core';
import { parseResources } from '@ippc/mesos';
import { agentv1, schedulerv1, TaskState, TaskStatus_Source } from '@ippc/proto';
import type { AgentConnection } from '../master.js';
import { startMaster, type StartedMaster } from '../server.js';
import { call as callV1, JSON_TYPE, openStream, PROTOBUF, waitFor, type Answer, type Headers, type Stream } from '@ippc/mesos/testing';

// The scheduler HTTP API against a real master listening on loopback: JSON and protobuf bodies
// (protobuf written by hand from the field numbers of Mesos's scheduler.proto), RecordIO event
// streams, and Mesos's status codes and messages for every refusal.

const TOKEN = 'spec-token';

class FakeAgent implements AgentConnection {
  messages: agentv1.MasterMessage[] = [];
  send(message: agentv1.MasterMessage): void {
    this.messages.push(message);
  }
  close(): void {}
}

describe('scheduler HTTP API (/api/v1/scheduler)', () => {
  let started: StartedMaster;
  let agent: FakeAgent;
  let agentId: string;

  before(async () => {
    started = await startMaster({ port: 0, auth: { token: TOKEN }, log: silentLogger(), allocationIntervalMs: 50, heartbeatIntervalSeconds: 1 });
    agent = new FakeAgent();
    agentId = started.master.registerAgent(
      {
        agent: { hostname: 'a1', resources: parseResources('cpus:2;mem:1024;ports:[31000-31004]'), attributes: [] },
        version: 't',
        pid: 'slave(1)@127.0.0.2:5051',
      },
      agent,
    );
  });
  after(async () => started?.close());

  const url = () => `${started.url}/api/v1/scheduler`;
  const post = (body: string | Buffer, headers: Headers = {}, method = 'POST'): Promise<Answer> =>
    callV1(url(), body, { authorization: `Bearer ${TOKEN}`, 'content-type': JSON_TYPE, ...headers }, method);
  const subscribe = (body: string | Buffer, headers: Headers = {}): Promise<Stream> =>
    openStream(url(), body, { authorization: `Bearer ${TOKEN}`, 'content-type': JSON_TYPE, accept: JSON_TYPE, ...headers });

  const json = (r: Buffer) => JSON.parse(r.toString('utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const ofType = (type: string) => (r: Buffer) => json(r).type === type;
  const subscribeJson = (name: string, id?: string) =>
    JSON.stringify({
      ...(id ? { framework_id: { value: id } } : {}),
      type: 'SUBSCRIBE',
      subscribe: { framework_info: { user: 'root', name, ...(id ? { id: { value: id } } : {}), failover_timeout: 60, unknown_key: 'ignored' } },
    });

  it('SUBSCRIBE in JSON: 200, Mesos-Stream-Id, SUBSCRIBED first in Mesos JSON, then offers and heartbeats, one record per write', async () => {
    const s = await subscribe(subscribeJson('json-fw'));
    assert.equal(s.status, 200);
    assert.equal(s.headers['content-type'], JSON_TYPE);
    assert.match(String(s.headers['mesos-stream-id']), /^[0-9a-f-]{36}$/);
    const first = json(await s.next(() => true));
    assert.equal(first.type, 'SUBSCRIBED');
    assert.match(first.subscribed.framework_id.value, /-\d{4}$/);
    assert.equal(first.subscribed.heartbeat_interval_seconds, 1);
    const offers = json(await s.next(ofType('OFFERS')));
    const offer = offers.offers.offers[0];
    assert.equal(offer.agent_id.value, agentId);
    assert.ok(
      offer.resources.some((r: { name: string; type: string }) => r.name === 'ports' && r.type === 'RANGES'),
      'enums by name, fields by proto name',
    );
    await s.next(ofType('HEARTBEAT'), 2500);
    assert.ok(
      s.perChunk.every((n) => n <= 1),
      `one record per write: ${s.perChunk.join(',')}`,
    );
    s.close();
  });

  it('ACCEPT with LAUNCH, UPDATE with container_status.network_infos, ACKNOWLEDGE with a base64 uuid, KILL: 202 each', async () => {
    const s = await subscribe(subscribeJson('launcher'));
    const streamId = String(s.headers['mesos-stream-id']);
    const frameworkId = json(await s.next(ofType('SUBSCRIBED'))).subscribed.framework_id.value as string;
    const offer = json(await s.next(ofType('OFFERS'))).offers.offers[0];
    const call = (body: object) => post(JSON.stringify({ framework_id: { value: frameworkId }, ...body }), { 'mesos-stream-id': streamId });
    const accepted = await call({
      type: 'ACCEPT',
      accept: {
        offer_ids: [offer.id],
        operations: [
          {
            type: 'LAUNCH',
            launch: {
              task_infos: [
                {
                  name: 'web',
                  task_id: { value: 'web-1' },
                  agent_id: { value: agentId },
                  resources: [
                    { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 }, allocation_info: { role: '*' } },
                    { name: 'mem', type: 'SCALAR', scalar: { value: 32 }, allocation_info: { role: '*' } },
                  ],
                  command: { value: 'sleep 100' },
                  container: { type: 'MESOS', network_infos: [{ name: 'blue', groups: ['web'] }] },
                },
              ],
            },
          },
        ],
        filters: { refuse_seconds: 0 },
      },
    });
    assert.equal(accepted.status, 202, accepted.body);
    assert.equal(accepted.body, '');
    const run = agent.messages.find((m) => m.message?.$case === 'runTask' && m.message.value.task?.taskId?.value === 'web-1');
    assert.ok(run, 'the agent was told to run it');
    started.master.statusUpdate(agentId, agent, {
      frameworkId: { value: frameworkId },
      status: {
        taskId: { value: 'web-1' },
        state: TaskState.TASK_RUNNING,
        source: TaskStatus_Source.SOURCE_EXECUTOR,
        uuid: Buffer.alloc(16, 7),
        containerStatus: { networkInfos: [{ name: 'blue', ipAddresses: [{ ipAddress: '10.100.0.5' }], groups: ['web'], portMappings: [] }] },
      },
    });
    const update = json(await s.next((r) => json(r).type === 'UPDATE')).update.status;
    assert.equal(update.state, 'TASK_RUNNING');
    assert.equal(update.container_status.network_infos[0].ip_addresses[0].ip_address, '10.100.0.5');
    assert.equal(update.uuid, Buffer.alloc(16, 7).toString('base64'), 'bytes as base64');
    const ack = await call({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: { value: agentId }, task_id: { value: 'web-1' }, uuid: update.uuid } });
    assert.equal(ack.status, 202, ack.body);
    const forwarded = agent.messages.find((m) => m.message?.$case === 'statusUpdateAcknowledgement');
    assert.ok(forwarded?.message?.$case === 'statusUpdateAcknowledgement', 'the acknowledgement went on to the agent');
    assert.deepEqual(Buffer.from(forwarded.message.value.uuid!), Buffer.alloc(16, 7), 'with the uuid decoded from base64');
    const kill = await call({ type: 'KILL', kill: { task_id: { value: 'web-1' }, agent_id: { value: agentId } } });
    assert.equal(kill.status, 202, kill.body);
    assert.ok(agent.messages.some((m) => m.message?.$case === 'killTask'));
    for (const type of ['REVIVE', 'SUPPRESS']) assert.equal((await call({ type })).status, 202, type);
    assert.equal((await call({ type: 'RECONCILE', reconcile: { tasks: [] } })).status, 202);
    assert.equal((await call({ type: 'DECLINE', decline: { offer_ids: [{ value: 'no-such-offer' }] } })).status, 202);
    assert.equal((await call({ type: 'TEARDOWN' })).status, 202);
    await waitFor(() => s.ended, 'the stream ends after TEARDOWN');
  });

  it('reads calls as mesos-framework 0.5.3 writes them: every unset field as null, no Accept header (e2e/src/http-framework.e2e.ts)', async () => {
    // Verbatim shapes from the library (protobuf.js 5 messages through JSON.stringify); stout's
    // JSON parser takes null as an unset field, and so must the master.
    const nulls = (...keys: string[]) => Object.fromEntries(keys.map((k) => [k, null]));
    const framework_info = {
      user: 'root',
      name: 'npm-lib',
      ...nulls('id', 'checkpoint', 'role', 'hostname', 'principal', 'webui_url', 'capabilities', 'labels'),
    };
    const callNulls = nulls('accept', 'decline', 'kill', 'shutdown', 'acknowledge', 'reconcile', 'message', 'request');
    const s = await subscribe(JSON.stringify({ framework_id: null, type: 'SUBSCRIBE', subscribe: { framework_info }, ...callNulls }), {
      accept: undefined,
      'transfer-encoding': 'chunked',
    });
    assert.equal(s.headers['content-type'], JSON_TYPE, 'JSON when Accept is absent');
    const frameworkId = json(await s.next(ofType('SUBSCRIBED'))).subscribed.framework_id.value as string;
    const offer = json(await s.next(ofType('OFFERS'))).offers.offers[0];
    const resource = (name: string, value: number) => ({
      name,
      type: 'SCALAR',
      scalar: { value },
      ...nulls('ranges', 'set', 'role', 'reservation', 'disk', 'revocable'),
    });
    const task = {
      name: 'web-1',
      task_id: { value: 'npm-lib.web-1' },
      agent_id: offer.agent_id,
      resources: [resource('cpus', 0.1), resource('mem', 32)],
      command: { uris: [], environment: { variables: [{ name: 'HOST', value: '127.0.0.2' }] }, shell: true, value: 'sleep 100', arguments: [], user: null },
      container: {
        type: 'MESOS',
        ...nulls('volumes', 'hostname', 'docker', 'mesos'),
        network_infos: [{ ip_addresses: [], name: 'blue', protocol: null, ip_address: null, groups: [], labels: null }],
      },
      ...nulls('executor', 'health_check', 'kill_policy', 'data', 'labels', 'discovery'),
    };
    const operation = { type: 'LAUNCH', launch: { task_infos: [task] }, ...nulls('reserve', 'unreserve', 'create', 'destroy') };
    const accept = { offer_ids: [offer.id], operations: [operation], filters: null };
    const body = JSON.stringify({ framework_id: { value: frameworkId }, type: 'ACCEPT', subscribe: null, ...callNulls, accept });
    const accepted = await post(body, { 'mesos-stream-id': String(s.headers['mesos-stream-id']), 'transfer-encoding': 'chunked' });
    assert.equal(accepted.status, 202, accepted.body);
    const run = agent.messages.find((m) => m.message?.$case === 'runTask' && m.message.value.task?.taskId?.value === 'npm-lib.web-1');
    assert.ok(run?.message?.$case === 'runTask', 'the agent was told to run it');
    assert.deepEqual(
      run.message.value.task?.container?.networkInfos.map((n) => n.name),
      ['blue'],
    );
    s.close();
  });

  it('SUBSCRIBE in protobuf, bytes written by hand from the field numbers; events decode as Event', async () => {
    const text = (field: number, value: string) => Buffer.concat([Buffer.from([(field << 3) | 2, Buffer.byteLength(value)]), Buffer.from(value)]);
    const message = (field: number, body: Buffer) => Buffer.concat([Buffer.from([(field << 3) | 2, body.length]), body]);
    // Call { type (2) = SUBSCRIBE (1), subscribe (3) { framework_info (1) { user (1), name (2) } } }
    const body = Buffer.concat([Buffer.from([0x10, 0x01]), message(3, message(1, Buffer.concat([text(1, 'root'), text(2, 'pb-fw')])))]);
    const s = await subscribe(body, { 'content-type': PROTOBUF, accept: PROTOBUF });
    assert.equal(s.status, 200);
    assert.equal(s.headers['content-type'], PROTOBUF);
    const first = schedulerv1.Event.decode(await s.next(() => true));
    assert.equal(first.type, schedulerv1.Event_Type.SUBSCRIBED);
    // Event { type (1) = SUBSCRIBED (1), subscribed (2) { framework_id (1) { value (1) } ... } }
    const raw = s.records[0]!;
    assert.deepEqual([raw[0], raw[1], raw[2]], [0x08, 0x01, 0x12]);
    s.close();
  });

  it("answers Mesos's status and message for every bad request, and launches nothing", async () => {
    const launchesBefore = agent.messages.filter((m) => m.message?.$case === 'runTask').length;
    const cases: [string, Promise<Answer>, number, RegExp][] = [
      ['no token', post('{}', { authorization: undefined }), 401, /Bearer/],
      ['GET', post('', {}, 'GET'), 405, /^Expecting one of \{ 'POST' \}, but received 'GET'$/],
      ['no content type', post('{}', { 'content-type': undefined }), 400, /^Expecting 'Content-Type' to be present$/],
      ['text/plain', post('{}', { 'content-type': 'text/plain' }), 415, /^Expecting 'Content-Type' of application\/json or application\/x-protobuf$/],
      ['truncated JSON', post('{"type": "SUBSC'), 400, /^Failed to parse body into JSON: /],
      ['an array', post('[]'), 400, /^Failed to convert JSON into Call protobuf: Expecting a JSON object/],
      ['garbage protobuf', post(Buffer.from([0x0a, 0xff, 0xff]), { 'content-type': PROTOBUF }), 400, /^Failed to parse body into Call protobuf$/],
      ['no type', post('{}'), 400, /^Failed to validate scheduler::Call: Expecting 'type' to be present$/],
      ['an unknown type', post('{"type":"NOPE"}'), 400, /^Failed to convert JSON into Call protobuf: Failed to find enum for 'NOPE'$/],
      [
        'no user',
        post('{"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":"x"}}}'),
        400,
        /^Failed to convert JSON into Call protobuf: Missing required fields: subscribe\.framework_info\.user$/,
      ],
      [
        'no framework id',
        post('{"type":"KILL","kill":{"task_id":{"value":"t"}}}'),
        400,
        /^Failed to validate scheduler::Call: Expecting 'framework_id' to be present$/,
      ],
      ['unknown framework', post('{"type":"REVIVE","framework_id":{"value":"nope"}}', { 'mesos-stream-id': 'x' }), 400, /^Framework cannot be found$/],
      [
        'SUBSCRIBE with a stream id',
        post(subscribeJson('sid'), { 'mesos-stream-id': 'x' }),
        400,
        /^Subscribe calls should not include the 'Mesos-Stream-Id' header$/,
      ],
      [
        'SUBSCRIBE accepting only HTML',
        post(subscribeJson('html'), { accept: 'text/html' }),
        406,
        /^Expecting 'Accept' to allow 'application\/x-protobuf' or 'application\/json'$/,
      ],
      ['a body over the limit', post('x'.repeat(17 * 1024 * 1024)), 413, /larger than the limit/],
    ];
    for (const [what, answer, status, message] of cases) {
      const a = await answer;
      assert.equal(a.status, status, `${what}: ${a.status} ${a.body}`);
      assert.match(a.body, message, what);
    }
    const unauthorized = await post('{}', { authorization: 'Bearer wrong' });
    assert.equal(unauthorized.headers['www-authenticate'], 'Bearer realm="mesos"');
    assert.equal((await post('', {}, 'GET')).headers.allow, 'POST');
    assert.equal(agent.messages.filter((m) => m.message?.$case === 'runTask').length, launchesBefore);
  });

  it('calls need the current stream id; a closed stream leaves the framework unsubscribed (403); a failed-over stream gets ERROR', async () => {
    const s = await subscribe(subscribeJson('streams'));
    const frameworkId = json(await s.next(ofType('SUBSCRIBED'))).subscribed.framework_id.value as string;
    const revive = (streamId?: string) => post(JSON.stringify({ type: 'REVIVE', framework_id: { value: frameworkId } }), { 'mesos-stream-id': streamId });
    const missing = await revive();
    assert.deepEqual([missing.status, missing.body], [400, "All non-subscribe calls should include the 'Mesos-Stream-Id' header"]);
    const wrong = await revive('other');
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body, `The stream ID 'other' included in this request didn't match the stream ID currently associated with framework ID ${frameworkId}`);
    // Failover: the same framework subscribes again; the old stream gets ERROR and ends.
    const again = await subscribe(subscribeJson('streams', frameworkId));
    assert.equal(json(await again.next(ofType('SUBSCRIBED'))).subscribed.framework_id.value, frameworkId);
    assert.equal(json(await s.next(ofType('ERROR'))).error.message, 'Framework failed over');
    await waitFor(() => s.ended, 'the old stream ends');
    assert.equal((await revive(String(again.headers['mesos-stream-id']))).status, 202);
    // The scheduler goes away: the framework waits for its failover timeout, unsubscribed.
    again.close();
    await waitFor(async () => (await revive(String(again.headers['mesos-stream-id']))).status === 403, 'the master sees the stream closed');
    assert.equal((await revive(String(again.headers['mesos-stream-id']))).body, 'Framework is not subscribed');
  });

  it('a SUBSCRIBE the master refuses after validation gets 200, an ERROR event and the end of the stream', async () => {
    const s = await subscribe(JSON.stringify({ type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'root', name: 'bad', role: '/bad' } } }));
    assert.equal(s.status, 200);
    const error = json(await s.next(() => true));
    assert.equal(error.type, 'ERROR');
    assert.equal(error.error.message, "'FrameworkInfo.role' is not a valid role: Role '/bad' cannot start with a slash");
    await waitFor(() => s.ended, 'the stream ends');
  });

  it('a call ippc does not implement answers 501', async () => {
    const s = await subscribe(subscribeJson('unsupported'));
    const frameworkId = json(await s.next(ofType('SUBSCRIBED'))).subscribed.framework_id.value as string;
    for (const type of ['UPDATE_FRAMEWORK', 'ACCEPT_INVERSE_OFFERS', 'RECONCILE_OPERATIONS']) {
      const a = await post(JSON.stringify({ type, framework_id: { value: frameworkId } }), { 'mesos-stream-id': String(s.headers['mesos-stream-id']) });
      assert.equal(a.status, 501, a.body);
      assert.equal(a.body, `Call ${type} is not supported by ippc`);
    }
    s.close();
  });

  it("an executor's MESSAGE reaches its framework as a MESSAGE event; an executor's exit is a FAILURE event and frees it", async () => {
    const s = await subscribe(subscribeJson('executor-events'));
    const frameworkId = json(await s.next(ofType('SUBSCRIBED'))).subscribed.framework_id.value as string;
    started.master
      .agentEntries()
      .find((a) => a.id === agentId)!
      .executors.set(frameworkId, new Map([['ex9', { executorId: { value: 'ex9' }, resources: [] }]]));
    started.master.executorMessage(agentId, agent, {
      agentId: { value: agentId },
      frameworkId: { value: frameworkId },
      executorId: { value: 'ex9' },
      data: Buffer.from('héllo'),
    });
    const message = json(await s.next(ofType('MESSAGE'))).message;
    assert.deepEqual([message.agent_id.value, message.executor_id.value, Buffer.from(message.data, 'base64').toString()], [agentId, 'ex9', 'héllo']);
    started.master.executorExited(agentId, agent, {
      agentId: { value: agentId },
      frameworkId: { value: frameworkId },
      executorId: { value: 'ex9' },
      status: 3,
    });
    const failure = json(await s.next(ofType('FAILURE'))).failure;
    assert.deepEqual([failure.agent_id.value, failure.executor_id.value, failure.status], [agentId, 'ex9', 3]);
    assert.equal(
      started.master
        .agentEntries()
        .find((a) => a.id === agentId)!
        .executors.has(frameworkId),
      false,
      "the executor's resources are free again",
    );
    started.master.executorMessage(agentId, agent, {
      agentId: { value: agentId },
      frameworkId: { value: 'gone' },
      executorId: { value: 'ex9' },
      data: Buffer.from('x'),
    });
    const snapshot = (await (await fetch(`${started.url}/metrics/snapshot`)).json()) as Record<string, number>;
    assert.deepEqual(
      [
        snapshot['master/messages_executor_to_framework'],
        snapshot['master/valid_executor_to_framework_messages'],
        snapshot['master/invalid_executor_to_framework_messages'],
      ],
      [2, 1, 1],
    );
    s.close();
  });

  it('SHUTDOWN and MESSAGE go on to the agent (202); REQUEST is accepted and ignored; a missing part is 400', async () => {
    const s = await subscribe(subscribeJson('executors'));
    const frameworkId = json(await s.next(ofType('SUBSCRIBED'))).subscribed.framework_id.value as string;
    const call = (body: object) =>
      post(JSON.stringify({ framework_id: { value: frameworkId }, ...body }), { 'mesos-stream-id': String(s.headers['mesos-stream-id']) });
    const before = agent.messages.length;
    const shutdown = await call({ type: 'SHUTDOWN', shutdown: { executor_id: { value: 'e1' }, agent_id: { value: agentId } } });
    assert.equal(shutdown.status, 202, shutdown.body);
    const message = await call({
      type: 'MESSAGE',
      message: { executor_id: { value: 'e1' }, agent_id: { value: agentId }, data: Buffer.from('héllo').toString('base64') },
    });
    assert.equal(message.status, 202, message.body);
    const request = await call({ type: 'REQUEST', request: { requests: [{ agent_id: { value: agentId }, resources: [] }] } });
    assert.equal(request.status, 202, request.body);
    const sent = agent.messages.slice(before).map((m) => m.message);
    assert.deepEqual(
      sent.map((m) => m?.$case),
      ['shutdownExecutor', 'frameworkToExecutor'],
    );
    assert.ok(sent[0]?.$case === 'shutdownExecutor' && sent[0].value.executorId?.value === 'e1' && sent[0].value.frameworkId?.value === frameworkId);
    assert.ok(sent[1]?.$case === 'frameworkToExecutor');
    assert.equal(Buffer.from(sent[1].value.data!).toString('utf8'), 'héllo', 'the bytes decoded from base64');
    // An agent the master does not know: accepted (Mesos drops it without telling the framework), counted as invalid.
    const lost = await call({ type: 'MESSAGE', message: { executor_id: { value: 'e1' }, agent_id: { value: 'nope' }, data: '' } });
    assert.equal(lost.status, 202, lost.body);
    const snapshot = (await (await fetch(`${started.url}/metrics/snapshot`)).json()) as Record<string, number>;
    assert.equal(snapshot['master/messages_shutdown_executor'], 1);
    assert.equal(snapshot['master/messages_framework_to_executor'], 2);
    assert.equal(snapshot['master/valid_framework_to_executor_messages'], 1);
    assert.equal(snapshot['master/invalid_framework_to_executor_messages'], 1);
    assert.equal(snapshot['master/messages_resource_request'], 1);
    const bad: [object, string][] = [
      [{ type: 'SHUTDOWN' }, "Failed to validate scheduler::Call: Expecting 'shutdown' to be present"],
      [
        { type: 'SHUTDOWN', shutdown: { executor_id: { value: 'e1' } } },
        'Failed to convert JSON into Call protobuf: Missing required fields: shutdown.agent_id',
      ],
      [
        { type: 'MESSAGE', message: { executor_id: { value: 'e1' }, agent_id: { value: agentId } } },
        'Failed to convert JSON into Call protobuf: Missing required fields: message.data',
      ],
      [{ type: 'REQUEST' }, "Failed to validate scheduler::Call: Expecting 'request' to be present"],
    ];
    for (const [body, text] of bad) {
      const a = await call(body);
      assert.deepEqual([a.status, a.body], [400, text]);
    }
    assert.equal(agent.messages.length, before + 2, 'nothing more reached the agent');
    s.close();
  });
});
