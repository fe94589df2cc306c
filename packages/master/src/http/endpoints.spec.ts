import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '@ippc/core';
import { allocateResources, parseResources } from '@ippc/mesos';
import { Offer_Operation_Type, schedulerv1, TaskState, TaskStatus_Source, type Offer } from '@ippc/proto';
import type { AgentConnection, FrameworkConnection } from '../master.js';
import { startMaster, type StartedMaster } from '../server.js';

// The read-only endpoints Mesos tools read, on a real master on loopback: `/master/tasks` with its
// query, the aliases without `/master`, a trailing slash, `/version`, `/metrics/snapshot`.

class Sink implements AgentConnection, FrameworkConnection {
  messages: unknown[] = [];
  send(m: unknown): void {
    this.messages.push(m);
  }
  close(): void {}
}

describe('master read-only endpoints', () => {
  let started: StartedMaster;
  let frameworkId: string;
  let agentId: string;

  before(async () => {
    started = await startMaster({ port: 0, auth: { disabled: true }, log: silentLogger(), allocationIntervalMs: 20 });
    const m = started.master;
    const agent = new Sink();
    agentId = m.registerAgent(
      { agent: { hostname: 'a1', resources: parseResources('cpus:4;mem:1024'), attributes: [] }, version: 't', pid: 'slave(1)@127.0.0.2:5051' },
      agent,
    );
    const fw = new Sink();
    const sub = m.subscribe(
      { type: schedulerv1.Call_Type.SUBSCRIBE, subscribe: { frameworkInfo: { user: 'root', name: 'fw', capabilities: [], roles: [] } } },
      fw,
    );
    frameworkId = sub.frameworkId;
    const offer = await waitForOffer(fw);
    const task = (id: string) => ({
      name: id,
      taskId: { value: id },
      agentId: { value: agentId },
      resources: allocateResources(parseResources('cpus:0.1;mem:32'), '*'),
      command: { value: 'sleep 100', uris: [], arguments: [] },
      limits: {},
    });
    m.handleCall(
      {
        type: schedulerv1.Call_Type.ACCEPT,
        frameworkId: { value: frameworkId },
        accept: { offerIds: [offer.id!], operations: [{ type: Offer_Operation_Type.LAUNCH, launch: { taskInfos: ['t1', 't2', 't3'].map(task) } }] },
      },
      sub.streamId,
    );
    // t2 starts first, then t3, then t1 (first status timestamps 10, 20, 30).
    const up = (id: string, state: TaskState, timestamp: number) =>
      m.statusUpdate(agentId, agent, {
        frameworkId: { value: frameworkId },
        status: { taskId: { value: id }, state, source: TaskStatus_Source.SOURCE_EXECUTOR, uuid: Buffer.alloc(16, timestamp), timestamp },
      });
    up('t2', TaskState.TASK_RUNNING, 10);
    up('t3', TaskState.TASK_RUNNING, 20);
    up('t1', TaskState.TASK_RUNNING, 30);
    up('t3', TaskState.TASK_FINISHED, 40);
  });
  after(async () => started?.close());

  const get = async (path: string) => {
    const res = await fetch(`${started.url}${path}`);
    return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  const ids = (body: { tasks: { id: string }[] }) => body.tasks.map((t) => t.id);

  it('/master/tasks: newest first, order=asc, offset and limit, framework_id and task_id, Mesos task JSON', async () => {
    assert.deepEqual(ids((await get('/master/tasks')).body as never), ['t1', 't3', 't2']);
    assert.deepEqual(ids((await get('/master/tasks?order=asc')).body as never), ['t2', 't3', 't1']);
    assert.deepEqual(ids((await get('/master/tasks?order=asc&offset=1&limit=1')).body as never), ['t3']);
    assert.deepEqual(ids((await get('/master/tasks?limit=oops')).body as never), ['t1', 't3', 't2'], 'a limit that is not a number is ignored, as in Mesos');
    assert.deepEqual(ids((await get(`/master/tasks?framework_id=${frameworkId}&task_id=t2`)).body as never), ['t2']);
    assert.deepEqual(ids((await get('/master/tasks?framework_id=other')).body as never), []);
    const t3 = (await get('/tasks?task_id=t3')).body.tasks[0];
    assert.deepEqual([t3.state, t3.framework_id, t3.slave_id], ['TASK_FINISHED', frameworkId, agentId]);
    assert.deepEqual(
      t3.statuses.map((s: { state: string }) => s.state),
      ['TASK_RUNNING', 'TASK_FINISHED'],
    );
  });

  it('answers without the /master prefix and with a trailing slash', async () => {
    for (const path of ['/frameworks', '/master/frameworks/', '/slaves', '/master/slaves/', '/master/state/', '/state/']) {
      const r = await get(path);
      assert.equal(r.status, 200, path);
    }
    assert.equal((await get('/slaves')).body.slaves[0].id, agentId);
    assert.equal((await get('/frameworks')).body.frameworks[0].id, frameworkId);
  });

  it('/master/redirect answers 307 to the leading master, protocol-relative, as Mesos does', async () => {
    for (const path of ['/master/redirect', '/redirect']) {
      const res = await fetch(`${started.url}${path}`, { redirect: 'manual' });
      assert.equal(res.status, 307, path);
      assert.equal(res.headers.get('location'), `//${started.master.hostname}:${started.port}`);
    }
  });

  it('/version and /metrics/snapshot with the Mesos names that apply', async () => {
    const v = (await get('/version')).body;
    assert.equal(v.version, (await get('/master/state')).body.version);
    const m = (await get('/metrics/snapshot')).body;
    assert.equal(m['master/elected'], 1);
    assert.equal(m['master/slaves_active'], 1);
    assert.equal(m['master/frameworks_connected'], 1);
    assert.equal(m['master/tasks_running'], 2);
    assert.equal(m['master/tasks_finished'], 1);
    assert.equal(m['master/tasks_staging'], 0);
    assert.equal(m['master/cpus_total'], 4);
    assert.ok(Math.abs(m['master/cpus_used'] - 0.2) < 1e-9, String(m['master/cpus_used']));
    assert.ok(m['master/uptime_secs'] >= 0);
    assert.ok(
      Object.keys(m).every((k) => /^(master|system)\/[a-z_0-9]+$/.test(k)),
      Object.keys(m).join(),
    );
  });
});

async function waitForOffer(fw: Sink): Promise<Offer> {
  const end = Date.now() + 3000;
  for (;;) {
    const e = fw.messages.find((x) => (x as schedulerv1.Event).type === schedulerv1.Event_Type.OFFERS) as schedulerv1.Event | undefined;
    if (e) return e.offers!.offers[0]!;
    if (Date.now() > end) throw new Error('no offer within 3 s');
    await new Promise((r) => setTimeout(r, 20));
  }
}
