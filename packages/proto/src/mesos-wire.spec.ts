// Wire compatibility with Apache Mesos's mesos.proto (v1). Each test writes a message BY HAND,
// field by field, with the field numbers and wire types of Mesos's own mesos.proto (written here
// as literal numbers, independent of our .proto file and of the generated code), then:
//   1. decodes it with our generated code and checks every field by name (a wrong field number in
//      our .proto leaves the field unset and parks it in `_unknownFields`: the test fails);
//   2. encodes the decoded message again and checks the bytes are the same message (canonical
//      field order: protoc writes by number, ts-proto by declaration).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AgentID,
  CommandInfo,
  ContainerID,
  ContainerInfo,
  ContainerInfo_DockerInfo,
  ContainerInfo_DockerInfo_Network,
  ContainerInfo_Type,
  ContainerStatus,
  Environment_Variable_Type,
  ExecutorID,
  ExecutorInfo,
  ExecutorInfo_Type,
  FrameworkID,
  Labels,
  NetworkInfo,
  NetworkInfo_Protocol,
  Offer,
  Offer_Operation,
  Offer_Operation_Type,
  OfferID,
  Resource,
  TaskID,
  TaskInfo,
  TaskState,
  TaskStatus,
  TaskStatus_Reason,
  TaskStatus_Source,
  Value_Type,
} from './index.js';
import { canonical, f, stripUnknown, type Bytes } from './testing/wire.js';

interface Codec<T> {
  decode(input: Uint8Array): T;
  encode(message: T): { finish(): Uint8Array };
}

function roundTrip<T>(codec: Codec<T>, wire: Bytes, expected: unknown) {
  const decoded = codec.decode(wire);
  const { value, unknown } = stripUnknown(decoded);
  assert.deepEqual(unknown, [], 'every hand-written field must land on a known field');
  assert.deepEqual(value, expected);
  assert.equal(canonical(codec.encode(decoded).finish()), canonical(wire), 're-encoding must give the same message');
  return decoded;
}

// Sub-messages reused below, written from Mesos's numbers.
const labelsWire = (...pairs: [string, string][]) => pairs.map(([k, v]) => f.message(1, f.string(1, k), f.string(2, v)));
const scalar = (name: string, v: number) => [f.string(1, name), f.varint(2, 0), f.message(3, f.double(1, v))];
const ranges = (name: string, ...rs: [number, number][]) => [
  f.string(1, name),
  f.varint(2, 1),
  f.message(4, ...rs.map(([b, e]) => f.message(1, f.varint(1, b), f.varint(2, e)))),
];

describe('wire compatibility with Mesos mesos.proto', () => {
  it('IDs: FrameworkID, OfferID, AgentID, TaskID, ExecutorID (value = 1)', () => {
    for (const codec of [FrameworkID, OfferID, AgentID, TaskID, ExecutorID] as Codec<unknown>[]) {
      roundTrip(codec, f.string(1, 'abc-0001'), { value: 'abc-0001' });
    }
  });

  it('ContainerID: value = 1, parent = 2 (nested)', () => {
    roundTrip(ContainerID, Buffer.concat([f.string(1, 'child'), f.message(2, f.string(1, 'parent'))]), {
      value: 'child',
      parent: { value: 'parent' },
    });
  });

  it('Labels / Label: labels = 1; key = 1, value = 2', () => {
    roundTrip(Labels, Buffer.concat(labelsWire(['app', 'web'], ['env', 'prod'])), {
      labels: [
        { key: 'app', value: 'web' },
        { key: 'env', value: 'prod' },
      ],
    });
  });

  it('NetworkInfo: ip_addresses = 5, name = 6, groups = 3, labels = 4, port_mappings = 7; IPAddress and PortMapping', () => {
    const wire = Buffer.concat([
      f.string(3, 'web'),
      f.string(3, 'public'),
      f.message(4, ...labelsWire(['tier', 'front'])),
      f.message(5, f.varint(1, 1), f.string(2, '10.0.0.7')),
      f.message(5, f.varint(1, 2), f.string(2, 'fd01::7')),
      f.message(5, f.string(2, '10.0.0.8')), // protocol unset: Mesos's default IPv4 applies
      f.string(6, 'blue'),
      f.message(7, f.varint(1, 31000), f.varint(2, 80), f.string(3, 'tcp')),
    ]);
    const ni = roundTrip(NetworkInfo, wire, {
      groups: ['web', 'public'],
      labels: { labels: [{ key: 'tier', value: 'front' }] },
      ipAddresses: [
        { protocol: NetworkInfo_Protocol.IPv4, ipAddress: '10.0.0.7' },
        { protocol: NetworkInfo_Protocol.IPv6, ipAddress: 'fd01::7' },
        { ipAddress: '10.0.0.8' },
      ],
      name: 'blue',
      portMappings: [{ hostPort: 31000, containerPort: 80, protocol: 'tcp' }],
    });
    // proto2 presence: an unset protocol stays unset on the wire (it is not written as IPv4).
    assert.equal(ni.ipAddresses[2]?.protocol, undefined);
  });

  it('ContainerInfo: type = 1, docker = 3, hostname = 4, mesos = 5, network_infos = 7; DockerInfo fields 1-6', () => {
    const wire = Buffer.concat([
      f.varint(1, 1), // DOCKER
      f.message(
        3,
        f.string(1, 'ippc/base:abc'),
        f.varint(2, 4), // USER
        f.message(3, f.varint(1, 31001), f.varint(2, 8080), f.string(3, 'udp')),
        f.varint(4, false),
        f.message(5, f.string(1, 'env'), f.string(2, 'A=1')),
        f.varint(6, true),
      ),
      f.string(4, 'web-1'),
      f.message(7, f.string(6, 'user-net')),
    ]);
    roundTrip(ContainerInfo, wire, {
      type: ContainerInfo_Type.DOCKER,
      docker: {
        image: 'ippc/base:abc',
        network: ContainerInfo_DockerInfo_Network.USER,
        portMappings: [{ hostPort: 31001, containerPort: 8080, protocol: 'udp' }],
        privileged: false,
        parameters: [{ key: 'env', value: 'A=1' }],
        forcePullImage: true,
      },
      hostname: 'web-1',
      networkInfos: [{ name: 'user-net' }],
    });
  });

  it('DockerInfo without a network leaves it unset (Mesos then applies its default, HOST = 1)', () => {
    const d = ContainerInfo_DockerInfo.decode(f.string(1, 'img'));
    assert.equal(d.network, undefined);
    assert.equal(ContainerInfo_DockerInfo_Network.HOST, 1);
    assert.equal(ContainerInfo_DockerInfo_Network.BRIDGE, 2);
    assert.equal(ContainerInfo_DockerInfo_Network.NONE, 3);
    assert.equal(ContainerInfo_DockerInfo_Network.USER, 4);
  });

  it('keeps fields it does not model (ContainerInfo.linux_info = 8) byte for byte', () => {
    const wire = Buffer.concat([f.varint(1, 2), f.message(8, f.varint(4, true))]);
    const decoded = ContainerInfo.decode(wire);
    assert.equal(decoded.type, ContainerInfo_Type.MESOS);
    assert.equal(canonical(ContainerInfo.encode(decoded).finish()), canonical(wire));
  });

  it('CommandInfo: uris = 1, environment = 2, value = 3, user = 5, shell = 6, arguments = 7', () => {
    const wire = Buffer.concat([
      f.message(1, f.string(1, 'http://127.0.0.1/x.tgz'), f.varint(2, true), f.varint(3, false), f.varint(4, true), f.string(5, 'x.tgz')),
      f.message(2, f.message(1, f.string(1, 'PORT0'), f.string(2, '31000'), f.varint(3, 1))),
      f.string(3, '/bin/sleep'),
      f.string(5, 'nobody'),
      f.varint(6, false),
      f.string(7, 'sleep'),
      f.string(7, '100'),
    ]);
    roundTrip(CommandInfo, wire, {
      uris: [{ value: 'http://127.0.0.1/x.tgz', executable: true, extract: false, cache: true, outputFile: 'x.tgz' }],
      environment: { variables: [{ name: 'PORT0', value: '31000', type: Environment_Variable_Type.VALUE }] },
      value: '/bin/sleep',
      user: 'nobody',
      shell: false,
      arguments: ['sleep', '100'],
    });
  });

  it('Resource: name = 1, type = 2, scalar = 3, ranges = 4, set = 5, role = 6, allocation_info = 11', () => {
    roundTrip(Resource, Buffer.concat(scalar('cpus', 0.5)), { name: 'cpus', type: Value_Type.SCALAR, scalar: { value: 0.5 } });
    // A zero scalar is still written: required fields are written whatever their value.
    roundTrip(Resource, Buffer.concat(scalar('disk', 0)), { name: 'disk', type: Value_Type.SCALAR, scalar: { value: 0 } });
    roundTrip(Resource, Buffer.concat([...ranges('ports', [31000, 31005], [31010, 31010]), f.string(6, '*'), f.message(11, f.string(1, 'web'))]), {
      name: 'ports',
      type: Value_Type.RANGES,
      ranges: {
        range: [
          { begin: 31000, end: 31005 },
          { begin: 31010, end: 31010 },
        ],
      },
      role: '*',
      allocationInfo: { role: 'web' },
    });
    roundTrip(Resource, Buffer.concat([f.string(1, 'zones'), f.varint(2, 2), f.message(5, f.string(1, 'a'), f.string(1, 'b'))]), {
      name: 'zones',
      type: Value_Type.SET,
      set: { item: ['a', 'b'] },
    });
  });

  it('ExecutorInfo: executor_id = 1, data = 4, resources = 5, command = 7, framework_id = 8, name = 9, container = 11, labels = 14, type = 15', () => {
    const wire = Buffer.concat([
      f.message(1, f.string(1, 'exec-1')),
      f.bytes(4, Uint8Array.from([1, 2, 3])),
      f.message(5, ...scalar('mem', 32)),
      f.message(7, f.string(3, 'run-executor')),
      f.message(8, f.string(1, 'fw-1')),
      f.string(9, 'my executor'),
      f.message(11, f.varint(1, 2), f.message(7, f.string(6, 'blue'), f.string(3, 'web'))),
      f.message(14, ...labelsWire(['k', 'v'])),
      f.varint(15, 2), // CUSTOM
    ]);
    roundTrip(ExecutorInfo, wire, {
      executorId: { value: 'exec-1' },
      data: Buffer.from([1, 2, 3]),
      resources: [{ name: 'mem', type: Value_Type.SCALAR, scalar: { value: 32 } }],
      command: { value: 'run-executor' },
      frameworkId: { value: 'fw-1' },
      name: 'my executor',
      container: { type: ContainerInfo_Type.MESOS, networkInfos: [{ groups: ['web'], name: 'blue' }] },
      labels: { labels: [{ key: 'k', value: 'v' }] },
      type: ExecutorInfo_Type.CUSTOM,
    });
  });

  it('TaskInfo: name = 1, task_id = 2, agent_id = 3, resources = 4, executor = 5, data = 6, command = 7, container = 9, labels = 10', () => {
    const wire = Buffer.concat([
      f.string(1, 'web'),
      f.message(2, f.string(1, 'web-1')),
      f.message(3, f.string(1, 'agent-S0')),
      f.message(4, ...scalar('cpus', 0.1)),
      f.message(4, ...ranges('ports', [31000, 31000])),
      f.bytes(6, Buffer.from('hi')),
      f.message(7, f.string(3, 'python3 -m http.server 80')),
      f.message(9, f.varint(1, 2), f.string(4, 'web-host'), f.message(7, f.string(6, 'blue'))),
      f.message(10, ...labelsWire(['team', 'a'])),
    ]);
    roundTrip(TaskInfo, wire, {
      name: 'web',
      taskId: { value: 'web-1' },
      agentId: { value: 'agent-S0' },
      resources: [
        { name: 'cpus', type: Value_Type.SCALAR, scalar: { value: 0.1 } },
        { name: 'ports', type: Value_Type.RANGES, ranges: { range: [{ begin: 31000, end: 31000 }] } },
      ],
      data: Buffer.from('hi'),
      command: { value: 'python3 -m http.server 80' },
      container: { type: ContainerInfo_Type.MESOS, hostname: 'web-host', networkInfos: [{ name: 'blue' }] },
      labels: { labels: [{ key: 'team', value: 'a' }] },
      limits: {}, // map<string, Value.Scalar> limits = 15: an empty map when absent
    });
    // And with an executor instead of a command (field 5).
    roundTrip(
      TaskInfo,
      Buffer.concat([f.string(1, 't'), f.message(2, f.string(1, 't1')), f.message(3, f.string(1, 'a')), f.message(5, f.message(1, f.string(1, 'e')))]),
      {
        name: 't',
        taskId: { value: 't1' },
        agentId: { value: 'a' },
        executor: { executorId: { value: 'e' } },
        limits: {},
      },
    );
  });

  it('ContainerStatus: network_infos = 1, cgroup_info = 2, executor_pid = 3, container_id = 4', () => {
    const wire = Buffer.concat([
      f.message(1, f.message(5, f.varint(1, 1), f.string(2, '192.168.0.2')), f.string(6, 'mynet')),
      f.message(2, f.message(1, f.varint(1, 0x00100001))),
      f.varint(3, 4242),
      f.message(4, f.string(1, 'b3a9c7e6')),
    ]);
    roundTrip(ContainerStatus, wire, {
      networkInfos: [{ ipAddresses: [{ protocol: NetworkInfo_Protocol.IPv4, ipAddress: '192.168.0.2' }], name: 'mynet' }],
      cgroupInfo: { netCls: { classid: 0x00100001 } },
      executorPid: 4242,
      containerId: { value: 'b3a9c7e6' },
    });
  });

  it('TaskStatus: task_id = 1, state = 2, data = 3, message = 4, agent_id = 5, timestamp = 6, executor_id = 7, healthy = 8, source = 9, reason = 10, uuid = 11, labels = 12, container_status = 13', () => {
    const wire = Buffer.concat([
      f.message(1, f.string(1, 'web-1')),
      f.varint(2, 3), // TASK_FAILED
      f.bytes(3, Buffer.from('{}')),
      f.string(4, "Failed to launch container: Unknown CNI network 'nope'"),
      f.message(5, f.string(1, 'agent-S0')),
      f.double(6, 1700000000.56),
      f.message(7, f.string(1, 'web-1')),
      f.varint(8, true),
      f.varint(9, 1), // SOURCE_AGENT
      f.varint(10, 21), // REASON_CONTAINER_LAUNCH_FAILED
      f.bytes(11, Uint8Array.from([0xde, 0xad, 0xbe, 0xef])),
      f.message(12, ...labelsWire(['a', 'b'])),
      f.message(13, f.message(4, f.string(1, 'cid'))),
    ]);
    roundTrip(TaskStatus, wire, {
      taskId: { value: 'web-1' },
      state: TaskState.TASK_FAILED,
      data: Buffer.from('{}'),
      message: "Failed to launch container: Unknown CNI network 'nope'",
      agentId: { value: 'agent-S0' },
      timestamp: 1700000000.56,
      executorId: { value: 'web-1' },
      healthy: true,
      source: TaskStatus_Source.SOURCE_AGENT,
      reason: TaskStatus_Reason.REASON_CONTAINER_LAUNCH_FAILED,
      uuid: Buffer.from([0xde, 0xad, 0xbe, 0xef]),
      labels: { labels: [{ key: 'a', value: 'b' }] },
      containerStatus: { containerId: { value: 'cid' } },
    });
  });

  it('TaskStatus keeps zero-valued enums on the wire: TASK_STARTING = 0, SOURCE_MASTER = 0', () => {
    // `state` is required in Mesos: a TASK_STARTING status without it fails Mesos's parser.
    roundTrip(TaskStatus, Buffer.concat([f.message(1, f.string(1, 't')), f.varint(2, 0), f.varint(9, 0), f.varint(10, 14)]), {
      taskId: { value: 't' },
      state: TaskState.TASK_STARTING,
      source: TaskStatus_Source.SOURCE_MASTER,
      reason: TaskStatus_Reason.REASON_TASK_INVALID,
    });
  });

  it('Offer: id = 1, framework_id = 2, agent_id = 3, hostname = 4, resources = 5, executor_ids = 6, attributes = 7', () => {
    const wire = Buffer.concat([
      f.message(1, f.string(1, 'offer-1')),
      f.message(2, f.string(1, 'fw-1')),
      f.message(3, f.string(1, 'agent-S0')),
      f.string(4, 'agent1'),
      f.message(5, ...scalar('cpus', 2)),
      f.message(5, ...ranges('ports', [31000, 32000])),
      f.message(6, f.string(1, 'exec-1')),
      f.message(7, f.string(1, 'rack'), f.varint(2, 3), f.message(5, f.string(1, 'r1'))),
    ]);
    roundTrip(Offer, wire, {
      id: { value: 'offer-1' },
      frameworkId: { value: 'fw-1' },
      agentId: { value: 'agent-S0' },
      hostname: 'agent1',
      resources: [
        { name: 'cpus', type: Value_Type.SCALAR, scalar: { value: 2 } },
        { name: 'ports', type: Value_Type.RANGES, ranges: { range: [{ begin: 31000, end: 32000 }] } },
      ],
      executorIds: [{ value: 'exec-1' }],
      attributes: [{ name: 'rack', type: Value_Type.TEXT, text: { value: 'r1' } }],
    });
  });

  it('Offer.Operation: type = 1, launch = 2 (task_infos = 1), id = 12', () => {
    const wire = Buffer.concat([f.varint(1, 1), f.message(2, f.message(1, f.string(1, 'w'), f.message(2, f.string(1, 'w1')), f.message(3, f.string(1, 'a'))))]);
    roundTrip(Offer_Operation, wire, {
      type: Offer_Operation_Type.LAUNCH,
      launch: { taskInfos: [{ name: 'w', taskId: { value: 'w1' }, agentId: { value: 'a' }, limits: {} }] },
    });
  });

  it('enum values match Mesos: TaskState, Reason, Source, Protocol, ContainerInfo.Type', () => {
    assert.deepEqual(
      [
        TaskState.TASK_STAGING,
        TaskState.TASK_STARTING,
        TaskState.TASK_RUNNING,
        TaskState.TASK_KILLING,
        TaskState.TASK_FINISHED,
        TaskState.TASK_FAILED,
        TaskState.TASK_KILLED,
        TaskState.TASK_ERROR,
        TaskState.TASK_LOST,
        TaskState.TASK_DROPPED,
        TaskState.TASK_UNREACHABLE,
        TaskState.TASK_GONE,
        TaskState.TASK_GONE_BY_OPERATOR,
        TaskState.TASK_UNKNOWN,
      ],
      [6, 0, 1, 8, 2, 3, 4, 7, 5, 9, 10, 11, 12, 13],
    );
    assert.equal(TaskStatus_Reason.REASON_CONTAINER_LAUNCH_FAILED, 21);
    assert.equal(TaskStatus_Reason.REASON_TASK_INVALID, 14);
    assert.equal(TaskStatus_Reason.REASON_TASK_GROUP_INVALID, 25);
    assert.equal(TaskStatus_Reason.REASON_EXECUTOR_TERMINATED, 1);
    assert.equal(TaskStatus_Reason.REASON_RECONCILIATION, 9);
    assert.equal(TaskStatus_Reason.REASON_AGENT_DRAINING, 34);
    assert.deepEqual([TaskStatus_Source.SOURCE_MASTER, TaskStatus_Source.SOURCE_AGENT, TaskStatus_Source.SOURCE_EXECUTOR], [0, 1, 2]);
    assert.deepEqual([NetworkInfo_Protocol.IPv4, NetworkInfo_Protocol.IPv6], [1, 2]);
    assert.deepEqual([ContainerInfo_Type.DOCKER, ContainerInfo_Type.MESOS], [1, 2]);
  });
});
