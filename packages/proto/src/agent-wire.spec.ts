// Wire compatibility with Apache Mesos's agent operator API (include/mesos/v1/agent/agent.proto)
// and ResourceStatistics of mesos.proto. As in master-wire.spec.ts, every message is written BY
// HAND from Mesos's field numbers (literal numbers), decoded with our generated code, checked field
// by field and encoded again.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ResourceStatistics, agentapiv1 } from './index.js';
import { canonical, f, stripUnknown, type Bytes } from './testing/wire.js';

const { Call, Call_Type, Response, Response_Type } = agentapiv1;

interface Codec<T> {
  decode(input: Uint8Array): T;
  encode(message: T): { finish(): Uint8Array };
}

function roundTrip<T>(codec: Codec<T>, wire: Bytes, expected: unknown): T {
  const decoded = codec.decode(wire);
  const { value, unknown } = stripUnknown(decoded);
  assert.deepEqual(unknown, [], 'every hand-written field must land on a known field');
  assert.deepEqual(value, expected);
  assert.equal(canonical(codec.encode(decoded).finish()), canonical(wire), 're-encoding must give the same message');
  return decoded;
}

const id = (field: number, value: string) => f.message(field, f.string(1, value));

describe('wire compatibility with Mesos agent.proto (the agent operator API)', () => {
  it("Call.Type has every one of Mesos's agent calls under its number, Response.Type every answer", () => {
    const calls: Record<string, number> = {
      UNKNOWN: 0,
      GET_HEALTH: 1,
      GET_FLAGS: 2,
      GET_VERSION: 3,
      GET_METRICS: 4,
      GET_LOGGING_LEVEL: 5,
      SET_LOGGING_LEVEL: 6,
      LIST_FILES: 7,
      READ_FILE: 8,
      GET_STATE: 9,
      GET_CONTAINERS: 10,
      GET_FRAMEWORKS: 11,
      GET_EXECUTORS: 12,
      GET_OPERATIONS: 31,
      GET_TASKS: 13,
      GET_AGENT: 20,
      GET_RESOURCE_PROVIDERS: 26,
      LAUNCH_NESTED_CONTAINER: 14,
      WAIT_NESTED_CONTAINER: 15,
      KILL_NESTED_CONTAINER: 16,
      REMOVE_NESTED_CONTAINER: 21,
      LAUNCH_NESTED_CONTAINER_SESSION: 17,
      ATTACH_CONTAINER_INPUT: 18,
      ATTACH_CONTAINER_OUTPUT: 19,
      LAUNCH_CONTAINER: 22,
      WAIT_CONTAINER: 23,
      KILL_CONTAINER: 24,
      REMOVE_CONTAINER: 25,
      ADD_RESOURCE_PROVIDER_CONFIG: 27,
      UPDATE_RESOURCE_PROVIDER_CONFIG: 28,
      REMOVE_RESOURCE_PROVIDER_CONFIG: 29,
      MARK_RESOURCE_PROVIDER_GONE: 32,
      PRUNE_IMAGES: 30,
    };
    for (const [name, number] of Object.entries(calls)) assert.equal(Call_Type[name as keyof typeof Call_Type], number, name);
    const answers: Record<string, number> = {
      GET_HEALTH: 1,
      GET_FLAGS: 2,
      GET_VERSION: 3,
      GET_METRICS: 4,
      GET_LOGGING_LEVEL: 5,
      LIST_FILES: 6,
      READ_FILE: 7,
      GET_STATE: 8,
      GET_CONTAINERS: 9,
      GET_FRAMEWORKS: 10,
      GET_EXECUTORS: 11,
      GET_OPERATIONS: 17,
      GET_TASKS: 12,
      GET_AGENT: 14,
      GET_RESOURCE_PROVIDERS: 16,
      WAIT_NESTED_CONTAINER: 13,
      WAIT_CONTAINER: 15,
    };
    for (const [name, number] of Object.entries(answers)) assert.equal(Response_Type[name as keyof typeof Response_Type], number, name);
  });

  it('Call: type = 1, get_metrics = 2 (timeout = 1), get_containers = 20 (show_nested = 1, show_standalone = 2); unserved bodies stay unknown fields', () => {
    roundTrip(Call, Buffer.concat([f.varint(1, 4), f.message(2, f.message(1, f.varint(1, 5e9)))]), {
      type: Call_Type.GET_METRICS,
      getMetrics: { timeout: { nanoseconds: 5e9 } },
    });
    roundTrip(Call, Buffer.concat([f.varint(1, 10), f.message(20, f.varint(1, true), f.varint(2, false))]), {
      type: Call_Type.GET_CONTAINERS,
      getContainers: { showNested: true, showStandalone: false },
    });
    // READ_FILE (8) with its body `read_file` (5) { path (1), offset (2) }.
    const readFile = Buffer.concat([f.varint(1, 8), f.message(5, f.string(1, '/x'), f.varint(2, 0))]);
    const decoded = Call.decode(readFile);
    assert.equal(decoded.type, Call_Type.READ_FILE);
    assert.equal(canonical(Call.encode(decoded).finish()), canonical(readFile));
  });

  it('ResourceStatistics: timestamp = 1, net_rx_packets..net_tx_dropped = 14..21', () => {
    const wire = Buffer.concat([
      f.double(1, 1700000000.5),
      f.varint(14, 1),
      f.varint(15, 2),
      f.varint(16, 3),
      f.varint(17, 4),
      f.varint(18, 5),
      f.varint(19, 6),
      f.varint(20, 7),
      f.varint(21, 8),
    ]);
    roundTrip(ResourceStatistics, wire, {
      timestamp: 1700000000.5,
      netRxPackets: 1,
      netRxBytes: 2,
      netRxErrors: 3,
      netRxDropped: 4,
      netTxPackets: 5,
      netTxBytes: 6,
      netTxErrors: 7,
      netTxDropped: 8,
    });
  });

  it('Response.GetContainers (containers = 1: framework_id = 1, executor_id = 2, executor_name = 3, container_id = 4, container_status = 5, resource_statistics = 6)', () => {
    // ContainerStatus { network_infos (1) { ip_addresses (5) { ip_address (2) } }, container_id (4) }
    const status = f.message(5, f.message(1, f.message(5, f.string(2, '10.99.0.5'))), id(4, 'c1'));
    const container = f.message(
      1,
      id(1, 'fw'),
      id(2, 'web'),
      f.string(3, 'Command Executor'),
      id(4, 'c1'),
      status,
      f.message(6, f.double(1, 1), f.varint(15, 42)),
    );
    roundTrip(Response, Buffer.concat([f.varint(1, 9), f.message(10, container)]), {
      type: Response_Type.GET_CONTAINERS,
      getContainers: {
        containers: [
          {
            frameworkId: { value: 'fw' },
            executorId: { value: 'web' },
            executorName: 'Command Executor',
            containerId: { value: 'c1' },
            containerStatus: { containerId: { value: 'c1' }, networkInfos: [{ ipAddresses: [{ ipAddress: '10.99.0.5' }] }] },
            resourceStatistics: { timestamp: 1, netRxBytes: 42 },
          },
        ],
      },
    });
  });

  it('Response: get_health = 2, get_state = 9 (get_tasks = 1, get_executors = 2, get_frameworks = 3), get_agent = 15 (agent_info = 1)', () => {
    roundTrip(Response, Buffer.concat([f.varint(1, 1), f.message(2, f.varint(1, true))]), { type: Response_Type.GET_HEALTH, getHealth: { healthy: true } });
    const task = Buffer.concat([f.string(1, 'web'), id(2, 't1'), id(3, 'fw'), id(5, 'S0'), f.varint(6, 1)]);
    const tasks = f.message(1, f.message(3, task), f.message(4, task), f.message(5, task));
    const executors = f.message(2, f.message(1, f.message(1, id(1, 'e1'))), f.message(2, f.message(1, id(1, 'e0'))));
    const frameworks = f.message(3, f.message(1, f.message(1, f.string(1, 'root'), f.string(2, 'fw'))), f.message(2, f.message(1, f.string(1, 'root'))));
    const taskJs = { name: 'web', taskId: { value: 't1' }, frameworkId: { value: 'fw' }, agentId: { value: 'S0' }, state: 1, limits: {} };
    roundTrip(Response, Buffer.concat([f.varint(1, 8), f.message(9, tasks, executors, frameworks)]), {
      type: Response_Type.GET_STATE,
      getState: {
        getTasks: { launchedTasks: [taskJs], terminatedTasks: [taskJs], completedTasks: [taskJs] },
        getExecutors: {
          executors: [{ executorInfo: { executorId: { value: 'e1' } } }],
          completedExecutors: [{ executorInfo: { executorId: { value: 'e0' } } }],
        },
        getFrameworks: { frameworks: [{ frameworkInfo: { user: 'root', name: 'fw' } }], completedFrameworks: [{ frameworkInfo: { user: 'root' } }] },
      },
    });
    roundTrip(Response, Buffer.concat([f.varint(1, 14), f.message(15, f.message(1, f.string(1, 'a1'), f.varint(8, 5051), id(6, 'S0')))]), {
      type: Response_Type.GET_AGENT,
      getAgent: { agentInfo: { hostname: 'a1', port: 5051, id: { value: 'S0' } } },
    });
  });
});
