import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '@ippc/core';
import { allocateResources, parseResources } from '@ippc/mesos';
import { agentv1, masterv1, Offer_Operation_Type, schedulerv1, TaskState, TaskStatus_Source, type Offer, type TaskInfo } from '@ippc/proto';
import type { ServerResponse } from 'node:http';
import { Master, type AgentConnection, type FrameworkConnection } from '../master.js';
import { startMaster, type StartedMaster } from '../server.js';
import { call, JSON_TYPE, openStream, PROTOBUF, waitFor, type Answer, type Headers, type Stream } from '@ippc/mesos/testing';
import { operatorSubscribe, OPERATOR_STREAM_MAX_BUFFERED } from './operator-events.js';
import { IPPC_VERSION } from './state.js';

// The operator HTTP API against a real master listening on loopback, driven by in-process fake
// agents and frameworks: every read in JSON, reads and SUBSCRIBE in protobuf (the request written
// by hand from the field numbers of Mesos's master.proto), the event stream, and Mesos's status
// codes and messages for every refusal.

const TOKEN = 'spec-token';
const { Event_Type, Call_Type } = schedulerv1;
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

class FakeAgent implements AgentConnection {
  messages: agentv1.MasterMessage[] = [];
  send(message: agentv1.MasterMessage): void {
    this.messages.push(message);
  }
  close(): void {}
}

/** A scheduler connected in process: records its events, hands out its offers. */
class FakeFramework implements FrameworkConnection {
  events: schedulerv1.Event[] = [];
  send(event: schedulerv1.Event): void {
    this.events.push(event);
  }
  close(): void {}
  async offer(): Promise<Offer> {
    await waitFor(() => this.events.some((e) => e.type === Event_Type.OFFERS), 'an offer');
    const e = this.events.findLast((ev) => ev.type === Event_Type.OFFERS)!;
    this.events = [];
    return e.offers!.offers[0]!;
  }
}

const registration = (hostname: string, pid: string): agentv1.RegisterAgent => ({
  agent: { hostname, resources: parseResources('cpus:2;mem:1024;ports:[31000-31004]'), attributes: [] },
  version: 't',
  pid,
});

describe('operator HTTP API (/api/v1)', () => {
  let started: StartedMaster;
  let agent: FakeAgent;
  let agentId: string;

  before(async () => {
    started = await startMaster({
      port: 0,
      auth: { token: TOKEN },
      log: silentLogger(),
      allocationIntervalMs: 50,
      heartbeatIntervalSeconds: 1,
      agentReregisterTimeoutMs: 200,
      flags: { port: '0', allocation_interval: '50ms' },
    });
    agent = new FakeAgent();
    agentId = started.master.registerAgent(registration('a1', 'slave(1)@127.0.0.2:5051'), agent);
  });
  after(async () => started?.close());

  const url = (path = '/api/v1') => `${started.url}${path}`;
  const post = (body: string | Buffer, headers: Headers = {}, method = 'POST'): Promise<Answer> =>
    call(url(), body, { authorization: `Bearer ${TOKEN}`, 'content-type': JSON_TYPE, ...headers }, method);
  const read = async (type: string): Promise<Json> => {
    const a = await post(JSON.stringify({ type }), { accept: JSON_TYPE });
    assert.equal(a.status, 200, `${type}: ${a.body}`);
    assert.equal(a.headers['content-type'], JSON_TYPE);
    return JSON.parse(a.body) as Json;
  };
  const subscribe = (body: string | Buffer = '{"type":"SUBSCRIBE"}', headers: Headers = {}): Promise<Stream> =>
    openStream(url(), body, { authorization: `Bearer ${TOKEN}`, 'content-type': JSON_TYPE, accept: JSON_TYPE, ...headers });
  const json = (r: Buffer) => JSON.parse(r.toString('utf8')) as Json;
  const ofType = (type: string) => (r: Buffer) => json(r).type === type;

  /** Subscribes a framework in process and launches one task with a NetworkInfo (and optionally a custom executor). */
  async function launch(name: string, taskId: string, withExecutor = false) {
    const fw = new FakeFramework();
    const subscribeCall = { type: Call_Type.SUBSCRIBE, subscribe: { frameworkInfo: { user: 'root', name, failoverTimeout: 60, capabilities: [], roles: [] } } };
    const ids = started.master.subscribe(subscribeCall, fw);
    const offer = await fw.offer();
    const resources = allocateResources(parseResources('cpus:0.1;mem:32'), '*');
    const task: TaskInfo = {
      name: taskId,
      taskId: { value: taskId },
      agentId: { value: agentId },
      resources,
      container: { type: 2, networkInfos: [{ name: 'blue', groups: ['web'], ipAddresses: [], portMappings: [] }] },
      limits: {},
      ...(withExecutor
        ? {
            executor: {
              executorId: { value: `${taskId}-ex` },
              frameworkId: { value: ids.frameworkId },
              command: { value: 'run', uris: [], arguments: [] },
              resources,
            },
          }
        : { command: { value: 'sleep 100', uris: [], arguments: [] } }),
    };
    const accept = { offerIds: [offer.id!], operations: [{ type: Offer_Operation_Type.LAUNCH, launch: { taskInfos: [task] } }], filters: { refuseSeconds: 0 } };
    started.master.handleCall({ type: Call_Type.ACCEPT, frameworkId: { value: ids.frameworkId }, accept } as schedulerv1.Call, ids.streamId);
    assert.ok(started.master.frameworks.get(ids.frameworkId)?.tasks.has(taskId), `the master launched ${taskId}`);
    // No more offers to this framework: the agent's resources stay free for the next one.
    started.master.handleCall({ type: Call_Type.SUPPRESS, frameworkId: { value: ids.frameworkId } } as schedulerv1.Call, ids.streamId);
    return { fw, ...ids, subscribeCall };
  }

  /** The agent reports the task running at `ip`, as the network isolator fills `container_status`. */
  function running(frameworkId: string, taskId: string, ip: string) {
    started.master.statusUpdate(agentId, agent, {
      frameworkId: { value: frameworkId },
      status: {
        taskId: { value: taskId },
        state: TaskState.TASK_RUNNING,
        source: TaskStatus_Source.SOURCE_EXECUTOR,
        uuid: Buffer.alloc(16, 1),
        containerStatus: { networkInfos: [{ name: 'blue', ipAddresses: [{ ipAddress: ip }], groups: ['web'], portMappings: [] }] },
      },
    });
  }

  it('answers every read in Mesos JSON: GET_HEALTH, GET_VERSION, GET_FLAGS, GET_METRICS, GET_MASTER', async () => {
    assert.deepEqual(await read('GET_HEALTH'), { type: 'GET_HEALTH', get_health: { healthy: true } });
    const version = (await read('GET_VERSION')).get_version.version_info;
    assert.equal(version.version, IPPC_VERSION);
    assert.equal(version.build_user, 'ippc');
    const flags = (await read('GET_FLAGS')).get_flags.flags;
    assert.deepEqual(flags, [
      { name: 'allocation_interval', value: '50ms' },
      { name: 'port', value: '0' },
    ]);
    const metrics = (await read('GET_METRICS')).get_metrics.metrics as { name: string; value: number }[];
    assert.deepEqual(
      metrics.find((m) => m.name === 'master/elected'),
      { name: 'master/elected', value: 1 },
    );
    assert.ok(metrics.some((m) => m.name === 'master/slaves_active' && m.value >= 1));
    const m = (await read('GET_MASTER')).get_master;
    assert.equal(m.master_info.id, started.master.id);
    assert.equal(m.master_info.ip, 16777343, "127.0.0.1 as Mesos's network-order uint32");
    assert.equal(m.master_info.port, started.port);
    assert.equal(m.master_info.pid, `master@127.0.0.1:${started.port}`);
    assert.equal(m.master_info.hostname, '127.0.0.1');
    assert.equal(m.master_info.version, IPPC_VERSION);
    assert.deepEqual(m.master_info.address, { hostname: '127.0.0.1', ip: '127.0.0.1', port: started.port });
    assert.equal(m.start_time, started.master.startTime);
    assert.equal(m.elected_time, started.master.startTime);
  });

  it('answers GET_AGENTS, GET_FRAMEWORKS, GET_TASKS, GET_EXECUTORS and GET_STATE from the records, addresses included', async () => {
    const { frameworkId } = await launch('reader', 'read-1', true);
    running(frameworkId, 'read-1', '10.100.0.7');
    const agents = (await read('GET_AGENTS')).get_agents.agents as Json[];
    const a = agents.find((x) => x.agent_info.id.value === agentId)!;
    assert.equal(a.agent_info.hostname, 'a1');
    assert.equal(a.active, true);
    assert.equal(a.pid, 'slave(1)@127.0.0.2:5051');
    assert.equal(a.version, 't');
    assert.ok(a.registered_time.nanoseconds > 0);
    assert.ok(
      a.total_resources.some((r: Json) => r.name === 'ports' && r.type === 'RANGES'),
      'enums by name',
    );
    assert.ok(a.allocated_resources.some((r: Json) => r.name === 'cpus' && r.scalar.value === 0.2));
    assert.deepEqual(
      a.capabilities.map((c: Json) => c.type),
      ['MULTI_ROLE', 'HIERARCHICAL_ROLE', 'RESERVATION_REFINEMENT'],
    );
    const frameworks = (await read('GET_FRAMEWORKS')).get_frameworks.frameworks as Json[];
    const f = frameworks.find((x) => x.framework_info.id.value === frameworkId)!;
    assert.deepEqual([f.framework_info.name, f.active, f.connected, f.recovered], ['reader', true, true, false]);
    assert.ok(f.allocated_resources.some((r: Json) => r.name === 'mem' && r.allocation_info.role === '*'));
    const tasks = (await read('GET_TASKS')).get_tasks;
    const t = tasks.tasks.find((x: Json) => x.task_id.value === 'read-1');
    assert.equal(t.state, 'TASK_RUNNING');
    assert.equal(t.statuses[0].container_status.network_infos[0].ip_addresses[0].ip_address, '10.100.0.7');
    const executors = (await read('GET_EXECUTORS')).get_executors.executors as Json[];
    assert.deepEqual(
      executors.map((e) => [e.executor_info.executor_id.value, e.agent_id.value]),
      [['read-1-ex', agentId]],
    );
    const state = (await read('GET_STATE')).get_state;
    assert.deepEqual(Object.keys(state).sort(), ['get_agents', 'get_executors', 'get_frameworks', 'get_tasks']);
    assert.ok(state.get_tasks.tasks.some((x: Json) => x.task_id.value === 'read-1'));
    assert.ok(state.get_frameworks.frameworks.some((x: Json) => x.framework_info.id.value === frameworkId));
  });

  it('takes and answers protobuf: calls written by hand from the field numbers, answers and events decoded', async () => {
    // Call { type (1) = GET_MASTER (17) }, answered in protobuf when only protobuf is acceptable.
    const m = await post(Buffer.from([0x08, 0x11]), { 'content-type': PROTOBUF, accept: `${PROTOBUF}, text/html;q=0.5` });
    assert.equal(m.status, 200, m.body);
    assert.equal(m.headers['content-type'], PROTOBUF);
    // Response { type (1) = GET_MASTER (15), get_master (16) { master_info (1) { ... } } }
    assert.deepEqual([...m.raw.subarray(0, 3)], [0x08, 0x0f, 0x82]);
    const master = masterv1.Response.decode(m.raw);
    assert.equal(master.type, masterv1.Response_Type.GET_MASTER);
    const info = master.getMaster?.masterInfo;
    assert.deepEqual([info?.id, info?.ip, info?.port, info?.address?.ip], [started.master.id, 16777343, started.port, '127.0.0.1']);
    // Call { type (1) = GET_STATE (9) } -> Response { type (1) = GET_STATE (8), get_state (9) { ... } }. Its times are
    // nanoseconds since the epoch, beyond what ts-proto's int64-as-number decodes, so only the framing is checked here.
    const state = await post(Buffer.from([0x08, 0x09]), { 'content-type': PROTOBUF, accept: PROTOBUF });
    assert.deepEqual([...state.raw.subarray(0, 3)], [0x08, 0x08, 0x4a]);
    // JSON is the default when Accept allows both.
    const either = await post(Buffer.from([0x08, 0x01]), { 'content-type': PROTOBUF, accept: `${PROTOBUF}, ${JSON_TYPE}` });
    assert.deepEqual(JSON.parse(either.body), { type: 'GET_HEALTH', get_health: { healthy: true } });
    // Call { type (1) = SUBSCRIBE (18) } -> Event { type (1) = SUBSCRIBED (1), subscribed (2) { ... } } first.
    const s = await subscribe(Buffer.from([0x08, 0x12]), { 'content-type': PROTOBUF, accept: PROTOBUF });
    assert.equal(s.headers['content-type'], PROTOBUF);
    assert.deepEqual([...(await s.next(() => true)).subarray(0, 3)], [0x08, 0x01, 0x12]);
    const replaced = started.master.registerAgent(registration('pb', 'slave(1)@127.0.0.5:5051'), new FakeAgent());
    started.master.registerAgent(registration('pb-again', 'slave(1)@127.0.0.5:5051'), new FakeAgent());
    // Event { type (1) = AGENT_REMOVED (5), agent_removed (6) { agent_id (1) } }: no times, so it decodes whole.
    const removed = masterv1.Event.decode(await s.next((r) => r[0] === 0x08 && r[1] === masterv1.Event_Type.AGENT_REMOVED));
    assert.equal(removed.agentRemoved?.agentId?.value, replaced);
    const observers = started.master.observers.size;
    s.close();
    await waitFor(() => started.master.observers.size === observers - 1, 'the closed stream unsubscribes');
  });

  it("answers Mesos's status and message for every bad request, and leaves no stream open", async () => {
    const observers = started.master.observers.size;
    const cases: [string, Promise<Answer>, number, RegExp][] = [
      ['no token', post('{"type":"GET_HEALTH"}', { authorization: undefined }), 401, /Bearer/],
      ['GET', post('', {}, 'GET'), 405, /^Expecting one of \{ 'POST' \}, but received 'GET'$/],
      ['no content type', post('{"type":"GET_HEALTH"}', { 'content-type': undefined }), 400, /^Expecting 'Content-Type' to be present$/],
      [
        'text/plain',
        post('{"type":"GET_HEALTH"}', { 'content-type': 'text/plain' }),
        415,
        /^Expecting 'Content-Type' of application\/json or application\/x-protobuf$/,
      ],
      ['truncated JSON', post('{"type": "GET_HEA'), 400, /^Failed to parse body into JSON: /],
      ['an array', post('[]'), 400, /^Failed to convert JSON into Call protobuf: Expecting a JSON object/],
      ['garbage protobuf', post(Buffer.from([0x0a, 0xff, 0xff]), { 'content-type': PROTOBUF }), 400, /^Failed to parse body into Call protobuf$/],
      ['no type', post('{}'), 400, /^Failed to validate master::Call: Expecting 'type' to be present$/],
      [
        'a type number Mesos does not have',
        post(Buffer.from([0x08, 0x63]), { 'content-type': PROTOBUF }),
        400,
        /^Failed to validate master::Call: Expecting 'type' to be present$/,
      ],
      ['an unknown type', post('{"type":"NOPE"}'), 400, /^Failed to convert JSON into Call protobuf: Failed to find enum for 'NOPE'$/],
      [
        'GET_HEALTH accepting only HTML',
        post('{"type":"GET_HEALTH"}', { accept: 'text/html' }),
        406,
        /^Expecting 'Accept' to allow 'application\/x-protobuf' or 'application\/json'$/,
      ],
      ['SUBSCRIBE accepting only HTML', post('{"type":"SUBSCRIBE"}', { accept: 'text/html' }), 406, /^Expecting 'Accept' to allow/],
      ['SUBSCRIBE without a token', post('{"type":"SUBSCRIBE"}', { authorization: 'Bearer wrong' }), 401, /Bearer/],
      ['a body over the limit', post('x'.repeat(17 * 1024 * 1024)), 413, /larger than the limit/],
    ];
    for (const [what, answer, status, message] of cases) {
      const a = await answer;
      assert.equal(a.status, status, `${what}: ${a.status} ${a.body}`);
      assert.match(a.body, message, what);
      assert.match(String(a.headers['content-type']), /^text\/plain/, what);
    }
    const unauthorized = await post('{}', { authorization: 'Bearer wrong' });
    assert.equal(unauthorized.headers['www-authenticate'], 'Bearer realm="mesos"');
    assert.equal((await post('', {}, 'GET')).headers.allow, 'POST');
    assert.equal((await post('{"type":"GET_HEALTH"}', {}, 'POST')).status, 200, 'no Accept: JSON');
    assert.equal(
      (await call(url('/api/v1/'), '{"type":"GET_HEALTH"}', { authorization: `Bearer ${TOKEN}`, 'content-type': JSON_TYPE })).status,
      200,
      'a trailing slash',
    );
    assert.equal(started.master.observers.size, observers, 'no refused SUBSCRIBE left an observer behind');
  });

  it('answers 501 naming the call for what ippc does not implement (quota, maintenance, volumes, ...)', async () => {
    for (const type of [
      'GET_QUOTA',
      'UPDATE_MAINTENANCE_SCHEDULE',
      'CREATE_VOLUMES',
      'RESERVE_RESOURCES',
      'GET_ROLES',
      'TEARDOWN',
      'MARK_AGENT_GONE',
      'UNKNOWN',
    ]) {
      const a = await post(JSON.stringify({ type }));
      assert.equal(a.status, 501, `${type}: ${a.status} ${a.body}`);
      assert.match(a.body, new RegExp(`^ippc does not implement the operator call ${type}: `));
    }
    assert.match((await post('{"type":"GET_QUOTA"}')).body, /quota/);
    assert.match((await post('{"type":"START_MAINTENANCE"}')).body, /maintenance/);
  });

  it('SUBSCRIBE: SUBSCRIBED first, then framework, task (with its address), agent and heartbeat events, one record per write', async () => {
    const observers = started.master.observers.size;
    const s = await subscribe();
    assert.equal(s.status, 200);
    assert.equal(s.headers['content-type'], JSON_TYPE);
    const first = json(await s.next(() => true));
    assert.equal(first.type, 'SUBSCRIBED');
    assert.equal(first.subscribed.heartbeat_interval_seconds, 1);
    assert.ok(first.subscribed.get_state.get_agents.agents.some((a: Json) => a.agent_info.id.value === agentId));
    assert.equal(started.master.observers.size, observers + 1);

    const { fw, frameworkId, streamId, subscribeCall } = await launch('watched', 'web-1');
    const added = json(await s.next(ofType('FRAMEWORK_ADDED'))).framework_added.framework;
    assert.deepEqual([added.framework_info.id.value, added.framework_info.name, added.connected, added.recovered], [frameworkId, 'watched', true, false]);
    const task = json(await s.next(ofType('TASK_ADDED'))).task_added.task;
    assert.deepEqual([task.task_id.value, task.framework_id.value, task.agent_id.value, task.state], ['web-1', frameworkId, agentId, 'TASK_STAGING']);
    assert.equal(task.container.network_infos[0].name, 'blue');

    running(frameworkId, 'web-1', '10.100.0.9');
    const updated = json(await s.next(ofType('TASK_UPDATED'))).task_updated;
    assert.equal(updated.framework_id.value, frameworkId);
    assert.equal(updated.state, 'TASK_RUNNING');
    assert.equal(updated.status.task_id.value, 'web-1');
    assert.equal(updated.status.container_status.network_infos[0].ip_addresses[0].ip_address, '10.100.0.9');

    // The scheduler goes away, then comes back with its id: FRAMEWORK_UPDATED each time.
    started.master.frameworkDisconnected(frameworkId, streamId);
    const gone = json(await s.next(ofType('FRAMEWORK_UPDATED'))).framework_updated.framework;
    assert.deepEqual([gone.connected, gone.active], [false, false]);
    assert.ok(gone.unregistered_time.nanoseconds > 0);
    const again = { ...subscribeCall, frameworkId: { value: frameworkId } };
    again.subscribe.frameworkInfo = { ...again.subscribe.frameworkInfo, id: { value: frameworkId } } as typeof again.subscribe.frameworkInfo;
    const back = started.master.subscribe(again as schedulerv1.Call, fw);
    const resumed = json(await s.next((r) => ofType('FRAMEWORK_UPDATED')(r) && json(r).framework_updated.framework.connected === true)).framework_updated
      .framework;
    assert.equal(resumed.framework_info.id.value, frameworkId);
    assert.deepEqual([resumed.connected, resumed.framework_info.id.value], [true, frameworkId]);

    // TEARDOWN: the task is killed (TASK_UPDATED), then FRAMEWORK_REMOVED.
    started.master.handleCall({ type: Call_Type.TEARDOWN, frameworkId: { value: frameworkId } } as schedulerv1.Call, back.streamId);
    const killed = json(await s.next((r) => ofType('TASK_UPDATED')(r) && json(r).task_updated.state === 'TASK_KILLED')).task_updated;
    assert.equal(killed.status.task_id.value, 'web-1');
    const removed = json(await s.next(ofType('FRAMEWORK_REMOVED'))).framework_removed;
    assert.equal(removed.framework_info.id.value, frameworkId);

    // Agents: a new one, one replaced at the same address, one that stays away too long.
    const a2 = started.master.registerAgent(registration('a2', 'slave(1)@127.0.0.3:5051'), new FakeAgent());
    assert.equal(
      json(await s.next((r) => ofType('AGENT_ADDED')(r) && json(r).agent_added.agent.agent_info.id.value === a2)).agent_added.agent.agent_info.hostname,
      'a2',
    );
    const a3 = started.master.registerAgent(registration('a2-again', 'slave(1)@127.0.0.3:5051'), new FakeAgent());
    assert.equal(json(await s.next(ofType('AGENT_REMOVED'))).agent_removed.agent_id.value, a2);
    await s.next((r) => ofType('AGENT_ADDED')(r) && json(r).agent_added.agent.agent_info.id.value === a3);
    const a4Conn = new FakeAgent();
    const a4 = started.master.registerAgent(registration('a4', 'slave(1)@127.0.0.4:5051'), a4Conn);
    started.master.agentDisconnected(a4, a4Conn);
    await s.next((r) => ofType('AGENT_REMOVED')(r) && json(r).agent_removed.agent_id.value === a4, 3000);

    await s.next(ofType('HEARTBEAT'), 2500);
    assert.ok(
      s.perChunk.every((n) => n <= 1),
      `one record per write: ${s.perChunk.join(',')}`,
    );
    s.close();
    await waitFor(() => started.master.observers.size === observers, 'the closed stream unsubscribes');
  });
});

describe('operator HTTP API and the master stopping', () => {
  it('ends every operator stream when the master closes', async () => {
    const started = await startMaster({ port: 0, auth: { disabled: true }, log: silentLogger() });
    try {
      const headers = { 'content-type': JSON_TYPE };
      const streams = [
        await openStream(`${started.url}/api/v1`, '{"type":"SUBSCRIBE"}', headers),
        await openStream(`${started.url}/api/v1/`, '{"type":"SUBSCRIBE"}', headers),
      ];
      for (const s of streams) assert.equal(JSON.parse((await s.next(() => true)).toString()).type, 'SUBSCRIBED');
      assert.equal(started.master.observers.size, 2);
      await started.close();
      await waitFor(() => streams.every((s) => s.ended), 'every stream ended');
      assert.equal(started.master.observers.size, 0);
    } finally {
      await started.close();
    }
  });
});

describe('operator event stream and a subscriber that does not read', () => {
  it('is cut at the next event once more than the limit waits unread, and its observer goes', () => {
    const master = new Master({ ip: '127.0.0.1', port: 5050, log: silentLogger() });
    const fake = {
      writableLength: 0,
      destroyed: false,
      writes: 0,
      ended: false,
      writeHead: () => fake,
      write: () => ((fake.writes += 1), true),
      end: () => void (fake.ended = true),
      on: () => fake,
    };
    operatorSubscribe(master, JSON_TYPE, fake as unknown as ServerResponse, silentLogger());
    assert.deepEqual([fake.writes, master.observers.size], [1, 1], 'SUBSCRIBED went out; the stream is live');
    master.registerAgent(registration('a1', 'p1'), new FakeAgent());
    assert.equal(fake.writes, 2, 'AGENT_ADDED went out');
    fake.writableLength = OPERATOR_STREAM_MAX_BUFFERED + 1;
    master.registerAgent(registration('a2', 'p2'), new FakeAgent());
    assert.deepEqual([fake.writes, fake.ended, master.observers.size], [2, true, 0]);
    master.stop();
  });
});
