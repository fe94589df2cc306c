// Executor recovery on the shared e2e cluster (cluster.e2e.ts runs these scenarios), as Mesos's
// agent recovers executors (slave.cpp `_recover`, `reregisterExecutorTimeout`, `executorTerminated`):
// after a kill -9 of the agent, a custom executor (shell-executor.mjs, which reconnects as Mesos's
// executor library does) subscribes again within the agent's executor re-registration timeout
// (2secs) and a pod is adopted by the agent that plays its default executor; every task runs on, on
// the same address, in the same container, its address still leased (no CNI DEL). An executor that
// does not come back (hung) is destroyed and its tasks are TASK_GONE with
// REASON_EXECUTOR_REREGISTRATION_TIMEOUT; an executor or a pod holder killed while the agent was
// down is found ended on recovery and its tasks fail with REASON_EXECUTOR_TERMINATED. Either way
// the master forgets the executor (FAILURE for the one destroyed after the timeout), the container,
// its processes and its network namespace go, and its address can be had again. Issue #16, item 5.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TaskState, TaskStatus_Reason, TaskStatus_Source, type TaskStatus } from '@ippc/proto';
import type { Scheduler, SchedulerEvent } from '@ippc/scheduler';
import { PATHS, type StartedCluster } from '@ippc/testbed';
import { agentApiCall, eventually, ipOf, launchOn, net, probeTask, serve, stateAddresses, withFramework } from '../support.js';
import { shellExecutor } from './custom-executor.js';
import { BACK, FRONT } from './task-group.js';

type Container = { executor_id: { value: string }; container_id: { value: string }; container_status?: { executor_pid?: number } };
const containersOf = async (c: StartedCluster, agent: number): Promise<Container[]> =>
  ((await agentApiCall(c, agent, { type: 'GET_CONTAINERS' })).get_containers.containers ?? []) as Container[];
const containerOf = async (c: StartedCluster, agent: number, executorId: string): Promise<Container | undefined> =>
  (await containersOf(c, agent)).find((x) => x.executor_id.value === executorId);

/** Every event the framework hears, from now on. */
function record(s: Scheduler): SchedulerEvent[] {
  const events: SchedulerEvent[] = [];
  s.on((e) => events.push(e));
  return events;
}
const updates = (events: SchedulerEvent[], from = 0): TaskStatus[] => events.slice(from).flatMap((e) => (e.type === 'UPDATE' ? [e.status] : []));

/** A pod (task group) of BACK and FRONT on agent `index`, on ippc-bridge; resolves with its task ids. */
async function launchPod(s: Scheduler, c: StartedCluster, index: number, id: string): Promise<string[]> {
  const [offer] = await s.awaitOffers({ filter: (o) => o.hostname === c.agents[index]!.address, timeoutMs: 20_000 });
  const { executor, tasks } = s.groupFromOffer(offer!, {
    executor: { id, networks: [net('ippc-bridge')] },
    tasks: [
      { name: `${id}-back`, command: BACK },
      { name: `${id}-front`, command: FRONT },
    ],
  });
  await s.launchGroup(offer!, executor, tasks, { refuseSeconds: 0 });
  return tasks.map((t) => t.taskId!.value!);
}

/** A task on agent `index` that asks for `ip` on ippc-bridge: TASK_RUNNING if the address is free, TASK_FAILED if it is leased. */
async function askFor(s: Scheduler, c: StartedCluster, index: number, name: string, ip: string): Promise<TaskStatus> {
  const t = await launchOn(s, c, index, { name, networks: [net('ippc-bridge', { ipAddresses: [{ ipAddress: ip }] })] });
  return s.waitForState(t.id, ['TASK_RUNNING', 'TASK_FAILED'], 30_000);
}

/** Whether the container's network namespace checkpoint (`<cni root>/<container id>`, its `ns` bind mount) is on the agent. */
async function hasNetns(c: StartedCluster, index: number, containerId: string): Promise<boolean> {
  return (await c.agents[index]!.exec(['test', '-e', `${PATHS.agentWorkDir}/run/isolators/network/cni/${containerId}/ns`])).exitCode === 0;
}

/**
 * After the agent dropped an executor: the master forgot it (its resources are free), the container,
 * its process and its network namespace are gone, and its address can be had again. `failure`: the
 * framework heard FAILURE. Mesos's agent sends it for an executor it destroys once running (the
 * re-registration timeout), not for one it finds dead while it recovers: it has no master then, and
 * re-registers without the executor, so the master just forgets it.
 */
async function assertCleanedUp(
  s: Scheduler,
  c: StartedCluster,
  events: SchedulerEvent[],
  index: number,
  gone: { executorId: string; container: Container; ip: string; failure: boolean },
): Promise<void> {
  const { executorId, container, ip } = gone;
  if (gone.failure) await eventually(async () => events.find((e) => e.type === 'FAILURE' && e.executorId === executorId), `FAILURE for ${executorId}`, 30_000);
  await eventually(
    async () => {
      const f = (await c.masterState()).frameworks.find((x) => x.id === s.frameworkId);
      return ((f?.executors ?? []) as { id: string }[]).some((e) => e.id === executorId) ? undefined : true;
    },
    `the master to forget ${executorId}`,
    30_000,
  );
  await eventually(async () => ((await containerOf(c, index, executorId)) ? undefined : true), `the container of ${executorId} to go`, 30_000);
  const pid = container.container_status?.executor_pid;
  assert.ok(pid, `the executor's pid in GET_CONTAINERS: ${JSON.stringify(container)}`);
  assert.notEqual((await c.agents[index]!.exec(['kill', '-0', String(pid)])).exitCode, 0, `the executor process ${pid} is gone`);
  assert.equal(await hasNetns(c, index, container.container_id.value), false, 'its network namespace is gone');
  const again = await askFor(s, c, index, `again-${executorId}`, ip);
  assert.equal(TaskState[again.state!], 'TASK_RUNNING', `the address ${ip} was released: ${again.message}`);
  assert.equal(ipOf(again), ip);
}

export function executorRecoveryScenarios(cluster: () => StartedCluster): void {
  describe('executor recovery after an agent restart (Mesos: recover, re-subscribe, reregisterExecutorTimeout)', () => {
    it('a custom executor re-subscribes and a pod is adopted: every task runs on, on its address, in its container, still leased', async () => {
      const c = cluster();
      await withFramework(c, 'e2e-exrec', async (s) => {
        const events = record(s);
        const executor = shellExecutor(s.frameworkId!, 'rec-ex');
        const web = await launchOn(s, c, 1, { name: 'rec-web', executor, data: serve(80) });
        const api = await launchOn(s, c, 1, { name: 'rec-api', executor, data: serve(8080) });
        const [back, front] = await launchPod(s, c, 1, 'rec-pod');
        const ids = [web.id, api.id, back!, front!];
        const ips = (await Promise.all(ids.map((id) => s.waitForState(id, 'TASK_RUNNING', 60_000)))).map(ipOf);
        const [exIp, podIp] = [ips[0]!, ips[2]!];
        assert.deepEqual(ips, [exIp, exIp, podIp, podIp], 'one address per executor');
        const before = await Promise.all(['rec-ex', 'rec-pod'].map((e) => containerOf(c, 1, e)));
        for (const x of before) assert.ok(x && (await hasNetns(c, 1, x.container_id.value)), `the network namespace of ${x?.executor_id.value}`);
        const agentId = web.offer.agentId!.value!;

        const mark = events.length;
        await c.agents[1]!.restart({ signal: 'SIGKILL' });
        const restarted = Date.now();
        // The executor is subscribed again when a framework message makes the round trip through it
        // (the agent drops messages for an executor that is not subscribed: retry until one comes back).
        let n = 0;
        await eventually(
          async () => {
            await s.message(agentId, 'rec-ex', `ping-${++n}`);
            await new Promise((r) => setTimeout(r, 300));
            return events.slice(mark).some((e) => e.type === 'MESSAGE' && e.executorId === 'rec-ex') || undefined;
          },
          'the custom executor to answer a message after the restart',
          20_000,
        );
        // Past the re-registration timeout (2secs from recovery, which ended before restart() resolved),
        // nothing may have ended: the timer is what is under test, so this waits it out.
        while (Date.now() < restarted + 3_000) await new Promise((r) => setTimeout(r, 250));
        const ended = updates(events, mark).filter((u) => ids.includes(u.taskId!.value!) && u.state !== TaskState.TASK_RUNNING);
        assert.deepEqual(ended, [], 'no task ended across the restart');

        // Reconciliation: the master still has every task TASK_RUNNING, on the same address.
        const fresh = events.length;
        await s.reconcile(ids.map((taskId) => ({ taskId, agentId })));
        await eventually(
          async () => ids.every((id) => updates(events, fresh).some((u) => u.taskId?.value === id && u.state === TaskState.TASK_RUNNING)) || undefined,
          'a reconciled TASK_RUNNING for every task',
          20_000,
        );
        for (const [i, id] of ids.entries()) assert.deepEqual(await stateAddresses(c, id), [ips[i]], `${id} on /master/state`);

        // No new container: the same two, by id.
        const after = await Promise.all(['rec-ex', 'rec-pod'].map((e) => containerOf(c, 1, e)));
        assert.deepEqual(
          after.map((x) => x?.container_id.value),
          before.map((x) => x?.container_id.value),
          'the same containers',
        );
        for (const x of after) assert.ok(x && (await hasNetns(c, 1, x.container_id.value)), `the network namespace of ${x?.executor_id.value} kept`);

        // Still served on their addresses, from another agent.
        const probes = [
          probeTask(`http://${exIp}:80/`, `hello-${web.id}`),
          probeTask(`http://${exIp}:8080/`, `hello-${api.id}`),
          probeTask(`http://${podIp}:80/`, `hello-pod-${back}`),
        ];
        const client = await launchOn(s, c, 0, { name: 'rec-probe', command: probes.map((p) => `(${p})`).join(' && ') });
        assert.equal(TaskState[(await s.waitForState(client.id, ['TASK_FINISHED', 'TASK_FAILED'], 60_000)).state!], 'TASK_FINISHED');

        // Still leased (no DEL happened): asking for either address is refused.
        for (const ip of [exIp, podIp]) {
          const taken = await askFor(s, c, 1, `taken-${ip}`, ip);
          assert.equal(TaskState[taken.state!], 'TASK_FAILED', `${ip} is still leased`);
          assert.match(taken.message ?? '', /already assigned/, taken.message);
        }

        // The re-subscribed executor kills on KILL and reports it itself.
        await s.kill(api.id);
        const killed = await s.waitForState(api.id, 'TASK_KILLED', 30_000);
        assert.equal(killed.source, TaskStatus_Source.SOURCE_EXECUTOR);
        assert.equal(TaskState[(await s.waitForState(web.id, 'TASK_RUNNING', 1_000)).state!], 'TASK_RUNNING');
      });
    });

    it('a hung executor that does not re-subscribe in time is destroyed: TASK_GONE, REASON_EXECUTOR_REREGISTRATION_TIMEOUT, FAILURE, its address free', async () => {
      const c = cluster();
      await withFramework(
        c,
        'e2e-exhung',
        async (s) => {
          const events = record(s);
          const executor = shellExecutor(s.frameworkId!, 'hung-ex');
          const tasks = [
            await launchOn(s, c, 2, { name: 'hung-a', executor, data: serve(80) }),
            await launchOn(s, c, 2, { name: 'hung-b', executor, data: 'exec sleep 600' }),
          ];
          const ip = ipOf(await s.waitForState(tasks[0]!.id, 'TASK_RUNNING', 60_000));
          await s.waitForState(tasks[1]!.id, 'TASK_RUNNING', 30_000);
          const container = (await containerOf(c, 2, 'hung-ex'))!;
          assert.ok(await hasNetns(c, 2, container.container_id.value), 'its network namespace, before');
          const agent = c.agents[2]!;
          await agent.stop({ signal: 'SIGKILL' });
          // Hung while the agent is down: alive, but it will not subscribe again.
          await agent.execOrThrow(['kill', '-STOP', String(container.container_status!.executor_pid)]);
          await agent.start();
          for (const t of tasks) {
            const gone = await s.waitForState(t.id, 'TASK_GONE', 30_000);
            assert.equal(gone.reason, TaskStatus_Reason.REASON_EXECUTOR_REREGISTRATION_TIMEOUT);
            assert.equal(gone.source, TaskStatus_Source.SOURCE_AGENT);
            assert.equal(gone.message, 'Executor did not reregister within 2secs');
          }
          await assertCleanedUp(s, c, events, 2, { executorId: 'hung-ex', container, ip, failure: true });
        },
        { capabilities: ['TASK_KILLING_STATE', 'PARTITION_AWARE'] },
      );
    });

    it('an executor killed while its agent was down is found ended on recovery: TASK_FAILED, REASON_EXECUTOR_TERMINATED, forgotten by the master, its address free', async () => {
      const c = cluster();
      await withFramework(c, 'e2e-exdead', async (s) => {
        const events = record(s);
        const executor = shellExecutor(s.frameworkId!, 'dead-ex');
        const tasks = [
          await launchOn(s, c, 2, { name: 'dead-a', executor, data: serve(80) }),
          await launchOn(s, c, 2, { name: 'dead-b', executor, data: 'exec sleep 600' }),
        ];
        const ip = ipOf(await s.waitForState(tasks[0]!.id, 'TASK_RUNNING', 60_000));
        await s.waitForState(tasks[1]!.id, 'TASK_RUNNING', 30_000);
        const container = (await containerOf(c, 2, 'dead-ex'))!;
        assert.ok(await hasNetns(c, 2, container.container_id.value), 'its network namespace, before');
        const agent = c.agents[2]!;
        await agent.stop({ signal: 'SIGKILL' });
        await agent.execOrThrow(['kill', '-9', String(container.container_status!.executor_pid)]);
        await agent.start();
        for (const t of tasks) {
          const failed = await s.waitForState(t.id, 'TASK_FAILED', 30_000);
          assert.equal(failed.reason, TaskStatus_Reason.REASON_EXECUTOR_TERMINATED);
          assert.equal(failed.source, TaskStatus_Source.SOURCE_AGENT);
        }
        await assertCleanedUp(s, c, events, 2, { executorId: 'dead-ex', container, ip, failure: false });
      });
    });

    it('a pod whose holder was killed while its agent was down is cleaned up on recovery the same way', async () => {
      const c = cluster();
      await withFramework(c, 'e2e-poddead', async (s) => {
        const events = record(s);
        const ids = await launchPod(s, c, 2, 'dead-pod');
        const ip = ipOf(await s.waitForState(ids[0]!, 'TASK_RUNNING', 60_000));
        await s.waitForState(ids[1]!, 'TASK_RUNNING', 30_000);
        const container = (await containerOf(c, 2, 'dead-pod'))!;
        assert.ok(await hasNetns(c, 2, container.container_id.value), 'its network namespace, before');
        const agent = c.agents[2]!;
        await agent.stop({ signal: 'SIGKILL' });
        await agent.execOrThrow(['kill', '-9', String(container.container_status!.executor_pid)]);
        await agent.start();
        for (const id of ids) {
          const failed = await s.waitForState(id, 'TASK_FAILED', 30_000);
          assert.equal(failed.reason, TaskStatus_Reason.REASON_EXECUTOR_TERMINATED, failed.message);
          assert.equal(failed.source, TaskStatus_Source.SOURCE_AGENT, failed.message);
        }
        await assertCleanedUp(s, c, events, 2, { executorId: 'dead-pod', container, ip, failure: false });
      });
    });
  });
}
