import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { clientOptions } from '@ippc/core';
import { schedulerv1, TaskState, TaskStatus_Reason, TaskStatus_Source, type Offer, type TaskStatus } from '@ippc/proto';
import { formatResources, rangesContain, rangesOf, type MasterStateJson } from '@ippc/mesos';
import { connectScheduler, watchMasterState, type Scheduler } from '@ippc/scheduler';
import { AGENT_BIN, eventually, getJson, MASTER_BIN, run, waitForLog, type RunningProcess } from './testing/processes.js';
import { VALIDATION_CASES } from './testing/validation-cases.js';

// The control plane as it runs: a real master and two real agents (processes on loopback, agent IPs
// 127.0.0.2 and 127.0.0.3, ports 31000-31049 and 31050-31099), frameworks over gRPC with the
// shared secret, host-network tasks through the Mesos containerizer.

const AGENTS = [
  { name: 'a1', ip: '127.0.0.2', ports: '[31000-31049]' },
  { name: 'a2', ip: '127.0.0.3', ports: '[31050-31099]' },
];

interface AgentProc {
  name: string;
  ip: string;
  ports: string;
  proc: RunningProcess;
  url: string;
  args: string[];
}

let dir: string;
let token: string;
let tokenFile: string;
let master: RunningProcess;
let masterAddress: string;
let masterUrl: string;
const agents = new Map<string, AgentProc>();
const schedulers: Scheduler[] = [];
const taskPids = new Set<number>();

function agentArgs(a: { name: string; ip: string; ports: string }): string[] {
  return [
    `--master=${masterAddress}`,
    `--ip=${a.ip}`,
    '--port=0',
    `--work_dir=${join(dir, a.name)}`,
    `--runtime_dir=${join(dir, a.name, 'run')}`,
    `--resources=cpus:2;mem:1024;ports:${a.ports}`,
    `--token_file=${tokenFile}`,
    '--executor_shutdown_grace_period=2secs',
  ];
}

async function startAgentProc(a: { name: string; ip: string; ports: string }): Promise<AgentProc> {
  const args = agentArgs(a);
  const proc = run(AGENT_BIN, args, join(dir, `${a.name}.log`));
  const before = proc.log().length;
  const m = await waitForLog(proc, /"url":"(http:\/\/[0-9.]+:\d+)"[^\n]*"msg":"agent listening"/, 30_000, before);
  const entry = { ...a, proc, url: m[1]!, args };
  agents.set(a.name, entry);
  return entry;
}

const state = () => getJson<MasterStateJson>(`${masterUrl}/master/state`);

async function scheduler(name: string, extra: Partial<Parameters<typeof connectScheduler>[0]['framework']> = {}): Promise<Scheduler> {
  const s = await connectScheduler({ master: masterAddress, auth: { token }, framework: { name, ...extra } });
  schedulers.push(s);
  return s;
}

const offerOn = (s: Scheduler, ip: string, pred: (o: Offer) => boolean = () => true) =>
  s.awaitOffers({ filter: (o) => o.url?.address?.ip === ip && pred(o), timeoutMs: 20_000 }).then((os) => os[0]!);

function remember(status: TaskStatus): void {
  if (status.containerStatus?.executorPid) taskPids.add(status.containerStatus.executorPid);
}

describe('control plane: a master and two agents on loopback', () => {
  before(async () => {
    dir = mkdtempSync('/tmp/cp-');
    token = randomBytes(24).toString('hex');
    tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, token, { mode: 0o600 });
    master = run(MASTER_BIN, ['--ip=127.0.0.1', '--port=0', `--token_file=${tokenFile}`, '--allocation_interval=200ms'], join(dir, 'master.log'));
    const m = await waitForLog(master, /"address":"(127\.0\.0\.1:\d+)"[^\n]*"msg":"master ready"/);
    masterAddress = m[1]!;
    masterUrl = `http://${masterAddress}`;
    for (const a of AGENTS) await startAgentProc(a);
    await eventually(async () => ((await state()).activated_slaves === 2 ? true : undefined), 'both agents to register');
  });

  // A framework holds its offers until it declines them or goes away; each test's frameworks go.
  afterEach(async () => {
    for (const s of schedulers.splice(0)) await s.close().catch(() => undefined);
  });

  after(async () => {
    for (const s of schedulers) await s.close().catch(() => undefined);
    // Agents kill their tasks on SIGUSR1 (Mesos: shut down for good); then everything goes.
    for (const a of agents.values()) a.proc.proc.kill('SIGUSR1');
    await Promise.race([Promise.all([...agents.values()].map((a) => a.proc.exited)), new Promise((r) => setTimeout(r, 8000))]);
    for (const a of agents.values()) a.proc.proc.kill('SIGKILL');
    master?.proc.kill('SIGKILL');
    // Whatever a failed test left running.
    for (const a of AGENTS) {
      const root = join(dir, a.name, 'run', 'containers');
      for (const id of existsSync(root) ? readdirSync(root) : []) {
        try {
          taskPids.add(JSON.parse(readFileSync(join(root, id, 'pid'), 'utf8')).pid);
        } catch {
          /* no pid */
        }
      }
    }
    for (const pid of taskPids) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs host-network tasks on both agents, reports the agent IPs, serves them on offered ports, and returns the ports after a kill', async () => {
    const s = await scheduler('mixed-mode');
    const launched: { ip: string; taskId: string; port: number }[] = [];
    for (const a of AGENTS) {
      const offer = await offerOn(s, a.ip);
      assert.equal(
        formatResources(offer.resources),
        `cpus(allocated: *):2; mem(allocated: *):1024; ports(allocated: *):${a.ports}; disk(allocated: *):10240`,
        'disk is the default Mesos adds',
      );
      const task = s.taskFromOffer(offer, {
        name: `web-${a.name}`,
        command: `exec ${process.execPath} -e "require('net').createServer((c) => c.end('hello from ' + process.env.MESOS_TASK_ID)).listen(+process.env.PORT0, process.env.HOST)"`,
        ports: 1,
      });
      await s.launch(offer, [task], { refuseSeconds: 0 });
      launched.push({ ip: a.ip, taskId: task.taskId!.value!, port: Number(task.resources.find((r) => r.name === 'ports')!.ranges!.range[0]!.begin) });
    }
    for (const t of launched) {
      const running = await s.waitForState(t.taskId, 'TASK_RUNNING', 30_000);
      remember(running);
      assert.deepEqual(
        running.containerStatus?.networkInfos.map((n) => n.ipAddresses.map((ip) => ip.ipAddress)),
        [[t.ip]],
        'a task without network_infos reports the agent IP',
      );
      const starting = s.statuses.get(t.taskId)!.find((x) => x.state === TaskState.TASK_STARTING);
      assert.equal(starting?.containerStatus?.networkInfos[0]?.ipAddresses[0]?.ipAddress, t.ip);
      // Mixed mode for real: the task binds its offered port on the agent's address.
      const reply = await eventually(
        () =>
          new Promise<string | undefined>((resolve) => {
            const c = connect(t.port, t.ip);
            let text = '';
            c.on('data', (d) => (text += d));
            c.on('end', () => resolve(text));
            c.on('error', () => resolve(undefined));
          }),
        `the task on ${t.ip}:${t.port}`,
      );
      assert.equal(reply, `hello from ${t.taskId}`);
    }

    const st = await state();
    assert.deepEqual(st.slaves.map((a) => a.pid.replace(/:\d+$/, '')).sort(), ['slave(1)@127.0.0.2', 'slave(1)@127.0.0.3']);
    const ips = st.frameworks.flatMap((f) =>
      f.tasks.flatMap((t) =>
        t.statuses.flatMap((x) => x.container_status?.network_infos?.flatMap((n) => n.ip_addresses?.map((ip) => ip.ip_address) ?? []) ?? []),
      ),
    );
    assert.deepEqual(
      [...new Set(ips)].sort(),
      ['127.0.0.2', '127.0.0.3'],
      'frameworks[].tasks[].statuses[].container_status.network_infos[].ip_addresses[].ip_address',
    );
    const task0 = st.frameworks[0]!.tasks.find((t) => t.id === launched[0]!.taskId)!;
    assert.equal(task0.state, 'TASK_RUNNING');
    assert.deepEqual(
      task0.statuses.map((x) => x.state),
      ['TASK_STARTING', 'TASK_RUNNING'],
    );
    assert.deepEqual(Object.keys(task0.statuses[1]!).sort(), ['container_status', 'state', 'timestamp']);
    assert.equal(task0.resources.ports, `[${launched[0]!.port}-${launched[0]!.port}]`);
    // The agent's own state has the same model.
    const a1 = await getJson<{
      frameworks: {
        executors: { tasks: { statuses: { container_status?: { network_infos?: { ip_addresses?: { ip_address?: string; protocol: string }[] }[] } }[] }[] }[];
      }[];
    }>(`${agents.get('a1')!.url}/state`);
    assert.deepEqual(a1.frameworks[0]!.executors[0]!.tasks[0]!.statuses[1]!.container_status!.network_infos![0]!.ip_addresses, [
      { protocol: 'IPv4', ip_address: '127.0.0.2' },
    ]);

    for (const t of launched) {
      await s.kill(t.taskId);
      const killed = await s.waitForState(t.taskId, 'TASK_KILLED', 20_000);
      assert.equal(killed.source, TaskStatus_Source.SOURCE_EXECUTOR);
      assert.equal(killed.message, 'Command terminated with signal Terminated');
    }
    for (const t of launched) {
      const back = await offerOn(s, t.ip, (o) => rangesContain(rangesOf(o.resources, 'ports'), [{ begin: t.port, end: t.port }]));
      assert.ok(back, `port ${t.port} is offered again on ${t.ip}`);
    }
    const after = await eventually(async () => {
      const x = await state();
      return x.frameworks[0]!.tasks.length === 0 ? x : undefined;
    }, 'the killed tasks to complete');
    assert.deepEqual(
      after.frameworks[0]!.completed_tasks.map((t) => t.state),
      ['TASK_KILLED', 'TASK_KILLED'],
    );
  });

  it('keeps a running task across an agent restart (kill -9), with its status', async () => {
    const s = await scheduler('restart');
    const offer = await offerOn(s, '127.0.0.2');
    const task = s.taskFromOffer(offer, { name: 'survivor', command: 'echo $$ > pid; exec sleep 600', ports: 1 });
    await s.launch(offer, [task], { refuseSeconds: 0 });
    const taskId = task.taskId!.value!;
    const running = await s.waitForState(taskId, 'TASK_RUNNING', 30_000);
    remember(running);
    const pid = running.containerStatus!.executorPid!;
    const a1 = agents.get('a1')!;
    a1.proc.proc.kill('SIGKILL');
    await a1.proc.exited;
    assert.doesNotThrow(() => process.kill(pid, 0), 'the task outlives its agent');
    await eventually(
      async () => ((await state()).slaves.find((x) => x.pid.includes('127.0.0.2'))?.active === false ? true : undefined),
      'the master to see the agent gone',
    );

    const again = await startAgentProc(AGENTS[0]!);
    await waitForLog(again.proc, /re-registered with the master/);
    const st = await eventually(async () => {
      const x = await state();
      const agent = x.slaves.find((y) => y.pid.includes('127.0.0.2'));
      return agent?.active && agent.reregistered_time ? x : undefined;
    }, 'the agent to re-register');
    const t = st.frameworks.find((f) => f.name === 'restart')!.tasks.find((x) => x.id === taskId)!;
    assert.equal(t.state, 'TASK_RUNNING');
    assert.deepEqual(
      t.statuses.map((x) => x.state),
      ['TASK_STARTING', 'TASK_RUNNING'],
    );
    assert.equal(t.statuses[1]!.container_status?.network_infos?.[0]?.ip_addresses?.[0]?.ip_address, '127.0.0.2');
    const agentState = await getJson<{ frameworks: { name: string; executors: { tasks: { id: string; state: string }[] }[] }[] }>(`${again.url}/state`);
    assert.equal(agentState.frameworks.find((f) => f.name === 'restart')!.executors[0]!.tasks[0]!.state, 'TASK_RUNNING');
    assert.doesNotThrow(() => process.kill(pid, 0), 'still running');
    assert.equal(
      readFileSync(
        join(
          dir,
          'a1',
          'slaves',
          st.slaves.find((y) => y.pid.includes('127.0.0.2'))!.id,
          'frameworks',
          t.framework_id,
          'executors',
          taskId,
          'runs',
          readdirSync(
            join(dir, 'a1', 'slaves', st.slaves.find((y) => y.pid.includes('127.0.0.2'))!.id, 'frameworks', t.framework_id, 'executors', taskId, 'runs'),
          )[0]!,
          'pid',
        ),
        'utf8',
      ).trim(),
      String(pid),
    );

    // The restarted agent is in charge: a kill goes through it.
    await s.kill(taskId);
    const killed = await s.waitForState(taskId, 'TASK_KILLED', 20_000);
    assert.equal(killed.message, 'Command terminated with signal Terminated');
    await eventually(() => {
      try {
        process.kill(pid, 0);
        return undefined;
      } catch {
        return true;
      }
    }, 'the task process to end');
  });

  it("answers each of Mesos's task validation failures with TASK_ERROR, SOURCE_MASTER, REASON_TASK_INVALID and the verbatim message", async () => {
    const s = await scheduler('validation');
    const frameworkId = s.frameworkId!;
    for (const c of VALIDATION_CASES) {
      const offer = await offerOn(s, '127.0.0.3');
      const ids = { agentId: offer.agentId!.value!, frameworkId, offered: formatResources(offer.resources) };
      const base = s.taskFromOffer(offer, { name: 'bad', id: `bad-${VALIDATION_CASES.indexOf(c)}`, command: 'true' });
      const task = c.mutate(base, ids);
      await s.launch(offer, [task], { refuseSeconds: 0 });
      const status = await s.waitForState(task.taskId?.value ?? '', 'TASK_ERROR', 10_000);
      assert.equal(status.source, TaskStatus_Source.SOURCE_MASTER, c.name);
      assert.equal(status.reason, TaskStatus_Reason.REASON_TASK_INVALID, c.name);
      assert.equal(status.message, typeof c.message === 'string' ? c.message : c.message(ids), c.name);
    }
    const st = await state();
    assert.equal(st.frameworks.find((f) => f.name === 'validation')!.tasks.length, 0, 'no invalid task was kept');
  });

  it('refuses bad input with Mesos statuses or clear gRPC errors and keeps serving', async () => {
    const a = await scheduler('owner');
    const offer = await offerOn(a, '127.0.0.3');
    const foreign = await offerOn(a, '127.0.0.2');
    const b = await scheduler('intruder');
    const task = a.taskFromOffer(offer, { name: 'mine', command: 'exec sleep 600' });
    await a.launch(offer, [task], { refuseSeconds: 0 });
    remember(await a.waitForState(task.taskId!.value!, 'TASK_RUNNING', 30_000));

    // Someone else's offer: TASK_LOST, REASON_INVALID_OFFERS.
    const stolen = b.taskFromOffer(foreign, { name: 'stolen', command: 'true' });
    await b.send({ type: schedulerv1.Call_Type.ACCEPT, accept: { offerIds: [foreign.id!], operations: [{ type: 1, launch: { taskInfos: [stolen] } }] } });
    const lost = await b.waitForState(stolen.taskId!.value!, 'TASK_LOST', 10_000);
    assert.equal(lost.reason, TaskStatus_Reason.REASON_INVALID_OFFERS);
    assert.equal(
      lost.message,
      `Task launched with invalid offers: Offer ${foreign.id!.value} has invalid framework ${a.frameworkId} while framework ${b.frameworkId} is expected`,
    );

    // Killing or reading another framework's task: it is unknown to that framework.
    await b.kill(task.taskId!.value!);
    const notYours = await b.waitForState(task.taskId!.value!, 'TASK_LOST', 10_000);
    assert.equal(notYours.message, 'Reconciliation: Task is unknown');
    await b.reconcile([{ taskId: task.taskId!.value! }]);
    await a.reconcile();
    const latest = await eventually(
      () => a.statuses.get(task.taskId!.value!)!.find((x) => x.reason === TaskStatus_Reason.REASON_RECONCILIATION),
      'implicit reconciliation',
    );
    assert.equal(latest.state, TaskState.TASK_RUNNING);
    assert.equal(latest.containerStatus?.networkInfos[0]?.ipAddresses[0]?.ipAddress, '127.0.0.3');
    assert.equal((await state()).frameworks.find((f) => f.name === 'owner')!.tasks[0]!.state, 'TASK_RUNNING', 'the task lives on');

    // Clear gRPC errors.
    const client = new schedulerv1.SchedulerClient(masterAddress, grpc.credentials.createInsecure(), clientOptions({ token }));
    const send = (call: schedulerv1.Call, md = new grpc.Metadata()) =>
      new Promise<grpc.ServiceError | undefined>((resolve) => client.send(call, md, (err) => resolve(err ?? undefined)));
    const unknown = await send({ type: schedulerv1.Call_Type.REVIVE, frameworkId: { value: 'nobody-0000' } } as schedulerv1.Call);
    assert.equal(unknown?.code, grpc.status.NOT_FOUND);
    assert.match(unknown!.details, /nobody-0000 is unknown/);
    const md = new grpc.Metadata();
    md.set('mesos-stream-id', 'not-the-stream');
    const wrongStream = await send(
      { type: schedulerv1.Call_Type.KILL, frameworkId: { value: a.frameworkId! }, kill: { taskId: task.taskId } } as schedulerv1.Call,
      md,
    );
    assert.equal(wrongStream?.code, grpc.status.PERMISSION_DENIED);
    const malformed = await send({ type: schedulerv1.Call_Type.ACCEPT, frameworkId: { value: a.frameworkId! } } as schedulerv1.Call);
    assert.equal(malformed?.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(malformed?.details, "Expecting 'accept' to be present");
    client.close();
    // Bytes that are not a Call at all.
    const raw = new grpc.Client(masterAddress, grpc.credentials.createInsecure(), clientOptions({ token }));
    const garbage = await new Promise<grpc.ServiceError | undefined>((resolve) =>
      raw.makeUnaryRequest(
        '/ippc.master.v1.Scheduler/Send',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from([0xff, 0xff, 0xff, 0x0f, 0x01]),
        (err) => resolve(err ?? undefined),
      ),
    );
    raw.close();
    assert.ok(garbage && garbage.code !== grpc.status.OK, 'a malformed message is refused');

    // Without the shared secret, or with a wrong one: refused.
    const intruder = new schedulerv1.SchedulerClient(masterAddress, grpc.credentials.createInsecure(), clientOptions({ token: 'wrong' }));
    const refused = await new Promise<grpc.ServiceError>((resolve) => {
      const stream = intruder.subscribe({
        type: schedulerv1.Call_Type.SUBSCRIBE,
        subscribe: { frameworkInfo: { user: 'x', name: 'x', capabilities: [], roles: [] } },
      });
      stream.on('error', resolve);
      stream.on('data', () => undefined);
    });
    intruder.close();
    assert.equal(refused.code, grpc.status.UNAUTHENTICATED);
    writeFileSync(join(dir, 'wrong-token'), 'not-the-token');
    const rogue = run(
      AGENT_BIN,
      [
        ...agentArgs({ name: 'rogue', ip: '127.0.0.4', ports: '[31900-31909]' }).filter((x) => !x.startsWith('--token_file')),
        `--token_file=${join(dir, 'wrong-token')}`,
      ],
      join(dir, 'rogue.log'),
    );
    const code = await Promise.race([rogue.exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 30_000))]);
    if (code === 'timeout') rogue.proc.kill('SIGKILL');
    assert.equal(code, 1, rogue.log().slice(-500));
    assert.match(rogue.log(), /refused the agent's credentials/);
    assert.equal((await state()).slaves.length, 2, 'the rogue agent never joined');

    // And the master keeps serving.
    const health = await getJson<{ status: string }>(`${masterUrl}/health`);
    assert.equal(health.status, 'ok');
    const metrics = await (await fetch(`${masterUrl}/metrics`)).text();
    assert.match(metrics, /ippc_master_invalid_calls_total\{call="ACCEPT"[^}]*\} [1-9]/);
    assert.match(metrics, /ippc_master_agents\{state="connected"[^}]*\} 2/);
    await a.kill(task.taskId!.value!);
    await a.waitForState(task.taskId!.value!, 'TASK_KILLED', 20_000);
  });

  it('answers a long poll of /master/state when the state changes', async () => {
    // Let the previous tests' aftermath settle: a poll that times out means a quiet master.
    let version = -1;
    for (let i = 0; i < 10; i++) {
      const first = await fetch(`${masterUrl}/master/state`, { signal: AbortSignal.timeout(10_000) });
      version = Number(first.headers.get('ippc-state-version'));
      assert.ok(Number.isInteger(version));
      const idle = Date.now();
      const quiet = await fetch(`${masterUrl}/master/state?since=${version}&timeout=1`, { signal: AbortSignal.timeout(10_000) });
      if (Number(quiet.headers.get('ippc-state-version')) === version) {
        assert.ok(Date.now() - idle >= 900, 'an unchanged state is answered at the timeout');
        break;
      }
    }
    // A framework subscribes: the poll answers at once with the new state.
    const t0 = Date.now();
    const waiting = fetch(`${masterUrl}/master/state?since=${version}&timeout=20`, { signal: AbortSignal.timeout(30_000) });
    const trigger = new Promise((r) => setTimeout(r, 300)).then(() => scheduler('watcher-trigger'));
    const res = await waiting;
    await trigger;
    assert.ok(Number(res.headers.get('ippc-state-version')) > version);
    assert.ok(Date.now() - t0 < 10_000, 'answered on the change, not at the timeout');
    const body = (await res.json()) as MasterStateJson;
    assert.ok(body.frameworks.some((f) => f.name === 'watcher-trigger'));

    // The library's watcher follows the same long poll.
    const stop = new AbortController();
    const seen = new Promise<void>((resolve) => {
      void watchMasterState(masterUrl, (st) => (st.frameworks.some((f) => f.name === 'watched') ? resolve() : undefined), {
        signal: stop.signal,
        timeoutSeconds: 5,
      });
    });
    await scheduler('watched');
    await Promise.race([seen, new Promise((_, reject) => setTimeout(() => reject(new Error('the watcher did not see the new framework')), 10_000))]);
    stop.abort();
  });
});
