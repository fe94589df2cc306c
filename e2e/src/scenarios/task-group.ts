// A task group (LAUNCH_GROUP, a pod) on the shared e2e cluster (cluster.e2e.ts runs this
// scenario): the default executor's container joins ippc-bridge once, and both tasks of the group
// run as nested containers in it. `back` serves on 127.0.0.1:8080 only; `front` reads it over
// localhost and serves what it read on port 80 of the pod's address, where a task on another
// agent finds it. Both report the pod's one address (status, /master/state, DNS); one container on
// the agent; a kill of one task kills the group, the executor ends with FAILURE and its container
// goes. Issue #16, items 3 and 6 (task group).
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { describe, it } from 'node:test';
import type { SchedulerEvent } from '@ippc/scheduler';
import type { StartedCluster } from '@ippc/testbed';
import { agentApiCall, eventually, ipOf, launchOn, net, probeTask, stateAddresses, withFramework } from '../support.js';

export const BACK = 'mkdir -p www && echo hello-pod-$MESOS_TASK_ID > www/index.html && exec busybox httpd -f -p 127.0.0.1:8080 -h www';
export const FRONT = 'for i in $(seq 1 100); do curl -sf -o index.html http://127.0.0.1:8080/ && break; sleep 0.1; done; exec busybox httpd -f -p 80 -h .';

type Containers = { executor_id: { value: string } }[];
const containersOf = async (c: StartedCluster, agent: number): Promise<Containers> =>
  ((await agentApiCall(c, agent, { type: 'GET_CONTAINERS' })).get_containers.containers ?? []) as Containers;

export function taskGroupScenarios(cluster: () => StartedCluster): void {
  describe('a task group (pod) on the default executor: one address, tasks on 127.0.0.1', () => {
    it('runs both tasks in the pod, one reaching the other on localhost and serving on the pod address to another agent; a kill ends the group', async () => {
      const c = cluster();
      await withFramework(c, 'e2e-pod', async (s) => {
        const events: SchedulerEvent[] = [];
        s.on((e) => events.push(e));
        const address = c.agents[1]!.address;
        const [offer] = await s.awaitOffers({ filter: (o) => o.hostname === address, timeoutMs: 20_000 });
        const { executor, tasks } = s.groupFromOffer(offer!, {
          executor: { id: 'pod-1', networks: [net('ippc-bridge')] },
          tasks: [
            { name: 'back', command: BACK },
            { name: 'front', command: FRONT },
          ],
        });
        await s.launchGroup(offer!, executor, tasks, { refuseSeconds: 0 });
        const [back, front] = tasks.map((t) => t.taskId!.value!);
        const backRunning = await s.waitForState(back!, 'TASK_RUNNING', 60_000);
        const frontRunning = await s.waitForState(front!, 'TASK_RUNNING', 30_000);
        const ip = ipOf(backRunning);
        assert.ok(ip.startsWith('10.100.'), `the pod's address on ippc-bridge: ${JSON.stringify(backRunning.containerStatus)}`);
        assert.equal(ipOf(frontRunning), ip, 'both tasks report the pod address');
        assert.equal(backRunning.executorId?.value, 'pod-1');
        assert.deepEqual(await stateAddresses(c, front!), [ip]);
        assert.equal((await containersOf(c, 1)).filter((x) => x.executor_id.value === 'pod-1').length, 1, 'one pod container on the agent');

        const resolver = new Resolver({ timeout: 1000, tries: 1 });
        resolver.setServers([c.dns.address]);
        await eventually(
          async () => ((await resolver.resolve4('front.e2e-pod.ippc').catch((): string[] => [])).includes(ip) ? true : undefined),
          `front.e2e-pod.ippc -> ${ip}`,
        );

        // front read back's page over 127.0.0.1 and serves it on the pod address, port 80.
        const probe = await launchOn(s, c, 0, { name: 'probe', command: probeTask(`http://${ip}:80/`, `hello-pod-${back}`) });
        await s.waitForState(probe.id, 'TASK_FINISHED', 30_000);

        // A kill of one task kills its group (Mesos's default executor); then the executor ends.
        await s.kill(front!);
        await s.waitForState(front!, 'TASK_KILLED', 30_000);
        await s.waitForState(back!, 'TASK_KILLED', 30_000);
        await eventually(async () => events.find((e) => e.type === 'FAILURE' && e.executorId === 'pod-1'), 'FAILURE for the pod executor', 30_000);
        await eventually(
          async () => ((await containersOf(c, 1)).every((x) => x.executor_id.value !== 'pod-1') ? true : undefined),
          'the pod container to go',
          30_000,
        );
      });
    });
  });
}
