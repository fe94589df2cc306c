// Wire compatibility with Apache Mesos's operator API (include/mesos/v1/master/master.proto) and
// the messages of mesos.proto it needs (MasterInfo, VersionInfo, Flag, Metric). As in
// mesos-wire.spec.ts, every message is written BY HAND from Mesos's field numbers (literal
// numbers), decoded with our generated code, checked field by field and encoded again.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Flag, MasterInfo, Metric, TaskState, VersionInfo, masterv1 } from './index.js';
import { canonical, f, stripUnknown, type Bytes } from './testing/wire.js';

const { Call, Call_Type, Event, Event_Type, Response, Response_Type } = masterv1;

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
const cpus = (v: number) => [f.string(1, 'cpus'), f.varint(2, 0), f.message(3, f.double(1, v))];
const cpusJs = (v: number) => ({ name: 'cpus', type: 0, scalar: { value: v } });

describe('wire compatibility with Mesos master.proto (the operator API)', () => {
  it('MasterInfo: id = 1, ip = 2, port = 3, pid = 4, hostname = 5, version = 6, address = 7', () => {
    const wire = Buffer.concat([
      f.string(1, 'm-1'),
      f.varint(2, 16777343),
      f.varint(3, 5050),
      f.string(4, 'master@127.0.0.1:5050'),
      f.string(5, 'localhost'),
      f.string(6, '1.11.0'),
      f.message(7, f.string(1, 'localhost'), f.string(2, '127.0.0.1'), f.varint(3, 5050)),
    ]);
    roundTrip(MasterInfo, wire, {
      id: 'm-1',
      ip: 16777343,
      port: 5050,
      pid: 'master@127.0.0.1:5050',
      hostname: 'localhost',
      version: '1.11.0',
      address: { hostname: 'localhost', ip: '127.0.0.1', port: 5050 },
    });
  });

  it('VersionInfo (version = 1, build_date = 2, build_time = 3, build_user = 4, git_* = 5-7), Flag and Metric (name = 1, value = 2)', () => {
    const version = Buffer.concat([
      f.string(1, '1.11.0'),
      f.string(2, '2020-11-24'),
      f.double(3, 1606176000),
      f.string(4, 'root'),
      f.string(5, 'abc'),
      f.string(6, 'main'),
      f.string(7, '1.11.0'),
    ]);
    roundTrip(VersionInfo, version, {
      version: '1.11.0',
      buildDate: '2020-11-24',
      buildTime: 1606176000,
      buildUser: 'root',
      gitSha: 'abc',
      gitBranch: 'main',
      gitTag: '1.11.0',
    });
    roundTrip(Flag, Buffer.concat([f.string(1, 'port'), f.string(2, '5050')]), { name: 'port', value: '5050' });
    roundTrip(Metric, Buffer.concat([f.string(1, 'master/elected'), f.double(2, 1)]), { name: 'master/elected', value: 1 });
  });

  it('Call: type = 1, get_metrics = 2 (timeout = 1); the bodies ippc does not serve are kept as unknown fields', () => {
    roundTrip(Call, Buffer.concat([f.varint(1, 4), f.message(2, f.message(1, f.varint(1, 5e9)))]), {
      type: Call_Type.GET_METRICS,
      getMetrics: { timeout: { nanoseconds: 5e9 } },
    });
    // TEARDOWN (31) with its body `teardown` (16) { framework_id (1) }.
    const teardown = Buffer.concat([f.varint(1, 31), f.message(16, id(1, 'fw'))]);
    const decoded = Call.decode(teardown);
    assert.equal(decoded.type, Call_Type.TEARDOWN);
    assert.equal(canonical(Call.encode(decoded).finish()), canonical(teardown));
  });

  it("Call.Type has every one of Mesos's calls under its number", () => {
    const expected: Record<string, number> = {
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
      GET_AGENTS: 10,
      GET_FRAMEWORKS: 11,
      GET_EXECUTORS: 12,
      GET_OPERATIONS: 33,
      GET_TASKS: 13,
      GET_ROLES: 14,
      GET_WEIGHTS: 15,
      UPDATE_WEIGHTS: 16,
      GET_MASTER: 17,
      SUBSCRIBE: 18,
      RESERVE_RESOURCES: 19,
      UNRESERVE_RESOURCES: 20,
      CREATE_VOLUMES: 21,
      DESTROY_VOLUMES: 22,
      GROW_VOLUME: 34,
      SHRINK_VOLUME: 35,
      GET_MAINTENANCE_STATUS: 23,
      GET_MAINTENANCE_SCHEDULE: 24,
      UPDATE_MAINTENANCE_SCHEDULE: 25,
      START_MAINTENANCE: 26,
      STOP_MAINTENANCE: 27,
      GET_QUOTA: 28,
      UPDATE_QUOTA: 36,
      SET_QUOTA: 29,
      REMOVE_QUOTA: 30,
      TEARDOWN: 31,
      MARK_AGENT_GONE: 32,
    };
    for (const [name, number] of Object.entries(expected)) assert.equal(Call_Type[name as keyof typeof Call_Type], number, name);
    const types = { ...Response_Type } as Record<string, unknown>;
    assert.deepEqual(
      [
        types.GET_HEALTH,
        types.GET_FLAGS,
        types.GET_VERSION,
        types.GET_METRICS,
        types.GET_STATE,
        types.GET_AGENTS,
        types.GET_FRAMEWORKS,
        types.GET_EXECUTORS,
        types.GET_OPERATIONS,
        types.GET_TASKS,
        types.GET_MASTER,
        types.GET_QUOTA,
      ],
      [1, 2, 3, 4, 8, 9, 10, 11, 19, 12, 15, 18],
    );
  });

  it('Response: get_health = 2, get_flags = 3, get_version = 4, get_metrics = 5, get_master = 16 (start_time = 2, elected_time = 3)', () => {
    roundTrip(Response, Buffer.concat([f.varint(1, 1), f.message(2, f.varint(1, true))]), { type: Response_Type.GET_HEALTH, getHealth: { healthy: true } });
    roundTrip(Response, Buffer.concat([f.varint(1, 2), f.message(3, f.message(1, f.string(1, 'port'), f.string(2, '5050')))]), {
      type: Response_Type.GET_FLAGS,
      getFlags: { flags: [{ name: 'port', value: '5050' }] },
    });
    roundTrip(Response, Buffer.concat([f.varint(1, 3), f.message(4, f.message(1, f.string(1, '0.1.0')))]), {
      type: Response_Type.GET_VERSION,
      getVersion: { versionInfo: { version: '0.1.0' } },
    });
    roundTrip(Response, Buffer.concat([f.varint(1, 4), f.message(5, f.message(1, f.string(1, 'master/elected'), f.double(2, 1)))]), {
      type: Response_Type.GET_METRICS,
      getMetrics: { metrics: [{ name: 'master/elected', value: 1 }] },
    });
    roundTrip(
      Response,
      Buffer.concat([f.varint(1, 15), f.message(16, f.message(1, f.string(1, 'm'), f.varint(2, 1), f.varint(3, 5050)), f.double(2, 10), f.double(3, 11))]),
      {
        type: Response_Type.GET_MASTER,
        getMaster: { masterInfo: { id: 'm', ip: 1, port: 5050 }, startTime: 10, electedTime: 11 },
      },
    );
  });

  it('Response.GetState (get_tasks = 1, get_executors = 2, get_frameworks = 3, get_agents = 4) and its four parts', () => {
    const agent = f.message(
      1,
      f.message(1, f.string(1, 'a1'), f.message(6, f.string(1, 'S0'))),
      f.varint(2, true),
      f.string(3, '0.1.0'),
      f.string(4, 'slave(1)@127.0.0.2:5051'),
      f.message(5, f.varint(1, 1e9)),
      f.message(6, f.varint(1, 2e9)),
      f.message(7, ...cpus(2)),
      f.message(8, ...cpus(0.5)),
      f.message(9, ...cpus(1.5)),
      f.message(10, f.varint(1, 1)),
    );
    const framework = Buffer.concat([
      f.message(1, f.string(1, 'root'), f.string(2, 'fw')),
      f.varint(2, true),
      f.varint(3, true),
      f.varint(11, false),
      f.message(4, f.varint(1, 3e9)),
      f.message(5, f.varint(1, 4e9)),
      f.message(6, f.varint(1, 5e9)),
      f.message(7, id(1, 'O1'), id(2, 'fw-1'), id(3, 'S0'), f.string(4, 'a1')),
      f.message(9, ...cpus(0.5)),
      f.message(10, ...cpus(1.5)),
    ]);
    const task = Buffer.concat([f.string(1, 'web'), id(2, 't1'), id(3, 'fw-1'), id(5, 'S0'), f.varint(6, 1)]);
    const wire = Buffer.concat([
      f.varint(1, 8),
      f.message(
        9,
        f.message(1, f.message(2, task), f.message(5, task), f.message(3, task)),
        f.message(2, f.message(1, f.message(1, id(1, 'e1'), f.message(7, f.string(3, 'run'))), id(2, 'S0'))),
        f.message(3, f.message(1, framework), f.message(2, framework)),
        f.message(4, agent),
      ),
    ]);
    const taskJs = {
      name: 'web',
      taskId: { value: 't1' },
      frameworkId: { value: 'fw-1' },
      agentId: { value: 'S0' },
      state: TaskState.TASK_RUNNING,
      limits: {},
    };
    const frameworkJs = {
      frameworkInfo: { user: 'root', name: 'fw' },
      active: true,
      connected: true,
      recovered: false,
      registeredTime: { nanoseconds: 3e9 },
      reregisteredTime: { nanoseconds: 4e9 },
      unregisteredTime: { nanoseconds: 5e9 },
      offers: [{ id: { value: 'O1' }, frameworkId: { value: 'fw-1' }, agentId: { value: 'S0' }, hostname: 'a1' }],
      allocatedResources: [cpusJs(0.5)],
      offeredResources: [cpusJs(1.5)],
    };
    roundTrip(Response, wire, {
      type: Response_Type.GET_STATE,
      getState: {
        getTasks: { tasks: [taskJs], unreachableTasks: [taskJs], completedTasks: [taskJs] },
        getExecutors: { executors: [{ executorInfo: { executorId: { value: 'e1' }, command: { value: 'run' } }, agentId: { value: 'S0' } }] },
        getFrameworks: { frameworks: [frameworkJs], completedFrameworks: [frameworkJs] },
        getAgents: {
          agents: [
            {
              agentInfo: { hostname: 'a1', id: { value: 'S0' } },
              active: true,
              version: '0.1.0',
              pid: 'slave(1)@127.0.0.2:5051',
              registeredTime: { nanoseconds: 1e9 },
              reregisteredTime: { nanoseconds: 2e9 },
              totalResources: [cpusJs(2)],
              allocatedResources: [cpusJs(0.5)],
              offeredResources: [cpusJs(1.5)],
              capabilities: [{ type: 1 }],
            },
          ],
        },
      },
    });
  });

  it('Event: subscribed = 2 (heartbeat_interval_seconds = 2), task_added = 3, task_updated = 4, agent_added = 5, agent_removed = 6, framework_* = 7-9', () => {
    assert.deepEqual(
      [
        Event_Type.SUBSCRIBED,
        Event_Type.TASK_ADDED,
        Event_Type.TASK_UPDATED,
        Event_Type.AGENT_ADDED,
        Event_Type.AGENT_REMOVED,
        Event_Type.FRAMEWORK_ADDED,
        Event_Type.FRAMEWORK_UPDATED,
        Event_Type.FRAMEWORK_REMOVED,
        Event_Type.HEARTBEAT,
      ],
      [1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    roundTrip(Event, Buffer.concat([f.varint(1, 1), f.message(2, f.message(1), f.double(2, 15))]), {
      type: Event_Type.SUBSCRIBED,
      subscribed: { getState: {}, heartbeatIntervalSeconds: 15 },
    });
    const status = f.message(2, id(1, 't1'), f.varint(2, 1), f.message(13, f.message(1, f.message(5, f.string(2, '10.0.0.7')), f.string(6, 'blue'))));
    roundTrip(Event, Buffer.concat([f.varint(1, 3), f.message(4, id(1, 'fw-1'), status, f.varint(3, 1))]), {
      type: Event_Type.TASK_UPDATED,
      taskUpdated: {
        frameworkId: { value: 'fw-1' },
        status: {
          taskId: { value: 't1' },
          state: TaskState.TASK_RUNNING,
          containerStatus: { networkInfos: [{ ipAddresses: [{ ipAddress: '10.0.0.7' }], name: 'blue' }] },
        },
        state: TaskState.TASK_RUNNING,
      },
    });
    roundTrip(Event, Buffer.concat([f.varint(1, 2), f.message(3, f.message(1, f.string(1, 'web')))]), {
      type: Event_Type.TASK_ADDED,
      taskAdded: { task: { name: 'web', limits: {} } },
    });
    roundTrip(Event, Buffer.concat([f.varint(1, 4), f.message(5, f.message(1, f.varint(2, false)))]), {
      type: Event_Type.AGENT_ADDED,
      agentAdded: { agent: { active: false } },
    });
    roundTrip(Event, Buffer.concat([f.varint(1, 5), f.message(6, id(1, 'S0'))]), {
      type: Event_Type.AGENT_REMOVED,
      agentRemoved: { agentId: { value: 'S0' } },
    });
    const fw = f.message(1, f.message(1, f.string(2, 'fw')));
    roundTrip(Event, Buffer.concat([f.varint(1, 6), f.message(7, fw)]), {
      type: Event_Type.FRAMEWORK_ADDED,
      frameworkAdded: { framework: { frameworkInfo: { name: 'fw' } } },
    });
    roundTrip(Event, Buffer.concat([f.varint(1, 7), f.message(8, fw)]), {
      type: Event_Type.FRAMEWORK_UPDATED,
      frameworkUpdated: { framework: { frameworkInfo: { name: 'fw' } } },
    });
    roundTrip(Event, Buffer.concat([f.varint(1, 8), f.message(9, f.message(1, f.string(2, 'fw')))]), {
      type: Event_Type.FRAMEWORK_REMOVED,
      frameworkRemoved: { frameworkInfo: { name: 'fw' } },
    });
  });
});
