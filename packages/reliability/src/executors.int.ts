import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { allocateResources, parseResources, subtractResources } from '@ippc/mesos';
import {
  ContainerInfo_DockerInfo_Network,
  ContainerInfo_Type,
  ExecutorInfo,
  ExecutorInfo_Type,
  HealthCheck_Type,
  TaskState,
  TaskStatus_Reason,
  TaskStatus_Source,
  type ContainerInfo,
  type TaskInfo,
  type TaskStatus,
} from '@ippc/proto';
import type { Scheduler, TaskSpec } from '@ippc/scheduler';
import { recordFigure } from './figures.js';
import { GARBAGE_PROTOBUF, httpCall } from './probe.js';
import {
  addressesOf,
  agentTasks,
  createWorld,
  eventually,
  expectClean,
  holdings,
  leaked,
  masterTasks,
  net,
  offers,
  type Holdings,
  type World,
} from './world.js';

// Bad input around executors (issue #16): custom executors over the executor API and task groups
// (LAUNCH_GROUP) through the real master, the real agent, the Mesos containerizer and network/cni
// with the IPAM service. Each case gets Mesos's status, reason and message (verbatim where Mesos
// has one: src/master/validation.cpp, src/slave/slave.cpp, src/slave/http.cpp), and afterwards the
// node holds exactly what it held before: addresses at the IPAM, namespaces, veths, iptables rules,
// checkpoints and task processes (an executor is a task process too), counted.

/** The shell executor that ships with the agent: Mesos's executor API from Mesos's documentation only. */
const SHELL_EXECUTOR = join(import.meta.dirname, '..', '..', 'agent', 'executors', 'shell-executor.mjs');
/** Short, so the never-subscribing executor is given up quickly; Mesos prints it back as `3secs`. */
const REGISTRATION_TIMEOUT = '3secs';

let w: World;
let s: Scheduler;
let baseline: Holdings;
let tried = 0;
let leaks = 0;
const failures: { executorId?: string; status?: number }[] = [];

interface Expect {
  state: keyof typeof TaskState;
  reason: TaskStatus_Reason;
  source: TaskStatus_Source;
  message: string | RegExp;
}

const INVALID = (message: string | RegExp): Expect => ({
  state: 'TASK_ERROR',
  reason: TaskStatus_Reason.REASON_TASK_INVALID,
  source: TaskStatus_Source.SOURCE_MASTER,
  message,
});
const GROUP_INVALID = (message: string): Expect => ({ ...INVALID(message), reason: TaskStatus_Reason.REASON_TASK_GROUP_INVALID });
const NEVER_SUBSCRIBED: Expect = {
  state: 'TASK_FAILED',
  reason: TaskStatus_Reason.REASON_EXECUTOR_REGISTRATION_TIMEOUT,
  source: TaskStatus_Source.SOURCE_AGENT,
  message: `Executor did not register within ${REGISTRATION_TIMEOUT}`,
};

const command = (value: string) => ({ shell: true, value, uris: [], arguments: [] });
const mesosContainer = (networks = [net('ippc-bridge')]): ContainerInfo =>
  ({ type: ContainerInfo_Type.MESOS, networkInfos: networks, volumes: [] }) as ContainerInfo;
const dockerContainer = (): ContainerInfo =>
  ({
    type: ContainerInfo_Type.DOCKER,
    docker: { image: 'ippc/base:missing', network: ContainerInfo_DockerInfo_Network.BRIDGE, portMappings: [], parameters: [] },
    networkInfos: [],
    volumes: [],
  }) as ContainerInfo;

/** A CUSTOM executor of this framework on ippc-bridge: the shell executor unless `extra` says otherwise. */
function customExecutor(id: string, extra: Partial<ExecutorInfo> = {}): ExecutorInfo {
  return ExecutorInfo.fromPartial({
    type: ExecutorInfo_Type.CUSTOM,
    executorId: { value: id },
    frameworkId: { value: s.frameworkId! },
    command: command(`exec ${process.execPath} ${SHELL_EXECUTOR}`),
    resources: allocateResources(parseResources('cpus:0.01;mem:32'), '*'),
    container: mesosContainer(),
    ...extra,
  });
}

/** LAUNCH of one task on `executor` (its resources taken from the offer too); returns the task id. */
async function launchOn(executor: ExecutorInfo, name: string, data = 'exec sleep 600'): Promise<string> {
  tried += 1;
  const o = await offers(s);
  const task = s.taskFromOffer(o.offers[0]!, { name, executor, data, cpus: 0.01, mem: 8 }, subtractResources(o.resources, executor.resources ?? []));
  await s.launch(o.offers, [task], { refuseSeconds: 0 });
  return task.taskId!.value!;
}

type Group = { executor: ExecutorInfo; tasks: TaskInfo[] };

/** LAUNCH_GROUP of `tasks` under a DEFAULT executor on ippc-bridge, changed by `mutate` first; returns the task ids. */
async function launchGroup(name: string, tasks: TaskSpec[], mutate: (g: Group) => Group = (g) => g): Promise<string[]> {
  tried += 1;
  const o = await offers(s);
  const built = s.groupFromOffer(
    o.offers[0]!,
    { executor: { id: `${name}-pod`, networks: [net('ippc-bridge')], cpus: 0.01, mem: 32, disk: 1 }, tasks },
    o.resources,
  );
  const g = mutate({ executor: ExecutorInfo.fromPartial({ ...built.executor, frameworkId: { value: s.frameworkId! } }), tasks: built.tasks });
  await s.launchGroup(o.offers, g.executor, g.tasks, { refuseSeconds: 0 });
  return g.tasks.map((t) => t.taskId!.value!);
}

const sleeper = (name: string, extra: Partial<TaskSpec> = {}): TaskSpec => ({ name, command: 'exec sleep 600', cpus: 0.01, mem: 8, ...extra });

/** Waits for `e.state` and checks reason, source and message; the task never ran. */
async function expectStatus(id: string, e: Expect, timeoutMs = 60_000): Promise<TaskStatus> {
  const st = await s.waitForState(id, [e.state], timeoutMs);
  assert.equal(TaskStatus_Reason[st.reason ?? 0], TaskStatus_Reason[e.reason], `reason of ${id}: ${st.message}`);
  assert.equal(TaskStatus_Source[st.source ?? 0], TaskStatus_Source[e.source], `source of ${id}`);
  if (typeof e.message === 'string') assert.equal(st.message, e.message);
  else assert.match(st.message ?? '', e.message);
  const seen = (s.statuses.get(id) ?? []).map((x) => TaskState[x.state!]);
  assert.ok(!seen.includes('TASK_RUNNING'), `${id} never ran: ${seen.join(',')}`);
  return st;
}

async function checkClean(what: string): Promise<void> {
  try {
    await expectClean(w, baseline, what, 20_000);
  } catch (err) {
    leaks += 1;
    const now = await holdings(w).catch(() => baseline);
    throw new Error(`${(err as Error).message}\nleft behind: ${leaked(baseline, now).join(', ')}`);
  }
  // Neither side keeps a task of the case (or a phantom of one) alive.
  const live = (m: Map<string, string>) => [...m].filter(([, st]) => ['TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING'].includes(st));
  assert.deepEqual(live(await masterTasks(w)), [], `the master runs nothing after ${what}`);
  assert.deepEqual(live(await agentTasks(w)), [], `the agent runs nothing after ${what}`);
}

/** One call at the agent's executor API, bytes as given. */
function executorCall(body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }, method = 'POST') {
  return httpCall({ url: `${w.agent!.url}/api/v1/executor` }, { method, body, headers });
}

/** A JSON UPDATE from `executorId` for `taskId`, as an executor sends it (`extra` overrides the status). */
function update(executorId: string, taskId: string, extra: object = {}): string {
  return JSON.stringify({
    framework_id: { value: s.frameworkId },
    executor_id: { value: executorId },
    type: 'UPDATE',
    update: { status: { task_id: { value: taskId }, state: 'TASK_RUNNING', source: 'SOURCE_EXECUTOR', uuid: randomBytes(16).toString('base64'), ...extra } },
  });
}

describe('executors and task groups: bad input leaves nothing behind', { timeout: 400_000 }, () => {
  before(async () => {
    w = await createWorld({});
    await w.startAgent([`--executor_registration_timeout=${REGISTRATION_TIMEOUT}`, '--status_update_retry_interval=1secs']);
    await w.waitForAgents(1);
    s = await w.scheduler('rl-executors');
    s.on((e) => {
      if (e.type === 'FAILURE')
        failures.push({ ...(e.executorId ? { executorId: e.executorId } : {}), ...(e.status !== undefined ? { status: e.status } : {}) });
    });
    // A good pod first: the bridge is made by the first ADD and stays, by design.
    const [warm] = await launchGroup('rl-warm', [sleeper('warm')]);
    await s.waitForState(warm!, 'TASK_RUNNING', 30_000);
    await s.kill(warm!);
    await s.waitForState(warm!, 'TASK_KILLED', 30_000);
    baseline = await eventually(
      async () => {
        const h = await holdings(w);
        return h.leases === 0 && h.checkpoints === 0 && h.veths === 0 && h.namespaces === 0 && h.processes === 0 ? h : undefined;
      },
      'the warm-up pod torn down',
      30_000,
    );
    tried = 0;
  });
  after(async () => {
    recordFigure({ suite: 'executors', name: 'executor and task group inputs', cases: tried, leaks, duplicates: 0 });
    await w?.dispose();
  });

  describe("the master's validation (TASK_ERROR, SOURCE_MASTER): nothing reaches the agent", () => {
    const taskCases: { name: string; executor: () => ExecutorInfo; expect: Expect }[] = [
      {
        name: 'a CUSTOM executor with no command',
        executor: () => customExecutor('rl-nocmd', { command: undefined }),
        expect: INVALID("'ExecutorInfo.command' must be set for 'CUSTOM' executor"),
      },
      {
        name: 'an executor of no type with no command',
        executor: () => customExecutor('rl-notype', { type: undefined, command: undefined }),
        expect: INVALID("'ExecutorInfo.command' must be set"),
      },
      {
        name: 'a DEFAULT executor for a single task',
        executor: () => customExecutor('rl-default', { type: ExecutorInfo_Type.DEFAULT, command: undefined }),
        expect: INVALID("'ExecutorInfo.type' must be 'CUSTOM'"),
      },
    ];
    for (const c of taskCases) {
      it(`${c.name}: '${String(c.expect.message)}'`, async () => {
        const id = await launchOn(c.executor(), c.name.replace(/\W+/g, '-'));
        await expectStatus(id, c.expect);
        await checkClean(c.name);
      });
    }

    const groupCases: { name: string; tasks: TaskSpec[]; mutate: (g: Group) => Group; expect: (g: Group) => string }[] = [
      {
        name: 'a group mixing executors',
        tasks: [sleeper('a'), sleeper('b')],
        mutate: (g) => ({
          ...g,
          tasks: [g.tasks[0]!, { ...g.tasks[1]!, executor: ExecutorInfo.fromPartial({ ...g.executor, executorId: { value: 'rl-other' } }) }],
        }),
        expect: (g) => `The \`ExecutorInfo\` of task '${g.tasks[1]!.taskId!.value}' is different from executor '${g.executor.executorId!.value}'`,
      },
      {
        name: 'a task of a group on a network of its own with an HTTP health check',
        tasks: [sleeper('http', { networks: [net('ippc-ptp')] }), sleeper('b')],
        mutate: (g) => ({ ...g, tasks: [{ ...g.tasks[0]!, healthCheck: { type: HealthCheck_Type.HTTP, http: { port: 8080, statuses: [] } } }, g.tasks[1]!] }),
        expect: (g) =>
          `Task '${g.tasks[0]!.taskId!.value}' is invalid: HTTP and TCP health checks are not supported for nested containers not joining parent's network`,
      },
      {
        name: 'a task of a group on a network of its own with a TCP health check',
        tasks: [sleeper('tcp', { networks: [net('ippc-ptp')] })],
        mutate: (g) => ({ ...g, tasks: [{ ...g.tasks[0]!, healthCheck: { type: HealthCheck_Type.TCP, tcp: { port: 8080 } } }] }),
        expect: (g) =>
          `Task '${g.tasks[0]!.taskId!.value}' is invalid: HTTP and TCP health checks are not supported for nested containers not joining parent's network`,
      },
      {
        name: 'a task of a group in a DOCKER container',
        tasks: [sleeper('a'), sleeper('docker')],
        mutate: (g) => ({ ...g, tasks: [g.tasks[0]!, { ...g.tasks[1]!, container: dockerContainer() }] }),
        expect: (g) => `Task '${g.tasks[1]!.taskId!.value}' is invalid: Docker ContainerInfo is not supported on the task`,
      },
      {
        name: 'a group whose DEFAULT executor is in a DOCKER container',
        tasks: [sleeper('a')],
        mutate: (g) => ({ ...g, executor: { ...g.executor, container: dockerContainer() } }),
        expect: () => "'ExecutorInfo.container.type' must be 'MESOS' for 'DEFAULT' executor",
      },
      {
        name: 'a group whose CUSTOM executor is in a DOCKER container',
        tasks: [sleeper('a')],
        mutate: (g) => ({ ...g, executor: customExecutor(g.executor.executorId!.value!, { resources: g.executor.resources, container: dockerContainer() }) }),
        expect: () => 'Docker ContainerInfo is not supported on the executor',
      },
      {
        name: 'a group whose CUSTOM executor has no command',
        tasks: [sleeper('a'), sleeper('b')],
        mutate: (g) => ({ ...g, executor: customExecutor(g.executor.executorId!.value!, { resources: g.executor.resources, command: undefined }) }),
        expect: () => "'ExecutorInfo.command' must be set for 'CUSTOM' executor",
      },
    ];
    for (const c of groupCases) {
      it(`${c.name}: every task TASK_ERROR, REASON_TASK_GROUP_INVALID`, async () => {
        let built: Group | undefined;
        const ids = await launchGroup(c.name.replace(/\W+/g, '-').slice(0, 30), c.tasks, (g) => (built = c.mutate(g)));
        for (const id of ids) await expectStatus(id, GROUP_INVALID(c.expect(built!)));
        await checkClean(c.name);
      });
    }
  });

  describe('the agent', () => {
    it(`an executor that never subscribes: 403 to its calls meanwhile, then TASK_FAILED, REASON_EXECUTOR_REGISTRATION_TIMEOUT, '${NEVER_SUBSCRIBED.message}'`, async () => {
      const executor = customExecutor('rl-silent', { command: command('exec sleep 600') });
      const id = await launchOn(executor, 'silent');
      // Mesos's agent refuses any call but SUBSCRIBE from an executor still registering (http.cpp).
      const refused = await eventually(
        async () => {
          const r = await executorCall(update('rl-silent', id));
          return r.status === 400 && r.body === 'Executor cannot be found' ? undefined : r;
        },
        'the agent to know the executor',
        10_000,
      );
      assert.deepEqual([refused.status, refused.body], [403, 'Executor is not subscribed']);
      // Its container is attached meanwhile: the count after shows the address given back.
      assert.ok((await holdings(w)).leases > baseline.leases, "the executor's container holds an address while it waits");
      await expectStatus(id, NEVER_SUBSCRIBED, 30_000);
      await eventually(
        async () => (failures.some((f) => f.executorId === 'rl-silent') ? true : undefined),
        'the framework told of the executor (FAILURE)',
        10_000,
      );
      await checkClean('an executor that never subscribes');
    });

    it('a group whose CUSTOM executor never subscribes: every task TASK_FAILED, REASON_EXECUTOR_REGISTRATION_TIMEOUT', async () => {
      const ids = await launchGroup('rl-silent-group', [sleeper('a'), sleeper('b')], (g) => ({
        ...g,
        executor: customExecutor(g.executor.executorId!.value!, { resources: g.executor.resources, command: command('exec sleep 600') }),
      }));
      for (const id of ids) await expectStatus(id, NEVER_SUBSCRIBED, 30_000);
      await checkClean('a group whose executor never subscribes');
    });

    it("a task of a group asking for a network of its own: the CNI isolator's refusal, the group ends, nothing attached", async () => {
      const ids = await launchGroup('rl-own-net', [sleeper('own', { networks: [net('ippc-ptp')] }), sleeper('b')]);
      const own = await s.waitForState(ids[0]!, ['TASK_FAILED', 'TASK_ERROR', 'TASK_KILLED'], 60_000);
      assert.equal(TaskState[own.state!], 'TASK_FAILED', own.message);
      assert.match(own.message ?? '', /Currently, we don't support different network namespaces for parent and nested containers\./);
      await s.waitForState(ids[1]!, ['TASK_FAILED', 'TASK_KILLED'], 60_000);
      await checkClean('a nested task with a network of its own');
    });
  });

  describe('a running custom executor (the shell executor) and bad calls at the executor API', () => {
    const EXEC = 'rl-shell';
    let anchor = '';
    before(async () => {
      anchor = await launchOn(customExecutor(EXEC), 'anchor');
      const running = await s.waitForState(anchor, 'TASK_RUNNING', 60_000);
      assert.equal(addressesOf(running).length, 1, "the task reports its executor's address");
    });

    it('an UPDATE for a task it does not run: 202, forwarded to the framework once (Mesos forwards it), no task made of it', async () => {
      const ghost = 'rl-ghost';
      for (const state of ['TASK_RUNNING', 'TASK_FINISHED'] as const) {
        const r = await executorCall(update(EXEC, ghost, { state }));
        assert.deepEqual([r.status, r.body], [202, '']);
        const st = await s.waitForState(ghost, state, 10_000);
        assert.equal(TaskStatus_Source[st.source!], 'SOURCE_EXECUTOR');
        assert.equal(st.executorId?.value, EXEC);
      }
      // Acknowledged by the scheduler: with a 1 s retry interval an update left unacknowledged at the agent would come again.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      assert.deepEqual(
        (s.statuses.get(ghost) ?? []).map((x) => TaskState[x.state!]),
        ['TASK_RUNNING', 'TASK_FINISHED'],
        'each delivered once',
      );
      assert.equal((await masterTasks(w)).has(ghost), false, 'the master made no task of it');
      assert.equal((await agentTasks(w)).has(ghost), false, 'the agent made no task of it');
      assert.equal((await agentTasks(w)).get(anchor), 'TASK_RUNNING', 'the executor runs on');
    });

    const malformed: { name: string; body: () => string | Buffer; headers?: Record<string, string>; method?: string; status: number; text: string | RegExp }[] =
      [
        { name: 'GET', body: () => '', method: 'GET', status: 405, text: "Expecting one of { 'POST' }, but received 'GET'" },
        { name: 'no Content-Type', body: () => Buffer.from('{}'), headers: {}, status: 400, text: "Expecting 'Content-Type' to be present" },
        {
          name: 'text/plain',
          body: () => update(EXEC, 'x'),
          headers: { 'content-type': 'text/plain' },
          status: 415,
          text: "Expecting 'Content-Type' of application/json or application/x-protobuf",
        },
        { name: 'a body that is not JSON', body: () => '{"type":', status: 400, text: /^Failed to parse body into JSON: / },
        {
          name: 'garbage protobuf',
          body: () => GARBAGE_PROTOBUF,
          headers: { 'content-type': 'application/x-protobuf' },
          status: 400,
          text: 'Failed to parse body into Call protobuf',
        },
        {
          name: 'JSON without the ids',
          body: () => JSON.stringify({ type: 'HEARTBEAT' }),
          status: 400,
          text: 'Failed to convert JSON into Call protobuf: Missing required fields: executor_id, framework_id',
        },
        {
          name: 'an unknown call type',
          body: () => JSON.stringify({ framework_id: { value: s.frameworkId }, executor_id: { value: EXEC }, type: 'FLY' }),
          status: 400,
          text: "Failed to convert JSON into Call protobuf: Failed to find enum for 'FLY'",
        },
        {
          name: 'UPDATE without update',
          body: () => JSON.stringify({ framework_id: { value: s.frameworkId }, executor_id: { value: EXEC }, type: 'UPDATE' }),
          status: 400,
          text: "Failed to validate Executor::Call: Expecting 'update' to be present",
        },
        {
          name: 'UPDATE without uuid',
          body: () => update(EXEC, 'x', { uuid: undefined }),
          status: 400,
          text: "Failed to validate Executor::Call: Expecting 'uuid' to be present",
        },
        {
          name: 'UPDATE from the agent as source',
          body: () => update(EXEC, 'x', { source: 'SOURCE_AGENT' }),
          status: 400,
          text: `Failed to validate Executor::Call: Received Call from executor ${EXEC} of framework FID with invalid source, expecting 'SOURCE_EXECUTOR'`,
        },
        {
          name: 'UPDATE of TASK_STAGING',
          body: () => update(EXEC, 'x', { state: 'TASK_STAGING' }),
          status: 400,
          text: `Failed to validate Executor::Call: Received TASK_STAGING from executor ${EXEC} of framework FID which is not allowed`,
        },
        {
          name: 'UPDATE naming another executor in its status',
          body: () => update(EXEC, 'x', { executor_id: { value: 'rl-else' } }),
          status: 400,
          text: `Failed to validate Executor::Call: ExecutorID in Call: ${EXEC} does not match ExecutorID in TaskStatus: rl-else`,
        },
        { name: 'an unknown executor', body: () => update('rl-nobody', 'x'), status: 400, text: 'Executor cannot be found' },
        {
          name: 'an unknown framework',
          body: () => update(EXEC, 'x').replace(s.frameworkId!, 'rl-no-framework'),
          status: 400,
          text: 'Framework cannot be found',
        },
      ];
    for (const c of malformed) {
      it(`a malformed call, ${c.name}: ${c.status}`, async () => {
        tried += 1;
        const r = await executorCall(c.body(), c.headers ?? { 'content-type': 'application/json' }, c.method);
        assert.equal(r.status, c.status, r.body);
        if (typeof c.text === 'string') assert.equal(r.body, c.text.replace('FID', s.frameworkId!));
        else assert.match(r.body, c.text);
        assert.equal((await agentTasks(w)).get(anchor), 'TASK_RUNNING', 'the executor runs on');
      });
    }

    it("a task whose ExecutorInfo differs from the running executor's: TASK_ERROR, REASON_TASK_INVALID, Mesos's first line", async () => {
      const id = await launchOn(customExecutor(EXEC, { name: 'another name' }), 'differs');
      await expectStatus(id, INVALID(/^ExecutorInfo is not compatible with existing ExecutorInfo with same ExecutorID\.\n/));
    });

    it('then SHUTDOWN of the executor: its task TASK_KILLED, its address released, nothing left', async () => {
      const running = await s.waitForState(anchor, 'TASK_RUNNING');
      await s.shutdownExecutor(running.agentId!.value!, EXEC);
      await s.waitForState(anchor, 'TASK_KILLED', 30_000);
      await checkClean('the executor API cases');
    });
  });
});
