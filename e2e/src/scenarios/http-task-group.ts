// The pod of task-group.ts, launched through the master's v1 scheduler HTTP API alone, as a
// framework written for Mesos launches it (cluster.e2e.ts runs this scenario): plain JSON over
// HTTP, every call written by hand in Mesos's v1 JSON (proto field names, enums by name). SUBSCRIBE
// opens the RecordIO event stream; ACCEPT with a LAUNCH_GROUP operation starts the default
// executor on ippc-bridge and its two tasks (`back` serves on 127.0.0.1:8080 only, `front` reads it
// over localhost and serves on port 80 of the pod's address); every update is ACKNOWLEDGEd; a plain
// LAUNCH on another agent probes `front`; KILL ends the group; TEARDOWN removes the framework.
// Issue #16, item 6 (a task group from the HTTP scheduler API).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { call, JSON_TYPE, openStream, type Stream } from '@ippc/mesos/testing';
import type { StartedCluster } from '@ippc/testbed';
import { agentApiCall, eventually, probeTask, stateAddresses } from '../support.js';

const BACK = 'mkdir -p www && echo hello-pod-$MESOS_TASK_ID > www/index.html && exec busybox httpd -f -p 127.0.0.1:8080 -h www';
const FRONT = 'for i in $(seq 1 100); do curl -sf -o index.html http://127.0.0.1:8080/ && break; sleep 0.1; done; exec busybox httpd -f -p 80 -h .';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const scalar = (name: string, value: number) => ({ name, type: 'SCALAR', scalar: { value } });
const resources = () => [scalar('cpus', 0.1), scalar('mem', 32)];

/** A framework on `POST /api/v1/scheduler`: its event stream and its calls, in JSON. */
interface V1Framework {
  id: string;
  events: Stream;
  /** POSTs a call (framework id added) and asserts Mesos's 202 Accepted. */
  post(body: Json): Promise<void>;
  /** The first event (from the start of the stream) that `pred` accepts. */
  next(pred: (e: Json) => boolean, what: string, timeoutMs?: number): Promise<Json>;
}

const decode = (r: Buffer): Json => JSON.parse(r.toString('utf8')) as Json;

/** The stream so far, one line per event (updates with their task, state and message), for a failure's message. */
const summary = (events: Stream) =>
  events.records
    .map(decode)
    .map((e) => (e.type === 'UPDATE' ? `UPDATE ${e.update.status.task_id.value} ${e.update.status.state} ${e.update.status.message ?? ''}` : String(e.type)))
    .join('\n');

async function subscribe(c: StartedCluster, name: string): Promise<V1Framework> {
  const url = `${c.master.url}/api/v1/scheduler`;
  const auth = 'token' in c.auth ? { authorization: `Bearer ${c.auth.token}` } : {};
  const headers = { ...auth, 'content-type': JSON_TYPE, accept: JSON_TYPE };
  const framework_info = { user: 'root', name, capabilities: [{ type: 'TASK_KILLING_STATE' }] };
  const events = await openStream(url, JSON.stringify({ type: 'SUBSCRIBE', subscribe: { framework_info } }), headers);
  assert.equal(events.status, 200);
  assert.equal(events.headers['content-type'], 'application/json');
  const streamId = String(events.headers['mesos-stream-id']);
  const next = async (pred: (e: Json) => boolean, what: string, timeoutMs = 30_000) =>
    decode(await events.next((r) => pred(decode(r)), timeoutMs).catch((err: Error) => assert.fail(`${what}: ${err.message}: ${summary(events)}`)));
  const id = (await next((e) => e.type === 'SUBSCRIBED', 'SUBSCRIBED')).subscribed.framework_id.value as string;
  const f: V1Framework = {
    id,
    events,
    next,
    async post(body) {
      const answer = await call(url, JSON.stringify({ framework_id: { value: id }, ...body }), { ...headers, 'mesos-stream-id': streamId });
      assert.equal(answer.status, 202, `${String(body.type)}: ${answer.status} ${answer.body}`);
    },
  };
  return f;
}

/** Every update with a uuid, acknowledged as a Mesos framework must (the agent holds the next one back until then). */
function acknowledgeAll(f: V1Framework): () => void {
  let seen = 0;
  const timer = setInterval(() => {
    for (; seen < f.events.records.length; seen++) {
      const e = decode(f.events.records[seen]!);
      const st = e.type === 'UPDATE' ? e.update.status : undefined;
      if (st?.uuid) void f.post({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: st.agent_id, task_id: st.task_id, uuid: st.uuid } }).catch(() => undefined);
    }
  }, 20);
  return () => clearInterval(timer);
}

const TERMINAL = ['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_ERROR', 'TASK_LOST', 'TASK_DROPPED', 'TASK_GONE'];

/** The task's status in `state`; a terminal status other than it fails at once, with its message. */
async function update(f: V1Framework, taskId: string, state: string, timeoutMs = 60_000): Promise<Json> {
  const e = await f.next(
    (x) => x.type === 'UPDATE' && x.update.status.task_id.value === taskId && (x.update.status.state === state || TERMINAL.includes(x.update.status.state)),
    `${taskId} ${state}`,
    timeoutMs,
  );
  const status = e.update.status as Json;
  assert.equal(status.state, state, `${taskId}: ${status.message ?? ''}`);
  return status;
}

/** An outstanding offer from agent `index` (by hostname). */
const offerFrom = (f: V1Framework, c: StartedCluster, index: number) =>
  f
    .next((e) => e.type === 'OFFERS' && e.offers.offers.some((o: Json) => o.hostname === c.agents[index]!.address), `an offer from agent ${index}`)
    .then((e) => (e.offers.offers as Json[]).find((o) => o.hostname === c.agents[index]!.address)!);

const addresses = (status: Json): string[] =>
  ((status.container_status?.network_infos ?? []) as Json[]).flatMap((n) => ((n.ip_addresses ?? []) as Json[]).map((a) => String(a.ip_address)));

export function httpTaskGroupScenarios(cluster: () => StartedCluster): void {
  describe('a task group (pod) from the v1 scheduler HTTP API, in plain JSON', () => {
    it('SUBSCRIBE, ACCEPT with LAUNCH_GROUP on ippc-bridge: one pod address in every status, localhost inside, port 80 from another agent; KILL, TEARDOWN', async () => {
      const c = cluster();
      const f = await subscribe(c, 'e2e-http-pod');
      const stopAcks = acknowledgeAll(f);
      let tornDown = false;
      try {
        const offer = await offerFrom(f, c, 1);
        const [back, front] = ['back', 'front'].map((name) => `${name}-${randomUUID()}`);
        const task = (id: string, name: string, command: string, agent_id: Json = offer.agent_id) => ({
          name,
          task_id: { value: id },
          agent_id,
          resources: resources(),
          command: { value: command },
        });
        await f.post({
          type: 'ACCEPT',
          accept: {
            offer_ids: [offer.id],
            operations: [
              {
                type: 'LAUNCH_GROUP',
                launch_group: {
                  executor: {
                    type: 'DEFAULT',
                    executor_id: { value: 'http-pod' },
                    framework_id: { value: f.id },
                    // Mesos asks a task group's executor for disk too ("Executor 'x' uses no disk").
                    resources: [...resources(), scalar('disk', 32)],
                    container: { type: 'MESOS', network_infos: [{ name: 'ippc-bridge' }] },
                  },
                  task_group: { tasks: [task(back!, 'back', BACK), task(front!, 'front', FRONT)] },
                },
              },
            ],
            filters: { refuse_seconds: 0 },
          },
        });
        const backRunning = await update(f, back!, 'TASK_RUNNING');
        const frontRunning = await update(f, front!, 'TASK_RUNNING');
        const [ip] = addresses(backRunning).filter((a) => !a.includes(':'));
        assert.ok(ip?.startsWith('10.100.'), `the pod's address on ippc-bridge: ${JSON.stringify(backRunning.container_status)}`);
        for (const st of [backRunning, frontRunning]) {
          assert.equal(st.executor_id.value, 'http-pod');
          assert.equal(st.container_status.network_infos[0].name, 'ippc-bridge');
          assert.deepEqual(addresses(st), addresses(backRunning), `${st.task_id.value} reports the pod's one address`);
        }
        assert.deepEqual(await stateAddresses(c, front!), [ip], '/master/state says the same');
        const pods = ((await agentApiCall(c, 1, { type: 'GET_CONTAINERS' })).get_containers.containers as Json[]).filter(
          (x) => x.executor_id.value === 'http-pod' && !x.container_id.parent,
        );
        assert.equal(pods.length, 1, 'one pod container on the agent');

        // front read back's page over 127.0.0.1 and serves it on the pod address: a plain LAUNCH on agent 0 reaches it.
        const probeOffer = await offerFrom(f, c, 0);
        const probe = `probe-${randomUUID()}`;
        await f.post({
          type: 'ACCEPT',
          accept: {
            offer_ids: [probeOffer.id],
            operations: [
              { type: 'LAUNCH', launch: { task_infos: [task(probe, 'probe', probeTask(`http://${ip}:80/`, `hello-pod-${back}`), probeOffer.agent_id)] } },
            ],
            filters: { refuse_seconds: 0 },
          },
        });
        await update(f, probe, 'TASK_FINISHED', 40_000);

        // KILL of one task ends the group (Mesos's default executor).
        await f.post({ type: 'KILL', kill: { task_id: { value: front }, agent_id: offer.agent_id } });
        await update(f, front!, 'TASK_KILLED', 30_000);
        await update(f, back!, 'TASK_KILLED', 30_000);

        await f.post({ type: 'TEARDOWN' });
        tornDown = true;
        await eventually(async () => ((await c.masterState()).frameworks.some((x) => x.id === f.id) ? undefined : true), 'the framework to be removed');
        await eventually(
          async () =>
            (((await agentApiCall(c, 1, { type: 'GET_CONTAINERS' })).get_containers.containers ?? []) as Json[]).every(
              (x) => x.executor_id.value !== 'http-pod',
            )
              ? true
              : undefined,
          'the pod container to go',
          30_000,
        );
      } finally {
        // A failed run still hands its tasks back for the next scenario.
        if (!tornDown) await f.post({ type: 'TEARDOWN' }).catch(() => undefined);
        stopAcks();
        f.events.close();
      }
    });
  });
}
