// A custom executor in a Docker container on the shared e2e cluster (cluster.e2e.ts runs this
// scenario): the executor written from Mesos's documentation alone
// (packages/agent/executors/shell-executor.mjs) runs in the node image through the Docker
// containerizer, on the cluster's Docker USER network. The program is mounted from the workspace
// by a `volume` parameter (a framework's own `-v`: nothing is fetched here) and finds the agent at
// MESOS_AGENT_ENDPOINT, the agent's address on that network. Both its tasks report the executor
// container's one address (state, DNS), are reached on it from a Docker task on another agent;
// an agent restart keeps the executor and its address; KILL ends one task, SHUTDOWN the executor
// (FAILURE to the framework), and the container and its endpoint on the network are gone. A USER
// executor without network info fails in Mesos's words, and a BRIDGE one (the agents are not on
// Docker's default bridge) says why it cannot reach its agent, leaving nothing.
// Issue #16, item 2 (custom executors in Docker containers).
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { allocateResources, parseResources } from '@ippc/mesos';
import { TaskState, TaskStatus_Reason, type ExecutorInfo, type NetworkInfo } from '@ippc/proto';
import type { SchedulerEvent } from '@ippc/scheduler';
import { defaultWorkspaceDir, type StartedCluster } from '@ippc/testbed';
import { agentApiCall, dockerContainer, E2E, eventually, ipOf, launchOn, net, probeTask, serve, stateAddresses, withFramework } from '../support.js';

const EXECUTORS = '/opt/ippc-executors';

/** The shell executor in a Docker container of the node image, its program mounted read-only from the workspace. */
function dockerShellExecutor(frameworkId: string, id: string, image: string, networks: NetworkInfo[]): ExecutorInfo {
  const volume = `${join(defaultWorkspaceDir(), 'packages/agent/executors')}:${EXECUTORS}:ro`;
  return {
    executorId: { value: id },
    frameworkId: { value: frameworkId },
    name: 'shell executor in Docker (e2e)',
    command: { shell: true, value: `exec node ${EXECUTORS}/shell-executor.mjs`, uris: [], arguments: [] },
    resources: allocateResources(parseResources('cpus:0.1;mem:32'), '*'),
    container: dockerContainer(image, 'USER', networks, { parameters: [{ key: 'volume', value: volume }] }),
  };
}

/** Names of the agent's daemon's containers labelled with this executor id, and the endpoints on the user network, read in agent `i` through the Docker socket. */
async function onDaemon(c: StartedCluster, i: number, executorId: string): Promise<{ containers: string[]; endpoints: string[] }> {
  const script = `
const http = require('http');
const get = (path) => new Promise((ok, ko) => http.get({ socketPath: '/var/run/docker.sock', path }, (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => ok(JSON.parse(b))); }).on('error', ko));
(async () => {
  const filters = encodeURIComponent(JSON.stringify({ label: ['org.ippc.executor-id=${executorId}'] }));
  const containers = (await get('/containers/json?all=1&filters=' + filters)).map((x) => x.Names[0].slice(1));
  const network = await get('/networks/${E2E.userNetwork.name}');
  console.log(JSON.stringify({ containers, endpoints: Object.values(network.Containers || {}).map((x) => x.Name) }));
})();`;
  const r = await c.agents[i]!.exec(['node', '-e', script], { timeoutMs: 15_000 });
  assert.equal(r.exitCode, 0, r.stderr);
  return JSON.parse(r.stdout.trim()) as { containers: string[]; endpoints: string[] };
}

export function dockerExecutorScenarios(cluster: () => StartedCluster, image: () => string): void {
  describe('a custom executor in a Docker container on a USER network: one address for its tasks', () => {
    it('runs two tasks on its one address, reached from a Docker task on another agent; kept across an agent restart; KILL, then SHUTDOWN with FAILURE; container and endpoint gone', async () => {
      const c = cluster();
      await withFramework(c, 'e2e-docker-executor', async (s) => {
        const events: SchedulerEvent[] = [];
        s.on((e) => events.push(e));
        const user = E2E.userNetwork.name;
        const executor = dockerShellExecutor(s.frameworkId!, 'docker-ex', image(), [net(user)]);
        const web = await launchOn(s, c, 1, { name: 'dx-web', executor, data: serve(80) });
        const api = await launchOn(s, c, 1, { name: 'dx-api', executor, data: serve(8080) });
        const webRunning = await s.waitForState(web.id, 'TASK_RUNNING', 60_000);
        const apiRunning = await s.waitForState(api.id, 'TASK_RUNNING', 30_000);
        const ip = ipOf(webRunning);
        const prefix = E2E.userNetwork.subnet.replace(/0\/24$/, '');
        assert.ok(ip.startsWith(prefix), `the executor's address on ${user}: ${JSON.stringify(webRunning.containerStatus)}`);
        assert.equal(webRunning.containerStatus?.networkInfos[0]?.name, user);
        assert.equal(ipOf(apiRunning), ip, 'the second task reports the same address');
        assert.equal(webRunning.executorId?.value, 'docker-ex');
        assert.deepEqual(await stateAddresses(c, api.id), [ip], '/master/state lists the task with the executor address');
        const containers = (await agentApiCall(c, 1, { type: 'GET_CONTAINERS' })).get_containers.containers as { executor_id: { value: string } }[];
        assert.equal(containers.filter((x) => x.executor_id.value === 'docker-ex').length, 1, 'one container for both tasks');
        const daemon = await onDaemon(c, 1, 'docker-ex');
        assert.equal(daemon.containers.length, 1, `one Docker container for the executor: ${JSON.stringify(daemon)}`);
        assert.match(daemon.containers[0]!, /^mesos-/);

        // In DNS: both task names resolve to the executor's address.
        const resolver = new Resolver({ timeout: 1000, tries: 1 });
        resolver.setServers([c.dns.address]);
        for (const name of ['dx-web', 'dx-api']) {
          await eventually(
            async () => ((await resolver.resolve4(`${name}.e2e-docker-executor.ippc`).catch((): string[] => [])).includes(ip) ? true : undefined),
            `${name}.e2e-docker-executor.ippc -> ${ip} in DNS`,
          );
        }

        // Both served on the one address, reached from agent 0 by a Docker task on the same user network.
        for (const [port, id] of [
          [80, web.id],
          [8080, api.id],
        ] as const) {
          const probe = await launchOn(s, c, 0, {
            name: `dx-probe-${port}`,
            command: probeTask(`http://${ip}:${port}/`, `hello-${id}`),
            container: dockerContainer(image(), 'USER', [net(user)]),
          });
          await s.waitForState(probe.id, 'TASK_FINISHED', 60_000);
        }

        // Agent recovery: restarted (kill -9), the agent finds the executor's container again by
        // its labels, keeps its address, and the executor re-subscribes (KILL below reaches it).
        await c.agents[1]!.restart({ signal: 'SIGKILL' });
        await eventually(
          async () => {
            const after = (await agentApiCall(c, 1, { type: 'GET_CONTAINERS' })).get_containers.containers as {
              executor_id: { value: string };
              container_status?: { network_infos?: { ip_addresses: { ip_address: string }[] }[] };
            }[];
            const mine = after?.find((x) => x.executor_id.value === 'docker-ex');
            return mine?.container_status?.network_infos?.[0]?.ip_addresses[0]?.ip_address === ip ? true : undefined;
          },
          "the restarted agent to hold the executor's container with its address",
          30_000,
        );

        // A kill is best-effort in Mesos, and a framework sends it again until the task ends: the
        // executor may still be re-subscribing (the agent cannot reach it until then).
        await eventually(
          async () => {
            await s.kill(api.id);
            return s.waitForState(api.id, 'TASK_KILLED', 5_000).catch(() => undefined);
          },
          'the api task killed (the kill sent again every 5 s)',
          45_000,
        );
        assert.equal((await s.waitForState(web.id, 'TASK_RUNNING', 1_000)).state, TaskState.TASK_RUNNING, 'the other task runs on');

        await s.shutdownExecutor(webRunning.agentId!.value!, 'docker-ex');
        await s.waitForState(web.id, 'TASK_KILLED', 30_000);
        await eventually(async () => events.find((e) => e.type === 'FAILURE' && e.executorId === 'docker-ex'), 'FAILURE for the executor that exited', 30_000);
        await eventually(
          async () => {
            const left = await onDaemon(c, 1, 'docker-ex');
            return left.containers.length === 0 && !left.endpoints.some((n) => n === daemon.containers[0]) ? true : undefined;
          },
          "the executor's container and its endpoint on the user network to be gone",
          30_000,
        );
      });
    });

    it("fails a USER executor without network info in Mesos's words, and a BRIDGE one that could not reach its agent, leaving nothing", async () => {
      const c = cluster();
      await withFramework(c, 'e2e-docker-executor-bad', async (s) => {
        const executor = dockerShellExecutor(s.frameworkId!, 'docker-ex-bad', image(), []);
        const t = await launchOn(s, c, 2, { name: 'dx-bad', executor, data: serve(80) });
        const failed = await s.waitForState(t.id, ['TASK_FAILED', 'TASK_RUNNING'], 60_000);
        assert.equal(TaskState[failed.state!], 'TASK_FAILED');
        assert.equal(failed.message, 'Failed to launch container: No network info found in container info');
        assert.equal(failed.reason, TaskStatus_Reason.REASON_CONTAINER_LAUNCH_FAILED);
        assert.deepEqual((await onDaemon(c, 2, 'docker-ex-bad')).containers, [], 'no container created');
        // The testbed's agents are not on Docker's default bridge (other clusters' containers are):
        // a BRIDGE executor could not reach its agent, and the launch says so rather than timing out.
        const bridged = { ...dockerShellExecutor(s.frameworkId!, 'docker-ex-bridge', image(), []) };
        bridged.container = dockerContainer(image(), 'BRIDGE', [], { parameters: bridged.container!.docker!.parameters });
        const b = await launchOn(s, c, 2, { name: 'dx-bridge', executor: bridged, data: serve(80) });
        const refused = await s.waitForState(b.id, ['TASK_FAILED', 'TASK_RUNNING'], 60_000);
        assert.equal(TaskState[refused.state!], 'TASK_FAILED');
        assert.match(refused.message ?? '', /^Failed to launch container: The agent's container '.*' has no address on Docker network 'bridge'/);
        assert.deepEqual((await onDaemon(c, 2, 'docker-ex-bridge')).containers, [], 'no container created');
      });
    });
  });
}
