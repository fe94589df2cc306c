import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import { createGrpcServer, silentLogger, type Containerizer, type IppcGrpcServer, type LaunchSpec, type NetworkUsage, type Termination } from '@ippc/core';
import { allocateResources, parseResources } from '@ippc/mesos';
import { agentapiv1, agentv1, ContainerInfo_Type, TaskState, type FrameworkInfo, type NetworkInfo, type TaskInfo } from '@ippc/proto';
import { startAgent, type StartedAgent } from '../server.js';
import { agentOperatorApi } from './operator-api.js';

// The agent's operator HTTP API against a real agent listening on loopback, driven by a scripted
// master (the real Agents gRPC service) and a fake containerizer that gives each container an
// address and network counters: every read in JSON and in protobuf (the calls written by hand from
// the field numbers of Mesos's agent.proto), and Mesos's status codes and messages for every refusal.

const TOKEN = 'spec-token';
const JSON_TYPE = 'application/json';
const PROTOBUF = 'application/x-protobuf';
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A master that registers the agent and acknowledges every status update at once. */
class AckingMaster {
  server!: IppcGrpcServer;
  address = '';
  updates: agentv1.StatusUpdate[] = [];
  private stream: grpc.ServerDuplexStream<agentv1.AgentMessage, agentv1.MasterMessage> | undefined;
  async start(): Promise<void> {
    this.server = createGrpcServer({ auth: { token: TOKEN } });
    this.server.server.addService(agentv1.AgentsService, {
      connect: (call: grpc.ServerDuplexStream<agentv1.AgentMessage, agentv1.MasterMessage>) => {
        this.stream = call;
        call.on('data', (m: agentv1.AgentMessage) => {
          const msg = m.message;
          if (msg?.$case === 'registerAgent') call.write({ message: { $case: 'agentRegistered', value: { agentId: { value: 'S0' } } } });
          if (msg?.$case !== 'statusUpdate') return;
          this.updates.push(msg.value);
          const { frameworkId, status } = msg.value;
          const ack = { agentId: { value: 'S0' }, frameworkId, taskId: status!.taskId, uuid: status!.uuid };
          call.write({ message: { $case: 'statusUpdateAcknowledgement', value: ack } });
        });
        call.on('end', () => call.end());
        call.on('error', () => undefined);
      },
    });
    this.address = `127.0.0.1:${await this.server.listen('127.0.0.1:0')}`;
  }
  send(message: agentv1.MasterMessage['message']): void {
    this.stream!.write({ message });
  }
}

/** Runs every task until killed; a task named `*-net` gets 10.99.0.<n> on network `blue`, and every container has counters. */
class AddressingContainerizer implements Containerizer {
  readonly name = 'fake';
  private readonly ends = new Map<string, (t: Termination) => void>();
  private readonly waits = new Map<string, Promise<Termination>>();
  private readonly addresses = new Map<string, NetworkInfo[]>();
  private addressed = 0;
  supports(): boolean {
    return true;
  }
  async recover(): Promise<void> {}
  async launch(spec: LaunchSpec): Promise<void> {
    const id = spec.containerId.value!;
    this.waits.set(id, new Promise((r) => this.ends.set(id, r)));
    const own = (spec.containerInfo?.networkInfos ?? []).length > 0;
    if (own) this.addressed += 1;
    this.addresses.set(id, own ? [{ name: 'blue', groups: [], portMappings: [], ipAddresses: [{ ipAddress: `10.99.0.${this.addressed}` }] }] : []);
    spec.sendStatus({ state: TaskState.TASK_RUNNING });
  }
  wait(id: string): Promise<Termination> {
    return this.waits.get(id)!;
  }
  async destroy(id: string): Promise<boolean> {
    this.ends.get(id)?.({ state: TaskState.TASK_KILLED, message: 'killed' });
    this.waits.delete(id);
    return true;
  }
  async status(id: string) {
    return { containerId: { value: id }, networkInfos: this.addresses.get(id) ?? [] };
  }
  containers(): string[] {
    return [...this.waits.keys()];
  }
  async usage(): Promise<NetworkUsage> {
    return { rxBytes: 1000, rxPackets: 10, rxErrors: 0, rxDropped: 1, txBytes: 2000, txPackets: 20, txErrors: 0, txDropped: 0 };
  }
}

const framework: FrameworkInfo = { id: { value: 'F0' }, user: 'root', name: 'fw', checkpoint: true, capabilities: [], roles: [] };
const task = (id: string, networks: NetworkInfo[]): TaskInfo => ({
  name: id,
  taskId: { value: id },
  agentId: { value: 'S0' },
  resources: allocateResources(parseResources('cpus:0.1;mem:32'), '*'),
  command: { value: 'sleep 600', uris: [], arguments: [] },
  container: { type: ContainerInfo_Type.MESOS, networkInfos: networks },
  limits: {},
});

interface Answer {
  status: number;
  headers: Headers;
  body: string;
  raw: Buffer;
}

async function until<T>(what: string, f: () => T | undefined, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`no ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('agent operator HTTP API (/api/v1)', () => {
  let dir: string;
  let master: AckingMaster;
  let started: StartedAgent;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cp-agent-api-'));
    master = new AckingMaster();
    await master.start();
    started = await startAgent({
      master: master.address,
      auth: { token: TOKEN },
      credentials: [{ principal: 'ops', secret: 'pw' }],
      ip: '127.0.0.1',
      port: 0,
      workDir: join(dir, 'work'),
      resources: parseResources('cpus:2;mem:1024;ports:[31000-31009]'),
      containerizers: [new AddressingContainerizer()],
      flags: { port: '0', work_dir: join(dir, 'work') },
      log: silentLogger(),
    });
    await until('registration', () => started.agent.id);
    // `web-net` with an address, `plain` on the agent's network, `gone` killed (completed).
    const blue: NetworkInfo = { name: 'blue', groups: [], ipAddresses: [], portMappings: [] };
    for (const [id, nets] of [
      ['web-net', [blue]],
      ['plain', []],
      ['gone', []],
    ] as [string, NetworkInfo[]][])
      master.send({ $case: 'runTask', value: { framework, task: task(id, nets) } });
    await until('three tasks running', () => (master.updates.filter((u) => u.status?.state === TaskState.TASK_RUNNING).length === 3 ? true : undefined));
    master.send({ $case: 'killTask', value: { frameworkId: { value: 'F0' }, taskId: { value: 'gone' } } });
    await until('gone completed', () => [...started.agent.frameworks.values()][0]?.completedExecutors.find((e) => e.id === 'gone')?.completedTasks[0]);
  });
  after(async () => {
    await started?.close({ killTasks: true });
    await master?.server.close(100);
    rmSync(dir, { recursive: true, force: true });
  });

  const post = async (body: string | Buffer, headers: Record<string, string | undefined> = {}, method = 'POST', path = '/api/v1'): Promise<Answer> => {
    const all = { authorization: `Bearer ${TOKEN}`, 'content-type': JSON_TYPE, ...headers };
    const res = await fetch(`${started.url}${path}`, {
      method,
      headers: Object.fromEntries(Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined)),
      ...(method === 'GET' ? {} : { body }),
    });
    const raw = Buffer.from(await res.arrayBuffer());
    return { status: res.status, headers: res.headers, body: raw.toString('utf8'), raw };
  };
  const read = async (type: string): Promise<Json> => {
    const a = await post(JSON.stringify({ type }), { accept: JSON_TYPE });
    assert.equal(a.status, 200, `${type}: ${a.body}`);
    assert.equal(a.headers.get('content-type'), JSON_TYPE);
    return JSON.parse(a.body) as Json;
  };

  it('answers GET_HEALTH, GET_VERSION, GET_FLAGS, GET_METRICS and GET_AGENT in Mesos JSON', async () => {
    assert.deepEqual(await read('GET_HEALTH'), { type: 'GET_HEALTH', get_health: { healthy: true } });
    assert.deepEqual((await read('GET_VERSION')).get_version.version_info, {
      version: '0.1.0',
      build_date: '',
      build_time: 0,
      build_user: 'ippc',
      git_sha: '',
      git_branch: '',
      git_tag: '',
    });
    assert.deepEqual((await read('GET_FLAGS')).get_flags.flags, [
      { name: 'port', value: '0' },
      { name: 'work_dir', value: join(dir, 'work') },
    ]);
    const metrics = new Map(((await read('GET_METRICS')).get_metrics.metrics as { name: string; value: number }[]).map((m) => [m.name, m.value]));
    assert.equal(metrics.get('slave/registered'), 1);
    assert.equal(metrics.get('slave/tasks_running'), 2);
    assert.equal(metrics.get('slave/tasks_killed'), 1);
    assert.equal(metrics.get('slave/executors_running'), 2);
    assert.equal(metrics.get('slave/cpus_total'), 2);
    const agent = (await read('GET_AGENT')).get_agent.agent_info;
    assert.equal(agent.id.value, 'S0');
    assert.equal(agent.hostname, '127.0.0.1');
    assert.equal(agent.port, started.port);
    assert.ok(agent.resources.some((r: Json) => r.name === 'ports' && r.type === 'RANGES'));
  });

  it("answers GET_CONTAINERS with each live container's network_infos (its address) and resource_statistics", async () => {
    const containers = (await read('GET_CONTAINERS')).get_containers.containers as Json[];
    assert.deepEqual(containers.map((c) => c.executor_id.value).sort(), ['plain', 'web-net'], 'the killed executor is not listed');
    const web = containers.find((c) => c.executor_id.value === 'web-net')!;
    const executor = [...started.agent.frameworks.get('F0')!.executors.values()].find((e) => e.id === 'web-net')!;
    assert.equal(web.framework_id.value, 'F0');
    assert.equal(web.executor_name, executor.info.name);
    assert.equal(web.container_id.value, executor.containerId);
    assert.equal(web.container_status.container_id.value, executor.containerId);
    assert.deepEqual(web.container_status.network_infos[0].ip_addresses, [{ ip_address: '10.99.0.1' }]);
    assert.equal(web.resource_statistics.net_rx_bytes, 1000);
    assert.equal(web.resource_statistics.net_tx_packets, 20);
    assert.equal(web.resource_statistics.net_rx_dropped, 1);
    assert.ok(web.resource_statistics.timestamp > 1.6e9);
    const plain = containers.find((c) => c.executor_id.value === 'plain')!;
    assert.equal(plain.container_status.network_infos, undefined, "on the agent's network: no network_infos of its own (Mesos)");
  });

  it('answers GET_TASKS, GET_EXECUTORS, GET_FRAMEWORKS and GET_STATE as Mesos fills them', async () => {
    const tasks = (await read('GET_TASKS')).get_tasks;
    assert.deepEqual(tasks.launched_tasks.map((t: Json) => t.task_id.value).sort(), ['plain', 'web-net']);
    assert.equal(tasks.pending_tasks, undefined);
    assert.equal(tasks.queued_tasks, undefined);
    assert.deepEqual(
      tasks.completed_tasks.map((t: Json) => [t.task_id.value, t.state]),
      [['gone', 'TASK_KILLED']],
    );
    const web = tasks.launched_tasks.find((t: Json) => t.task_id.value === 'web-net');
    assert.equal(web.statuses.at(-1).container_status.network_infos[0].ip_addresses[0].ip_address, '10.99.0.1');
    const executors = (await read('GET_EXECUTORS')).get_executors;
    assert.deepEqual(executors.executors.map((e: Json) => e.executor_info.executor_id.value).sort(), ['plain', 'web-net']);
    assert.deepEqual(
      executors.completed_executors.map((e: Json) => e.executor_info.executor_id.value),
      ['gone'],
    );
    assert.equal(executors.executors[0].executor_info.framework_id.value, 'F0');
    const frameworks = (await read('GET_FRAMEWORKS')).get_frameworks;
    assert.deepEqual(
      frameworks.frameworks.map((f: Json) => [f.framework_info.id.value, f.framework_info.name]),
      [['F0', 'fw']],
    );
    const state = (await read('GET_STATE')).get_state;
    assert.deepEqual(Object.keys(state).sort(), ['get_executors', 'get_frameworks', 'get_tasks']);
    assert.deepEqual(state.get_tasks, tasks);
    assert.deepEqual(state.get_frameworks, frameworks);
  });

  it('takes and answers protobuf: calls written by hand from the field numbers, answers decoded', async () => {
    // Call { type (1) = GET_CONTAINERS (10), get_containers (20) { show_nested (1) = true } }, answered in protobuf.
    const body = Buffer.from([0x08, 0x0a, 0xa2, 0x01, 0x02, 0x08, 0x01]);
    const a = await post(body, { 'content-type': PROTOBUF, accept: `${PROTOBUF}, text/html;q=0.5` });
    assert.equal(a.status, 200, a.body);
    assert.equal(a.headers.get('content-type'), PROTOBUF);
    // Response { type (1) = GET_CONTAINERS (9), get_containers (10) { containers (1) ... } }
    assert.deepEqual([...a.raw.subarray(0, 3)], [0x08, 0x09, 0x52]);
    const containers = agentapiv1.Response.decode(a.raw).getContainers!.containers;
    const web = containers.find((c) => c.executorId?.value === 'web-net')!;
    assert.equal(web.containerStatus?.networkInfos[0]?.ipAddresses[0]?.ipAddress, '10.99.0.1');
    assert.equal(web.resourceStatistics?.netTxBytes, 2000);
    // Every other read, each by its number, answers the matching Response type.
    const reads: [call: number, response: number][] = [
      [1, 1], // GET_HEALTH
      [2, 2], // GET_FLAGS
      [3, 3], // GET_VERSION
      [4, 4], // GET_METRICS
      [9, 8], // GET_STATE
      [11, 10], // GET_FRAMEWORKS
      [12, 11], // GET_EXECUTORS
      [13, 12], // GET_TASKS
      [20, 14], // GET_AGENT
    ];
    for (const [call, response] of reads) {
      const r = await post(Buffer.from([0x08, call]), { 'content-type': PROTOBUF, accept: PROTOBUF });
      assert.equal(r.status, 200, `${call}: ${r.body}`);
      const decoded = agentapiv1.Response.decode(r.raw);
      assert.equal(decoded.type, response, `call ${call}`);
    }
    const state = agentapiv1.Response.decode((await post(Buffer.from([0x08, 0x09]), { 'content-type': PROTOBUF, accept: PROTOBUF })).raw).getState!;
    assert.deepEqual(
      state.getTasks?.completedTasks.map((t) => t.taskId?.value),
      ['gone'],
    );
    // JSON is the default when Accept allows both, whatever the body was written in.
    const either = await post(Buffer.from([0x08, 0x01]), { 'content-type': PROTOBUF, accept: `${PROTOBUF}, ${JSON_TYPE}` });
    assert.deepEqual(JSON.parse(either.body), { type: 'GET_HEALTH', get_health: { healthy: true } });
  });

  it("answers Mesos's status and message for every bad request", async () => {
    const cases: [string, Promise<Answer>, number, RegExp][] = [
      ['no token', post('{"type":"GET_HEALTH"}', { authorization: undefined }), 401, /Bearer/],
      ['a wrong Basic secret', post('{"type":"GET_HEALTH"}', { authorization: `Basic ${Buffer.from('ops:nope').toString('base64')}` }), 401, /principal/],
      ['GET', post('', {}, 'GET'), 405, /^Expecting one of \{ 'POST' \}, but received 'GET'$/],
      ['no content type', post(Buffer.from('{"type":"GET_HEALTH"}'), { 'content-type': undefined }), 400, /^Expecting 'Content-Type' to be present$/],
      [
        'text/plain',
        post('{"type":"GET_HEALTH"}', { 'content-type': 'text/plain' }),
        415,
        /^Expecting 'Content-Type' of application\/json or application\/x-protobuf$/,
      ],
      ['truncated JSON', post('{"type": "GET_HEA'), 400, /^Failed to parse body into JSON: /],
      ['garbage protobuf', post(Buffer.from([0x0a, 0xff, 0xff]), { 'content-type': PROTOBUF }), 400, /^Failed to parse body into Call protobuf$/],
      ['no type', post('{}'), 400, /^Failed to validate agent::Call: Expecting 'type' to be present$/],
      ['an unknown type', post('{"type":"NOPE"}'), 400, /^Failed to convert JSON into Call protobuf: Failed to find enum for 'NOPE'$/],
      [
        'accepting only HTML',
        post('{"type":"GET_HEALTH"}', { accept: 'text/html' }),
        406,
        /^Expecting 'Accept' to allow application\/json or application\/x-protobuf or application\/recordio$/,
      ],
      [
        'accepting only RecordIO',
        post('{"type":"GET_STATE"}', { accept: 'application/recordio' }),
        406,
        /^Streaming response is not supported for GET_STATE call$/,
      ],
      ['Message-Accept on a plain call', post('{"type":"GET_STATE"}', { 'message-accept': JSON_TYPE }), 406, /^Expecting 'Message-Accept' to be not set/],
      ['a body over the limit', post('x'.repeat(17 * 1024 * 1024)), 413, /larger than the limit/],
    ];
    for (const [what, answer, status, message] of cases) {
      const a = await answer;
      assert.equal(a.status, status, `${what}: ${a.status} ${a.body}`);
      assert.match(a.body, message, what);
      assert.match(String(a.headers.get('content-type')), /^text\/plain/, what);
    }
    const unauthorized = await post('{}', { authorization: 'Bearer wrong' });
    assert.equal(unauthorized.headers.get('www-authenticate'), 'Basic realm="mesos", Bearer realm="mesos"');
    assert.equal((await post('', {}, 'GET')).headers.get('allow'), 'POST');
    const basic = await post('{"type":"GET_HEALTH"}', { authorization: `Basic ${Buffer.from('ops:pw').toString('base64')}` });
    assert.equal(basic.status, 200, 'a principal of --http_credentials');
    assert.equal((await post('{"type":"GET_HEALTH"}', {}, 'POST', '/api/v1/')).status, 200, 'a trailing slash');
    assert.equal((await post('{"type":"GET_HEALTH"}', { accept: undefined })).headers.get('content-type'), JSON_TYPE, 'no Accept: JSON');
    assert.equal((await fetch(`${started.url}/state`)).status, 200, '/state stays open by default');
  });

  it('answers 501 naming the call for every agent call ippc does not implement', async () => {
    const unsupported = [
      'LAUNCH_NESTED_CONTAINER',
      'LAUNCH_NESTED_CONTAINER_SESSION',
      'ATTACH_CONTAINER_INPUT',
      'ATTACH_CONTAINER_OUTPUT',
      'LAUNCH_CONTAINER',
      'KILL_CONTAINER',
      'READ_FILE',
      'LIST_FILES',
      'SET_LOGGING_LEVEL',
      'GET_LOGGING_LEVEL',
      'GET_RESOURCE_PROVIDERS',
      'ADD_RESOURCE_PROVIDER_CONFIG',
      'GET_OPERATIONS',
      'PRUNE_IMAGES',
      'UNKNOWN',
    ];
    for (const type of unsupported) {
      const a = await post(JSON.stringify({ type }));
      assert.equal(a.status, 501, `${type}: ${a.status} ${a.body}`);
      assert.match(a.body, new RegExp(`^ippc does not implement the agent call ${type}: \\S`));
    }
    // Every call of Mesos is known by name: any call type not served is a 501, never a 400.
    for (const [name, n] of Object.entries(agentapiv1.Call_Type).filter((e): e is [string, number] => typeof e[1] === 'number' && e[1] >= 0)) {
      const a = await post(Buffer.from([0x08, n]), { 'content-type': PROTOBUF });
      assert.ok(a.status === 200 || a.status === 501, `${name}: ${a.status} ${a.body}`);
    }
  });
});

describe('agent operator HTTP API: access and recovery', () => {
  const serve = async (options: Partial<Parameters<typeof agentOperatorApi>[0]>) => {
    const handler = agentOperatorApi({ access: { auth: { disabled: true } }, log: silentLogger(), agent: () => undefined, usages: async () => [], ...options });
    const server = createServer(handler);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`, close: () => new Promise((r) => server.close(r)) };
  };

  it("answers 503 until the agent has recovered (Mesos's agent while RECOVERING), after the credentials", async () => {
    const s = await serve({ access: { auth: { token: TOKEN } } });
    try {
      const headers = { 'content-type': JSON_TYPE };
      const recovering = await fetch(s.url, { method: 'POST', headers: { ...headers, authorization: `Bearer ${TOKEN}` }, body: '{"type":"GET_HEALTH"}' });
      assert.equal(recovering.status, 503);
      assert.equal(await recovering.text(), 'Agent has not finished recovery');
      assert.equal((await fetch(s.url, { method: 'POST', headers, body: '{"type":"GET_HEALTH"}' })).status, 401);
    } finally {
      await s.close();
    }
  });

  it('takes any caller with --authenticate_http_readwrite=false, and the read-only endpoints follow --authenticate_http_readonly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cp-agent-api-'));
    const master = new AckingMaster();
    await master.start();
    const started = await startAgent({
      master: master.address,
      auth: { token: TOKEN },
      authenticateHttpReadwrite: false,
      authenticateHttpReadonly: true,
      ip: '127.0.0.1',
      port: 0,
      workDir: dir,
      resources: parseResources('cpus:1;mem:128'),
      containerizers: [new AddressingContainerizer()],
      log: silentLogger(),
    });
    try {
      const api = await fetch(`${started.url}/api/v1`, { method: 'POST', headers: { 'content-type': JSON_TYPE }, body: '{"type":"GET_CONTAINERS"}' });
      assert.equal(api.status, 200);
      assert.deepEqual(await api.json(), { type: 'GET_CONTAINERS', get_containers: {} });
      for (const path of ['/state', '/monitor/statistics', '/containers', '/metrics/snapshot']) {
        assert.equal((await fetch(`${started.url}${path}`)).status, 401, path);
        assert.equal((await fetch(`${started.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200, path);
      }
      assert.equal((await fetch(`${started.url}/health`)).status, 200, '/health never needs credentials');
    } finally {
      await started.close();
      await master.server.close(100);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
