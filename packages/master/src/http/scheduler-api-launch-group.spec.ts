import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '@ippc/core';
import { parseResources } from '@ippc/mesos';
import { call as callV1, JSON_TYPE, openStream, type Stream } from '@ippc/mesos/testing';
import { startMaster, type StartedMaster } from '../server.js';
import { FakeAgent } from '../testing/fakes.js';

// LAUNCH_GROUP through the scheduler HTTP API of a real master on loopback, the ACCEPT written by
// hand in Mesos's v1 JSON (proto field names, enums by name) as a framework written for Mesos
// sends it: the agent gets one RunTaskGroup, `/master/state` lists the tasks STAGING under their
// executor; an invalid group answers every task with TASK_ERROR in JSON and takes nothing (first,
// while the agent's resources are all free).

const TOKEN = 'spec-token';

describe('scheduler HTTP API: ACCEPT with LAUNCH_GROUP in JSON', () => {
  let started: StartedMaster;
  let agent: FakeAgent;
  let agentId: string;

  before(async () => {
    started = await startMaster({ port: 0, auth: { token: TOKEN }, log: silentLogger(), allocationIntervalMs: 50 });
    agent = new FakeAgent();
    agentId = started.master.registerAgent(
      { agent: { hostname: 'a1', resources: parseResources('cpus:2;mem:1024;disk:1024'), attributes: [] }, version: 't', pid: 'slave(1)@127.0.0.2:5051' },
      agent,
    );
  });
  after(async () => started?.close());

  const url = () => `${started.url}/api/v1/scheduler`;
  const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': JSON_TYPE, accept: JSON_TYPE };
  const json = (r: Buffer) => JSON.parse(r.toString('utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const ofType = (type: string) => (r: Buffer) => json(r).type === type;

  const scalar = (name: string, value: number) => ({ name, type: 'SCALAR', scalar: { value } });
  const task = (id: string) => ({
    name: id,
    task_id: { value: id },
    agent_id: { value: agentId },
    resources: [scalar('cpus', 0.1), scalar('mem', 32)],
    command: { value: 'sleep 100' },
  });
  const launchGroup = (
    frameworkId: string,
    offerId: object,
    executorId: string,
    tasks: object[],
    executorResources = [scalar('cpus', 0.1), scalar('mem', 32), scalar('disk', 32)],
  ) => ({
    framework_id: { value: frameworkId },
    type: 'ACCEPT',
    accept: {
      offer_ids: [offerId],
      operations: [
        {
          type: 'LAUNCH_GROUP',
          launch_group: {
            executor: {
              type: 'DEFAULT',
              executor_id: { value: executorId },
              framework_id: { value: frameworkId },
              resources: executorResources,
              container: { type: 'MESOS', network_infos: [{ name: 'blue', groups: ['pod'] }] },
            },
            task_group: { tasks },
          },
        },
      ],
      filters: { refuse_seconds: 0 },
    },
  });

  async function subscribe(name: string): Promise<{ s: Stream; frameworkId: string; post: (body: object) => ReturnType<typeof callV1> }> {
    const s = await openStream(url(), JSON.stringify({ type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'root', name } } }), headers);
    const streamId = String(s.headers['mesos-stream-id']);
    const frameworkId = json(await s.next(ofType('SUBSCRIBED'))).subscribed.framework_id.value as string;
    return { s, frameworkId, post: (body) => callV1(url(), JSON.stringify(body), { ...headers, 'mesos-stream-id': streamId }) };
  }

  it('an executor without disk: UPDATE TASK_ERROR REASON_TASK_GROUP_INVALID for every task, nothing to the agent, the offer comes back whole', async () => {
    const { s, frameworkId, post } = await subscribe('pods-bad');
    const offer = json(await s.next(ofType('OFFERS'))).offers.offers[0];
    const before = agent.messages.length;
    const answer = await post(launchGroup(frameworkId, offer.id, 'pod-2', [task('a'), task('b')], [scalar('cpus', 0.1), scalar('mem', 32)]));
    assert.equal(answer.status, 202, answer.body);
    for (const id of ['a', 'b']) {
      const status = json(await s.next((r) => json(r).type === 'UPDATE' && json(r).update.status.task_id.value === id)).update.status;
      assert.equal(status.state, 'TASK_ERROR');
      assert.equal(status.source, 'SOURCE_MASTER');
      assert.equal(status.reason, 'REASON_TASK_GROUP_INVALID');
      assert.equal(status.message, "Executor 'pod-2' uses no disk");
    }
    assert.equal(agent.messages.length, before, 'nothing reaches the agent');
    const again = json(await s.next((r) => json(r).type === 'OFFERS' && json(r).offers.offers[0].id.value !== offer.id.value)).offers.offers[0];
    assert.deepEqual(again.resources, offer.resources, 'the same resources are offered again');
    s.close();
  });

  it('202; one RunTaskGroup with the executor and its network; /master/state lists both tasks STAGING with executor_id', async () => {
    const { s, frameworkId, post } = await subscribe('pods-http');
    const offer = json(await s.next(ofType('OFFERS'))).offers.offers[0];
    const answer = await post(launchGroup(frameworkId, offer.id, 'pod-1', [task('web'), task('sidecar')]));
    assert.equal(answer.status, 202, answer.body);
    const runs = agent.messages.flatMap((m) => (m.message?.$case === 'runTaskGroup' ? [m.message.value] : []));
    assert.equal(runs.length, 1);
    assert.equal(runs[0]!.executor?.container?.networkInfos[0]?.name, 'blue');
    assert.deepEqual(
      runs[0]!.taskGroup?.tasks.map((t) => t.taskId?.value),
      ['web', 'sidecar'],
    );
    const state = (await (await fetch(`${started.url}/master/state`)).json()) as {
      frameworks: { id: string; tasks: { id: string; state: string; executor_id: string }[]; executors: { executor_id: string }[] }[];
    };
    const f = state.frameworks.find((x) => x.id === frameworkId)!;
    assert.deepEqual(f.tasks.map((t) => [t.id, t.state, t.executor_id]).sort(), [
      ['sidecar', 'TASK_STAGING', 'pod-1'],
      ['web', 'TASK_STAGING', 'pod-1'],
    ]);
    assert.deepEqual(
      f.executors.map((e) => e.executor_id),
      ['pod-1'],
    );
    s.close();
  });
});
