// A custom executor on the shared e2e cluster (cluster.e2e.ts runs this scenario): an executor
// written from Mesos's documentation alone (packages/agent/executors/shell-executor.mjs, no ippc code in it) runs
// two tasks of one framework on one agent. Its container joins ippc-bridge once, so both tasks
// report the executor's one address, are listed with it on /master/state and in DNS, and are reached on it
// from another agent; a second task starts no new container. KILL ends one task; SHUTDOWN ends the
// executor, its last task ends TASK_KILLED, the framework hears FAILURE, and the container goes.
// Issue #16, items 1, 2 and 6 (custom executor).
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { describe, it } from 'node:test';
import { TaskState, type ExecutorInfo } from '@ippc/proto';
import type { SchedulerEvent } from '@ippc/scheduler';
import { MOUNT, type StartedCluster } from '@ippc/testbed';
import { agentApiCall, customExecutor, eventually, launchOn, probeTask, twoTasksOnExecutor, withFramework } from '../support.js';

/** The shell executor, as the agent runs it: from the workspace every node mounts, with plain node. */
export function shellExecutor(frameworkId: string, id: string): ExecutorInfo {
  return customExecutor(frameworkId, id, 'shell executor (e2e)', `exec node ${MOUNT}/packages/agent/executors/shell-executor.mjs`);
}

export function customExecutorScenarios(cluster: () => StartedCluster): void {
  describe('a custom executor: one address for all its tasks', () => {
    it('runs two tasks in one container on one address, reached on it from another agent; KILL, then SHUTDOWN with FAILURE', async () => {
      const c = cluster();
      await withFramework(c, 'e2e-executor', async (s) => {
        const events: SchedulerEvent[] = [];
        s.on((e) => events.push(e));
        const executor = shellExecutor(s.frameworkId!, 'shell-ex');
        const { web, api, webRunning, ip } = await twoTasksOnExecutor(s, c, executor, ['ex-web', 'ex-api']);

        // In DNS: both task names resolve to the executor's address.
        const resolver = new Resolver({ timeout: 1000, tries: 1 });
        resolver.setServers([c.dns.address]);
        for (const name of ['ex-web', 'ex-api']) {
          await eventually(
            async () => ((await resolver.resolve4(`${name}.e2e-executor.ippc`).catch((): string[] => [])).includes(ip) ? true : undefined),
            `${name}.e2e-executor.ippc -> ${ip} in DNS`,
          );
        }

        const containers = (await agentApiCall(c, 1, { type: 'GET_CONTAINERS' })).get_containers.containers as { executor_id: { value: string } }[];
        assert.equal(containers.filter((x) => x.executor_id.value === 'shell-ex').length, 1, 'one container for both tasks');

        // Both served on the one address, reached from agent 0.
        for (const [port, id] of [
          [80, web.id],
          [8080, api.id],
        ] as const) {
          const probe = await launchOn(s, c, 0, { name: `probe-${port}`, command: probeTask(`http://${ip}:${port}/`, `hello-${id}`) });
          await s.waitForState(probe.id, 'TASK_FINISHED', 30_000);
        }

        await s.kill(api.id);
        await s.waitForState(api.id, 'TASK_KILLED', 30_000);
        assert.equal((await s.waitForState(web.id, 'TASK_RUNNING', 1_000)).state, TaskState.TASK_RUNNING, 'the other task runs on');

        await s.shutdownExecutor(webRunning.agentId!.value!, 'shell-ex');
        await s.waitForState(web.id, 'TASK_KILLED', 30_000);
        await eventually(async () => events.find((e) => e.type === 'FAILURE' && e.executorId === 'shell-ex'), 'FAILURE for the executor that exited', 30_000);
        await eventually(
          async () => {
            // An empty list is left out of the JSON, as protobuf JSON leaves out empty repeated fields.
            const left = ((await agentApiCall(c, 1, { type: 'GET_CONTAINERS' })).get_containers.containers ?? []) as { executor_id: { value: string } }[];
            return left.every((x) => x.executor_id.value !== 'shell-ex') || undefined;
          },
          "the executor's container to be gone",
          30_000,
        );
      });
    });
  });
}
