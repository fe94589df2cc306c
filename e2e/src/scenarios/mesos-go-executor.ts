// A third-party executor as a custom executor on the shared e2e cluster (cluster.e2e.ts runs this
// scenario): e2e/executors/mesos-go, whose protocol code is all mesos-go's v1 executor library
// (Debian's golang-github-mesos-mesos-go-dev 0.0.6: config from the MESOS_* environment, SUBSCRIBE
// and UPDATE over the executor HTTP API in protobuf, RecordIO events). Its container joins
// ippc-bridge once; two tasks report the executor's one address (status, /master/state, DNS) and are
// reached on it from another agent; KILL ends one task, SHUTDOWN the executor, and its container
// goes. `npx nx run e2e` builds the binary first (the `executors` target, build.sh).
// Issue #16, item 6 (code nobody here wrote, as a custom executor).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { TaskState, type ExecutorInfo } from '@ippc/proto';
import type { SchedulerEvent } from '@ippc/scheduler';
import { MOUNT, type StartedCluster } from '@ippc/testbed';
import { agentApiCall, customExecutor, eventually, ipOf, launchOn, probeTask, twoTasksOnExecutor, withFramework } from '../support.js';

/** Where build.sh puts the binary, on this machine and (under the workspace mount) on every node. */
const BINARY = 'e2e/dist/executors/mesos-go-executor';
const local = fileURLToPath(new URL(`../../../${BINARY}`, import.meta.url));

function mesosGoExecutor(frameworkId: string, id: string): ExecutorInfo {
  return customExecutor(frameworkId, id, 'mesos-go executor (e2e)', `exec ${MOUNT}/${BINARY}`);
}

type Containers = { executor_id: { value: string } }[];
// An empty list is left out of the JSON, as protobuf JSON leaves out empty repeated fields.
const containersOf = async (c: StartedCluster, agent: number, executor: string) =>
  (((await agentApiCall(c, agent, { type: 'GET_CONTAINERS' })).get_containers.containers ?? []) as Containers).filter((x) => x.executor_id.value === executor);

export function mesosGoExecutorScenarios(cluster: () => StartedCluster): void {
  describe('a third-party executor (mesos-go 0.0.6) as a custom executor', () => {
    it('subscribes with the library, runs two tasks on the executor address, reached from another agent; KILL, then SHUTDOWN', async () => {
      assert.ok(existsSync(local), `${BINARY} is missing: 'npx nx run e2e' builds it, or run e2e/executors/mesos-go/build.sh`);
      const c = cluster();
      await withFramework(c, 'e2e-mesos-go', async (s) => {
        const events: SchedulerEvent[] = [];
        s.on((e) => events.push(e));
        const executor = mesosGoExecutor(s.frameworkId!, 'go-ex');
        const { web, api, webRunning, ip } = await twoTasksOnExecutor(s, c, executor, ['go-web', 'go-api']);
        assert.equal((await containersOf(c, 1, 'go-ex')).length, 1, 'one container for both tasks');

        const resolver = new Resolver({ timeout: 1000, tries: 1 });
        resolver.setServers([c.dns.address]);
        for (const name of ['go-web', 'go-api']) {
          await eventually(
            async () => ((await resolver.resolve4(`${name}.e2e-mesos-go.ippc`).catch((): string[] => [])).includes(ip) ? true : undefined),
            `${name}.e2e-mesos-go.ippc -> ${ip} in DNS`,
          );
        }

        // Both served on the executor's one address, reached from a task on agent 0.
        for (const [port, id] of [
          [80, web.id],
          [8080, api.id],
        ] as const) {
          const probe = await launchOn(s, c, 0, { name: `probe-${port}`, command: probeTask(`http://${ip}:${port}/`, `hello-${id}`) });
          await s.waitForState(probe.id, 'TASK_FINISHED', 30_000);
        }

        // The agent restarted (kill -9): the library's client loses its stream and the executor
        // subscribes again (the framework checkpoints), so both tasks keep running on the same address.
        await c.agents[1]!.restart({ signal: 'SIGKILL' });
        await s.reconcile([web, api].map((t) => ({ taskId: t.id, agentId: t.offer.agentId!.value! })));
        for (const t of [web, api]) assert.equal(ipOf(await s.waitForState(t.id, 'TASK_RUNNING', 30_000)), ip, `${t.id} keeps the executor address`);
        const log = await eventually(async () => {
          const text = (
            await c.agents[1]!.exec(['sh', '-c', `cat /var/lib/ippc/agent/slaves/*/frameworks/${s.frameworkId}/executors/go-ex/runs/latest/stderr`])
          ).stdout;
          return (text.match(/subscribed: container/g) ?? []).length >= 2 ? text : undefined;
        }, 'the executor to subscribe again after the agent restart');
        assert.doesNotMatch(log, /not taken|shutting down/, log);
        assert.equal((await containersOf(c, 1, 'go-ex')).length, 1, 'still one container');

        // KILL: the executor ends the task's process group and reports TASK_KILLED; the other runs on.
        await s.kill(api.id);
        const killed = await s.waitForState(api.id, 'TASK_KILLED', 30_000);
        assert.equal(killed.executorId?.value, 'go-ex');
        assert.equal((await s.waitForState(web.id, 'TASK_RUNNING', 1_000)).state, TaskState.TASK_RUNNING, 'the other task runs on');

        // SHUTDOWN: the executor kills its last task, reports it, and exits; the container goes.
        await s.shutdownExecutor(webRunning.agentId!.value!, 'go-ex');
        await s.waitForState(web.id, 'TASK_KILLED', 30_000);
        await eventually(async () => events.find((e) => e.type === 'FAILURE' && e.executorId === 'go-ex'), 'FAILURE for the executor that exited', 30_000);
        await eventually(async () => ((await containersOf(c, 1, 'go-ex')).length === 0 ? true : undefined), "the executor's container to be gone", 30_000);
      });
    });
  });
}
