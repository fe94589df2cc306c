// End-to-end scenarios on one shared real cluster (a master, the IPAM service, the isolation
// provider, DNS and three agents, each a container started by @ippc/testbed). Every scenario has a
// framework of its own and asserts through its status updates and /master/state; probes between
// containers are tasks (TASK_FINISHED = reached) or run inside a container's own network namespace.
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { after, before, describe, it } from 'node:test';
import { planBootstrap } from '@ippc/host';
import { runNetCheck, type Endpoint, type Prober } from '@ippc/isolation';
import { TaskState, type NetworkInfo, type TaskStatus } from '@ippc/proto';
import { startCluster, type AgentNode, type StartedCluster } from '@ippc/testbed';
import { customExecutorScenarios } from './scenarios/custom-executor.js';
import { dockerExecutorScenarios } from './scenarios/docker-executor.js';
import { executorGroupsScenarios } from './scenarios/executor-groups.js';
import { mesosGoExecutorScenarios } from './scenarios/mesos-go-executor.js';
import { httpTaskGroupScenarios } from './scenarios/http-task-group.js';
import { executorRecoveryScenarios } from './scenarios/executor-recovery.js';
import { taskGroupScenarios } from './scenarios/task-group.js';
import {
  addressesOf,
  agentApiCall,
  dockerContainer,
  E2E,
  eventually,
  ipOf,
  launchOn,
  net,
  hostHasIpv6,
  operatorSubscribe,
  ipv6Of,
  probeTask,
  releaseOffers,
  serve,
  stateAddresses,
  taskInState,
  withFramework,
} from './support.js';

let cluster: StartedCluster;
let image: string;

const ipv6 = hostHasIpv6();

before(async () => {
  image = (await planBootstrap()).images.node;
  cluster = await startCluster({
    name: E2E.name,
    agents: 3,
    config: {
      // Dual-stack where the host has IPv6: agents get IPv6 addresses, ippc-bridge an IPv6 /64 per agent.
      network: { subnet: E2E.subnet, ...(ipv6 ? { ipv6Subnet: E2E.subnet6 } : {}) },
      agent: { ports: E2E.ports, resources: 'cpus:16;mem:16384' },
      containerNetworks: [
        { name: 'ippc-bridge', type: 'bridge', ipam: 'ippc-ipam', cidr: '10.100.0.0/16', ...(ipv6 ? { ipv6Cidr: E2E.bridge6 } : {}) },
        { name: 'ippc-ptp', type: 'ptp', ipam: 'ippc-ipam', cidr: '10.101.0.0/16' },
        { name: 'ippc-local', type: 'bridge', ipam: 'host-local', cidr: '10.102.0.0/16' },
        { ...E2E.small },
      ],
      // The default cool-down (30 s) protects automatic picks; e2e-small has none of its own (recycling).
      ipam: { cooldownSeconds: 30 },
      dockerNetworks: [E2E.userNetwork],
    },
  });
  console.log(`# e2e cluster ready after ${cluster.readyAfterMs} ms`);
});

after(async () => {
  await cluster?.stop();
});

const agentIp = (i: number) => cluster.agents[i]!.address;
const running = (s: TaskStatus) => s.state === TaskState.TASK_RUNNING;

/** Runs `command` inside the network namespace of the task whose status is `st` (on `agent`). */
function inTask(agent: AgentNode, st: TaskStatus, command: string[]) {
  return agent.exec(['nsenter', `--net=/proc/${st.containerStatus!.executorPid}/ns/net`, ...command], { timeoutMs: 15_000 });
}

describe('opt-in: a Mesos-containerizer task on the bridge network', () => {
  it("gets a unique address, reported in TASK_RUNNING, /master/state and the agent's GET_CONTAINERS, and serves port 80 to a task on another agent", async () => {
    await withFramework(cluster, 'e2e-optin', async (s) => {
      const web = await launchOn(s, cluster, 1, { name: 'web', command: serve(80), networks: [net('ippc-bridge', { groups: [] })] });
      const others = [];
      for (let i = 0; i < 3; i++) others.push(await launchOn(s, cluster, 1, { name: `other-${i}`, networks: [net('ippc-bridge')] }));
      const st = await s.waitForState(web.id, 'TASK_RUNNING', 30_000);
      assert.ok(running(st));
      const ip = ipOf(st);
      assert.match(ip, /^10\.100\.1\.\d+$/, "an address from agent 1's subnet");
      assert.deepEqual(await stateAddresses(cluster, web.id), [ip], '/master/state says the same');
      // And the agent's operator API: GET_CONTAINERS shows web's container with its address and counters.
      const { get_containers } = await agentApiCall(cluster, 1, { type: 'GET_CONTAINERS' });
      const container = get_containers.containers.find((c: { executor_id: { value: string } }) => c.executor_id.value === web.id);
      assert.ok(container, `web's container in GET_CONTAINERS: ${JSON.stringify(get_containers)}`);
      assert.deepEqual(
        container.container_status.network_infos
          .flatMap((n: { ip_addresses: { ip_address: string }[] }) => n.ip_addresses.map((a) => a.ip_address))
          .filter((a: string) => !a.includes(':')),
        [ip],
        "the agent's GET_CONTAINERS says the same",
      );
      assert.equal(container.container_status.network_infos[0].name, 'ippc-bridge');
      assert.ok(container.resource_statistics.timestamp > 0, JSON.stringify(container.resource_statistics));
      const ips = [ip];
      for (const o of others) ips.push(ipOf(await s.waitForState(o.id, 'TASK_RUNNING', 30_000)));
      assert.equal(new Set(ips).size, 4, `unique addresses: ${ips.join(', ')}`);
      const client = await launchOn(s, cluster, 2, {
        name: 'client',
        command: probeTask(`http://${ip}:80/`, `hello-${web.id}`),
        networks: [net('ippc-bridge')],
      });
      const done = await s.waitForState(client.id, ['TASK_FINISHED', 'TASK_FAILED'], 40_000);
      assert.equal(TaskState[done.state!], 'TASK_FINISHED', 'the client on agent 2 reached web on agent 1 at its own address, port 80');
    });
  });
});

describe("the master's operator API, read as an operator tool reads it", () => {
  it('SUBSCRIBE on /api/v1 sees the task added, then updated with its address in container_status, then killed', async () => {
    const ops = await operatorSubscribe(cluster);
    try {
      const subscribed = await ops.next((e) => e.type === 'SUBSCRIBED');
      assert.ok(subscribed.subscribed.get_state.get_agents.agents.length >= 3, 'the whole state first');
      await withFramework(cluster, 'e2e-operator', async (s) => {
        const t = await launchOn(s, cluster, 1, { name: 'watched', command: serve(80), networks: [net('ippc-bridge')] });
        const ip = ipOf(await s.waitForState(t.id, 'TASK_RUNNING', 30_000));
        const isTask = (e: Record<string, any>) => (e.task_added?.task ?? e.task_updated?.status)?.task_id?.value === t.id; // eslint-disable-line @typescript-eslint/no-explicit-any
        assert.equal((await ops.next((e) => e.type === 'TASK_ADDED' && isTask(e))).task_added.task.name, 'watched');
        const running = await ops.next((e) => e.type === 'TASK_UPDATED' && isTask(e) && e.task_updated.status.state === 'TASK_RUNNING');
        assert.equal(running.task_updated.state, 'TASK_RUNNING');
        assert.equal(running.task_updated.status.container_status.network_infos[0].ip_addresses[0].ip_address, ip);
        await s.kill(t.id);
        await s.waitForState(t.id, 'TASK_KILLED', 30_000);
        await ops.next((e) => e.type === 'TASK_UPDATED' && isTask(e) && e.task_updated.state === 'TASK_KILLED');
      });
    } finally {
      ops.close();
    }
  });
});

customExecutorScenarios(() => cluster);
mesosGoExecutorScenarios(() => cluster);
dockerExecutorScenarios(
  () => cluster,
  () => image,
);
taskGroupScenarios(() => cluster);
httpTaskGroupScenarios(() => cluster);
executorGroupsScenarios(() => cluster);

describe('mixed mode: opt-in and plain tasks on the same agents at the same time', () => {
  it('plain tasks share the agent address and use offered host ports; a framework that knows nothing of NetworkInfo works unchanged', async () => {
    // A framework of the old kind: no ContainerInfo at all, only ports from offers.
    await withFramework(cluster, 'e2e-legacy', async (legacy) => {
      await withFramework(cluster, 'e2e-mixed', async (s) => {
        const plain = [];
        for (const i of [0, 1]) plain.push(await launchOn(legacy, cluster, i, { name: `plain-${i}`, command: serve('$PORT0'), ports: 1 }));
        // One allocator, two frameworks: the old one gives back what it holds.
        await releaseOffers(legacy);
        // Two opt-in tasks on agent 0 both bind port 80: each has its own address.
        const a = await launchOn(s, cluster, 0, { name: 'web-a', command: serve(80), networks: [net('ippc-bridge')] });
        const b = await launchOn(s, cluster, 0, { name: 'web-b', command: serve(80), networks: [net('ippc-ptp')] });
        const plainSt = await Promise.all(plain.map((p) => legacy.waitForState(p.id, 'TASK_RUNNING', 30_000)));
        assert.deepEqual(plainSt.map(ipOf), [agentIp(0), agentIp(1)], 'plain tasks report their agent address');
        const [ipA, ipB] = [ipOf(await s.waitForState(a.id, 'TASK_RUNNING', 30_000)), ipOf(await s.waitForState(b.id, 'TASK_RUNNING', 30_000))];
        assert.match(ipA, /^10\.100\.0\./);
        assert.match(ipB, /^10\.101\.0\./);
        const ports = await Promise.all(plain.map(async (p) => Number(/\[(\d+)-/.exec(String((await taskInState(cluster, p.id)).resources.ports))![1])));
        for (const [i, port] of ports.entries()) {
          const [first, last] = [cluster.agents[i]!.ports.first, cluster.agents[i]!.ports.last];
          assert.ok(port >= first && port <= last, `plain-${i} got an offered port of agent ${i}`);
        }
        assert.deepEqual(await stateAddresses(cluster, plain[1]!.id), [agentIp(1)]);
        // From an opt-in task on agent 2: both plain tasks at agent address + host port, both opt-in tasks on port 80.
        const targets = [
          [`http://${agentIp(0)}:${ports[0]}/`, `hello-${plain[0]!.id}`],
          [`http://${agentIp(1)}:${ports[1]}/`, `hello-${plain[1]!.id}`],
          [`http://${ipA}:80/`, `hello-${a.id}`],
          [`http://${ipB}:80/`, `hello-${b.id}`],
        ] as const;
        const script = targets.map(([url, expect]) => `(${probeTask(url, expect)})`).join(' && ');
        const client = await launchOn(s, cluster, 2, { name: 'client', command: script, networks: [net('ippc-bridge')] });
        const done = await s.waitForState(client.id, ['TASK_FINISHED', 'TASK_FAILED'], 60_000);
        assert.equal(TaskState[done.state!], 'TASK_FINISHED', 'every task reachable the way it was launched');
      });
    });
  });
});

describe('two networks, a requested address, IPv6', () => {
  it('a container on two networks gets one address on each (eth0, eth1), in order', async () => {
    await withFramework(cluster, 'e2e-multi', async (s) => {
      const t = await launchOn(s, cluster, 2, {
        name: 'two-nets',
        command: 'ip -o -4 addr show > nets.txt; exec sleep 600',
        networks: [net('ippc-bridge'), net('ippc-ptp')],
      });
      const st = await s.waitForState(t.id, 'TASK_RUNNING', 30_000);
      const [a, b] = addressesOf(st);
      assert.match(a!, /^10\.100\.2\./);
      assert.match(b!, /^10\.101\.2\./);
      assert.deepEqual(
        st.containerStatus!.networkInfos.map((n) => n.name),
        ['ippc-bridge', 'ippc-ptp'],
      );
      assert.deepEqual(await stateAddresses(cluster, t.id), [a, b]);
      const links = (await inTask(cluster.agents[2]!, st, ['ip', '-o', '-4', 'addr', 'show'])).stdout;
      assert.match(links, new RegExp(`eth0\\s+inet ${a!.replace(/\./g, '\\.')}/`));
      assert.match(links, new RegExp(`eth1\\s+inet ${b!.replace(/\./g, '\\.')}/`));
    });
  });

  it('a requested specific address is the one assigned; asking for a taken one fails the task', async () => {
    await withFramework(cluster, 'e2e-static', async (s) => {
      const want = '10.100.1.77';
      const t = await launchOn(s, cluster, 1, { name: 'fixed', networks: [net('ippc-bridge', { ipAddresses: [{ ipAddress: want }] })] });
      const st = await s.waitForState(t.id, 'TASK_RUNNING', 30_000);
      assert.equal(ipOf(st), want);
      assert.deepEqual(await stateAddresses(cluster, t.id), [want]);
      const dup = await launchOn(s, cluster, 1, { name: 'fixed-again', networks: [net('ippc-bridge', { ipAddresses: [{ ipAddress: want }] })] });
      const failed = await s.waitForState(dup.id, 'TASK_FAILED', 30_000);
      assert.match(failed.message ?? '', /^Failed to launch container: /);
      assert.match(failed.message ?? '', /10\.100\.1\.77/);
    });
  });

  it('a fixed-address task killed and relaunched gets its address back at once, inside the cool-down', async () => {
    await withFramework(cluster, 'e2e-relaunch', async (s) => {
      const want = '10.100.2.88';
      const fixed = () => launchOn(s, cluster, 2, { name: 'fixed', networks: [net('ippc-bridge', { ipAddresses: [{ ipAddress: want }] })] });
      const first = await fixed();
      assert.equal(ipOf(await s.waitForState(first.id, 'TASK_RUNNING', 30_000)), want);
      await s.kill(first.id);
      await s.waitForState(first.id, 'TASK_KILLED', 30_000);
      const killedAt = Date.now();
      // TASK_KILLED comes before the container's cleanup (as in Mesos), so the old container may hold
      // the address a moment longer ("already assigned"); a cooling address must never be refused.
      // The bound (20 s) is inside the 30 s cool-down, so only an immediate hand-back passes.
      const again = await eventually(
        async () => {
          const t = await fixed();
          const st = await s.waitForState(t.id, ['TASK_RUNNING', 'TASK_FAILED'], 30_000);
          if (st.state === TaskState.TASK_RUNNING) return st;
          assert.match(st.message ?? '', /already assigned/, st.message);
          return undefined;
        },
        'the relaunch with the same address',
        20_000,
      );
      assert.equal(ipOf(again), want);
      console.log(`# relaunched with ${want} ${Date.now() - killedAt} ms after TASK_KILLED (cool-down 30 s)`);
    });
  });

  it('IPv6 where the host has it: a dual-stack task gets an IPv4 and an IPv6 address and serves port 80 over IPv6 to another agent', async (t) => {
    if (!ipv6) return t.skip('this machine has no global IPv6 address');
    await withFramework(cluster, 'e2e-v6', async (s) => {
      const web = await launchOn(s, cluster, 0, { name: 'six', command: serve(80), networks: [net('ippc-bridge')] });
      const st = await s.waitForState(web.id, 'TASK_RUNNING', 30_000);
      const v6 = ipv6Of(st);
      assert.match(ipOf(st), /^10\.100\.0\./);
      assert.ok(v6 && v6.startsWith(E2E.bridge6.split('::')[0]!), `an IPv6 address from agent 0's /64: ${v6}`);
      assert.ok(
        (await stateAddresses(cluster, web.id, true)).some((a) => a.split('/')[0] === v6),
        '/master/state reports it (with its prefix length, as Mesos does)',
      );
      const client = await launchOn(s, cluster, 2, {
        name: 'client6',
        command: probeTask(`-g http://[${v6}]:80/`, `hello-${web.id}`),
        networks: [net('ippc-bridge')],
      });
      assert.equal(
        TaskState[(await s.waitForState(client.id, ['TASK_FINISHED', 'TASK_FAILED'], 40_000)).state!],
        'TASK_FINISHED',
        'reached over IPv6 across agents',
      );
    });
  });
});

describe('Docker containerizer: HOST, BRIDGE, NONE, USER', () => {
  it('reports the agent address for HOST and NONE, the Docker bridge address for BRIDGE, the user network address for USER', async () => {
    await withFramework(cluster, 'e2e-docker', async (s) => {
      const host = await launchOn(s, cluster, 0, { name: 'd-host', container: dockerContainer(image, 'HOST') });
      const bridge = await launchOn(s, cluster, 1, { name: 'd-bridge', container: dockerContainer(image, 'BRIDGE') });
      const none = await launchOn(s, cluster, 2, { name: 'd-none', container: dockerContainer(image, 'NONE') });
      const user = await launchOn(s, cluster, 0, { name: 'd-user', container: dockerContainer(image, 'USER', [net(E2E.userNetwork.name)]) });
      const [h, b, n, u] = (await Promise.all([host, bridge, none, user].map((t) => s.waitForState(t.id, 'TASK_RUNNING', 60_000)))) as [
        TaskStatus,
        TaskStatus,
        TaskStatus,
        TaskStatus,
      ];
      assert.equal(ipOf(h), agentIp(0), 'HOST: the agent address');
      assert.equal(ipOf(n), agentIp(2), 'NONE: the agent address');
      assert.match(ipOf(b), /^\d+\.\d+\.\d+\.\d+$/);
      assert.ok(!ipOf(b).startsWith(E2E.subnet.replace(/0\/24$/, '')), `BRIDGE: Docker's bridge address, not the agent's (${ipOf(b)})`);
      assert.ok(ipOf(u).startsWith(E2E.userNetwork.subnet.replace(/0\/24$/, '')), `USER: an address of the user network (${ipOf(u)})`);
      assert.equal(u.containerStatus!.networkInfos[0]!.name, E2E.userNetwork.name);
      assert.deepEqual(await stateAddresses(cluster, user.id), [ipOf(u)]);
      assert.deepEqual(await stateAddresses(cluster, bridge.id), [ipOf(b)]);
    });
  });

  it("fails USER tasks without exactly one named network with Mesos's messages", async () => {
    await withFramework(cluster, 'e2e-docker-errors', async (s) => {
      const cases: { networks: NetworkInfo[]; message: string }[] = [
        { networks: [], message: 'Failed to create docker run options: No network info found in container info' },
        {
          networks: [net(E2E.userNetwork.name), net(E2E.userNetwork.name)],
          message: 'Failed to create docker run options: Only a single network can be defined in Docker run',
        },
        { networks: [net('')], message: 'Failed to create docker run options: No network name found in network info' },
        { networks: [net('e2e-no-such-network')], message: 'Failed to run docker container: network e2e-no-such-network not found' },
      ];
      for (const [i, c] of cases.entries()) {
        const t = await launchOn(s, cluster, i % 3, {
          name: `user-err-${i}`,
          container: dockerContainer(image, 'USER', c.networks.map((n) => (n.name === '' ? { ...n, name: undefined } : n)) as never),
        });
        const failed = await s.waitForState(t.id, 'TASK_FAILED', 60_000);
        assert.equal(failed.message, c.message);
        assert.equal((await taskInState(cluster, t.id)).state, 'TASK_FAILED');
      }
    });
  });
});

describe('Docker host ports at the agent address', () => {
  // The daemon publishes a BRIDGE or USER task's host ports on the machine; the agent forwards its
  // own address and its localhost there (--docker_host_ports_via), so <agent address>:<host port>
  // reaches the task as on a Mesos agent (Mesos's ROOT_DOCKER_NC_PortMapping connects to localhost).
  type Framework = Parameters<Parameters<typeof withFramework>[2]>[0];

  /** Launches on agent `index` a task that maps the lowest port of the agent's offer (which the task holds); resolves with that port. */
  async function launchWithHostPort(
    s: Framework,
    index: number,
    spec: (hostPort: number) => { name: string; command: string; container: ReturnType<typeof dockerContainer> },
  ): Promise<{ id: string; hostPort: number }> {
    const [offer] = await s.awaitOffers({ filter: (o) => o.hostname === agentIp(index), timeoutMs: 20_000 });
    const begins = offer!.resources.filter((r) => r.name === 'ports').flatMap((r) => (r.ranges?.range ?? []).map((x) => x.begin ?? 0));
    assert.ok(begins.length > 0, `the offer of agent ${index} holds ports`);
    const hostPort = Math.min(...begins);
    const task = s.taskFromOffer(offer!, { cpus: 0.1, mem: 32, ...spec(hostPort), ports: [hostPort] });
    await s.launch(offer!, [task], { refuseSeconds: 0 });
    return { id: task.taskId!.value!, hostPort };
  }

  it('BRIDGE and USER tasks are reached at <agent address>:<host port> from another agent and inside their agent; killed, the port closes', async () => {
    await withFramework(cluster, 'e2e-docker-ports', async (s) => {
      const httpd = 'mkdir -p /tmp/www && echo hello-$MESOS_TASK_ID > /tmp/www/index.html && exec busybox httpd -f -p 80 -h /tmp/www';
      const mapped = (hostPort: number) => ({ portMappings: [{ hostPort, containerPort: 80, protocol: 'tcp' }] });
      const bridge = await launchWithHostPort(s, 0, (p) => ({
        name: 'p-bridge',
        command: httpd,
        container: dockerContainer(image, 'BRIDGE', [], mapped(p)),
      }));
      const user = await launchWithHostPort(s, 2, (p) => ({
        name: 'p-user',
        command: httpd,
        container: dockerContainer(image, 'USER', [net(E2E.userNetwork.name)], mapped(p)),
      }));
      const tasks = [
        { agent: 0, ...bridge },
        { agent: 2, ...user },
      ];
      await Promise.all(tasks.map((t) => s.waitForState(t.id, 'TASK_RUNNING', 60_000)));
      const url = (host: string, t: (typeof tasks)[number]) => `http://${host}:${t.hostPort}/`;
      // From a task on agent 1 (on its agent's network): each at its agent's address and host port.
      const script = tasks.map((t) => `(${probeTask(url(agentIp(t.agent), t), `hello-${t.id}`)})`).join(' && ');
      const client = await launchOn(s, cluster, 1, { name: 'p-client', command: script });
      const done = await s.waitForState(client.id, ['TASK_FINISHED', 'TASK_FAILED'], 60_000);
      assert.equal(TaskState[done.state!], 'TASK_FINISHED', 'both tasks reached at <agent address>:<host port> from another agent');
      const curl = (i: number, target: string) => cluster.agents[i]!.exec(['curl', '-sS', '--max-time', '3', target], { timeoutMs: 15_000 });
      // Inside the agent: at its localhost and at its own address.
      for (const t of tasks) {
        for (const host of ['127.0.0.1', agentIp(t.agent)]) {
          const r = await curl(t.agent, url(host, t));
          assert.equal(r.stdout.trim(), `hello-${t.id}`, `${url(host, t)} inside agent ${t.agent}: exit ${r.exitCode} ${r.stderr}`);
        }
      }
      // Killed: the container and the forwarding are gone before TASK_KILLED, so the port is closed (refused, curl's exit 7).
      for (const t of tasks) {
        await s.kill(t.id);
        await s.waitForState(t.id, 'TASK_KILLED', 30_000);
        for (const [i, host] of [
          [t.agent, '127.0.0.1'],
          [t.agent, agentIp(t.agent)],
          [1, agentIp(t.agent)],
        ] as const) {
          const r = await curl(i, url(host, t));
          assert.equal(r.exitCode, 7, `${url(host, t)} from agent ${i} after the kill: exit ${r.exitCode} ${r.stdout}${r.stderr}`);
        }
      }
    });
  });
});

describe('DNS: <task>.<framework>.ippc', () => {
  it('a task reaches web.<framework>.ippc by name on port 80; a plain task resolves to its agent; a killed task goes away', async () => {
    const resolver = new Resolver({ timeout: 1000, tries: 1 });
    resolver.setServers([cluster.dns.address]);
    await withFramework(cluster, 'e2e-dns', async (s) => {
      const web = await launchOn(s, cluster, 0, { name: 'web', command: serve(80), networks: [net('ippc-bridge')] });
      const plain = await launchOn(s, cluster, 1, { name: 'plain', command: serve('$PORT0'), ports: 1 });
      const ip = ipOf(await s.waitForState(web.id, 'TASK_RUNNING', 30_000));
      await s.waitForState(plain.id, 'TASK_RUNNING', 30_000);
      await eventually(
        async () => ((await resolver.resolve4('web.e2e-dns.ippc').catch((): string[] => [])).includes(ip) ? true : undefined),
        'web.e2e-dns.ippc in DNS',
      );
      assert.deepEqual(await resolver.resolve4('plain.e2e-dns.ippc'), [agentIp(1)]);
      // From inside a container on another agent: its resolver is the cluster DNS (--default_container_dns).
      const client = await launchOn(s, cluster, 2, {
        name: 'client',
        command: `grep -q "nameserver ${cluster.dns.address}" /etc/resolv.conf && [ "$(getent ahostsv4 web.e2e-dns.ippc | head -1 | cut -d' ' -f1)" = "${ip}" ] && [ "$(getent ahostsv4 plain.e2e-dns.ippc | head -1 | cut -d' ' -f1)" = "${agentIp(1)}" ] && ${probeTask('http://web.e2e-dns.ippc:80/', `hello-${web.id}`)}`,
        networks: [net('ippc-bridge')],
      });
      const done = await s.waitForState(client.id, ['TASK_FINISHED', 'TASK_FAILED'], 60_000);
      assert.equal(TaskState[done.state!], 'TASK_FINISHED', 'the client resolved both names and reached web by name on port 80');
      await s.kill(web.id);
      await s.waitForState(web.id, 'TASK_KILLED', 30_000);
      await eventually(async () => {
        const r = await resolver.resolve4('web.e2e-dns.ippc').then(
          () => 'still there',
          (e: { code?: string }) => e.code,
        );
        return r === 'ENOTFOUND' ? true : undefined;
      }, 'web.e2e-dns.ippc gone from DNS');
    });
  });
});

describe('groups: reachability across agents', () => {
  // Issue 7's truth table on the real cluster: 3 agents, groups web, db, cache, a container in two
  // groups, a public one and two without a group (12 containers), a host-network task on every
  // agent, and the agents themselves; every ordered pair probed. Then enforcement is removed on
  // every agent and the same check must fail (so it cannot pass by accident), and agent restarts
  // bring enforcement back from the node daemons' checkpoints.
  it('12 containers in 3+ groups, host tasks and agents: the policy holds on every pair, and the check fails without enforcement', async () => {
    await withFramework(cluster, 'e2e-groups', async (s) => {
      const layout = [
        { name: 'web-0', agent: 0, groups: ['web'] },
        { name: 'web-1', agent: 1, groups: ['web'] },
        { name: 'web-2', agent: 2, groups: ['web'] },
        { name: 'db-0', agent: 0, groups: ['db'] },
        { name: 'db-1', agent: 1, groups: ['db'] },
        { name: 'db-2', agent: 2, groups: ['db'] },
        { name: 'cache-0', agent: 0, groups: ['cache'] },
        { name: 'cache-2', agent: 2, groups: ['cache'] },
        { name: 'api-1', agent: 1, groups: ['web', 'db'] },
        { name: 'pub-2', agent: 2, groups: ['public'] },
        { name: 'open-0', agent: 0, groups: [] as string[] },
        { name: 'open-1', agent: 1, groups: [] as string[] },
      ];
      const tasks: ((typeof layout)[number] & { id: string })[] = [];
      for (const l of layout)
        tasks.push({
          ...l,
          ...(await launchOn(s, cluster, l.agent, { name: l.name, command: serve(80), networks: [net('ippc-bridge', { groups: l.groups })] })),
        });
      // A plain task on every agent: the agent's address, an offered host port (mixed mode).
      const hosts: { name: string; agent: number; id: string; port: number }[] = [];
      for (const agent of [0, 1, 2]) {
        const { id, offer } = await launchOn(s, cluster, agent, { name: `host-${agent}`, command: serve('$PORT0'), ports: 1 });
        hosts.push({ name: `host-${agent}`, agent, id, port: Number(offer.resources.find((r) => r.name === 'ports')!.ranges!.range[0]!.begin) });
      }
      const sts = await Promise.all(tasks.map((t) => s.waitForState(t.id, 'TASK_RUNNING', 60_000)));
      const hostSts = await Promise.all(hosts.map((h) => s.waitForState(h.id, 'TASK_RUNNING', 60_000)));
      const ips = sts.map(ipOf);
      assert.equal(new Set(ips).size, 12, `12 unique container addresses: ${ips.join(' ')}`);
      assert.ok(
        hostSts.every((st, k) => ipOf(st) === agentIp(hosts[k]!.agent)),
        'plain tasks report their agent address',
      );
      // Served at all (from the destination's own agent, which always reaches its members).
      await Promise.all(
        tasks.map((t, i) =>
          eventually(
            async () => ((await cluster.agents[t.agent]!.exec(['curl', '-sf', '--max-time', '2', `http://${ips[i]}/`])).exitCode === 0 ? true : undefined),
            `${t.name} serving`,
          ),
        ),
      );

      // Hand-written expectation for the container pairs (the model of cni-reference.md): a member
      // accepts its own groups, `public` accepts all, a container without a group is not isolated.
      const expected = (from: (typeof layout)[number], to: (typeof layout)[number]) =>
        to.groups.length === 0 || to.groups.includes('public') || to.groups.some((g) => from.groups.includes(g));
      const pairs = tasks.flatMap((from, i) => tasks.map((to, j) => ({ from, to, i, j })).filter((p) => p.i !== p.j));
      const probe = async ({ from, i, j }: (typeof pairs)[number]) =>
        (await inTask(cluster.agents[from.agent]!, sts[i]!, ['curl', '-s', '-o', '/dev/null', '--max-time', '3', `http://${ips[j]}/`])).exitCode === 0;
      // 16 probes at a time (132 docker execs at once starve 2 cores into timeouts). A pair reached
      // against the policy is a failure at once; a pair that should be reached but timed out is
      // probed again (up to twice), since under load a timeout does not prove a block.
      const measured: { pair: string; reached: boolean; expected: boolean; cross: boolean }[] = [];
      for (let k = 0; k < pairs.length; k += 16) {
        measured.push(
          ...(await Promise.all(
            pairs.slice(k, k + 16).map(async (p) => {
              const want = expected(p.from, p.to);
              let reached = await probe(p);
              for (let again = 0; again < 2 && want && !reached; again++) reached = await probe(p);
              return { pair: `${p.from.name} -> ${p.to.name}`, reached, expected: want, cross: p.from.agent !== p.to.agent };
            }),
          )),
        );
      }
      const wrong = measured.filter((m) => m.reached !== m.expected);
      assert.deepEqual(
        wrong,
        [],
        `truth table:\n${measured.map((m) => `${m.pair}: ${m.reached ? 'reached' : 'blocked'} (expected ${m.expected ? 'reached' : 'blocked'})`).join('\n')}`,
      );
      assert.ok(measured.some((m) => m.cross && m.reached) && measured.some((m) => m.cross && !m.reached), 'cross-agent pairs both reached and blocked');

      // The same through @ippc/isolation's check engine (what `ippc net check` runs): the expected
      // matrix from the policy model, host tasks and agents included, a positive control per row.
      const endpoints: Endpoint[] = [
        ...tasks.map((t, i) => ({ id: t.name, kind: 'container' as const, agentId: agentIp(t.agent), address: ips[i]!, port: 80, groups: t.groups })),
        ...hosts.map((h) => ({ id: h.name, kind: 'host-task' as const, agentId: agentIp(h.agent), address: agentIp(h.agent), port: h.port, groups: [] })),
        ...cluster.agents.map((a) => ({ id: `agent-${a.index}`, kind: 'agent' as const, agentId: a.address, address: a.address, port: 5051, groups: [] })),
      ];
      const prober: Prober = {
        async probe(from, to, port, { timeoutMs }) {
          const fromTask = tasks.findIndex((t) => t.name === from.id);
          const agent = cluster.agents.find((a) => a.address === from.agentId)!;
          const curl = ['curl', '-s', '-o', '/dev/null', '--max-time', String(Math.max(1, Math.round(timeoutMs / 1000))), `http://${to.address}:${port}/`];
          // Containers probe from their own namespace; host tasks and agents from the agent's.
          const r = fromTask >= 0 ? await inTask(agent, sts[fromTask]!, curl) : await agent.exec(curl, { timeoutMs: timeoutMs + 5000 });
          return { reachable: r.exitCode === 0, detail: r.exitCode === 0 ? 'connected' : r.exitCode === 28 ? 'timeout' : `curl exit ${r.exitCode}` };
        },
      };
      const check = () => runNetCheck({ endpoints, rules: [], prober, timeoutMs: 2000, concurrency: 16 });
      const report = await check();
      assert.equal(endpoints.length, 18);
      assert.equal(report.counts.cells, 18 * 17);
      assert.equal(report.status, 'pass', JSON.stringify(report.mismatches, null, 2));

      // Enforcement off on every agent: the check must see it.
      for (const a of cluster.agents) assert.equal((await a.exec(['nft', 'delete', 'table', 'inet', 'ippc_isolation'])).exitCode, 0);
      const off = await check();
      assert.equal(off.status, 'fail');
      assert.ok(
        off.mismatches.some((m) => m.from === 'web-0' && m.to === 'db-1' && !m.expected && m.observed),
        `without enforcement web-0 reaches db-1 on another agent: ${JSON.stringify(off.mismatches.slice(0, 5))}`,
      );

      // Agents restarted one by one: each node daemon enforces its checkpoint again at start.
      for (const a of cluster.agents) await a.restart({ signal: 'SIGKILL' });
      const back = await check();
      assert.equal(back.status, 'pass', JSON.stringify(back.mismatches, null, 2));
    });
  });
});

describe('recycling and exhaustion', () => {
  it('kills and relaunches until the pool wraps; a launch beyond the pool fails clearly and leaves the others running', async () => {
    await withFramework(cluster, 'e2e-recycle', async (s) => {
      const pool = E2E.small.hostsPerAgent;
      const live: { id: string; ip: string }[] = [];
      for (let i = 0; i < pool; i++) {
        const t = await launchOn(s, cluster, 0, { name: `r-${i}`, networks: [net(E2E.small.name)] });
        live.push({ id: t.id, ip: ipOf(await s.waitForState(t.id, 'TASK_RUNNING', 30_000)) });
      }
      assert.equal(new Set(live.map((l) => l.ip)).size, pool);
      const extra = await launchOn(s, cluster, 0, { name: 'r-extra', networks: [net(E2E.small.name)] });
      const failed = await s.waitForState(extra.id, 'TASK_FAILED', 30_000);
      assert.match(failed.message ?? '', /^Failed to launch container: /);
      assert.match(failed.message ?? '', /exhausted|no free address|assigned/i, failed.message);
      // Kill the oldest, launch again: the pool hands out the freed address once it wrapped.
      const seen = new Set(live.map((l) => l.ip));
      let reused = false;
      for (let round = 0; round < pool * 2 && !reused; round++) {
        const old = live.shift()!;
        await s.kill(old.id);
        await s.waitForState(old.id, 'TASK_KILLED', 30_000);
        // TASK_KILLED comes before the container's cleanup (as in Mesos: destroy follows the
        // terminal status), so the address may still be held for a moment: relaunch until it is free.
        const t = await eventually(async () => {
          const next = await launchOn(s, cluster, 0, { name: `r-again-${round}`, networks: [net(E2E.small.name)] });
          const st = await s.waitForState(next.id, ['TASK_RUNNING', 'TASK_FAILED'], 30_000);
          if (st.state === TaskState.TASK_RUNNING) return { id: next.id, st };
          assert.match(st.message ?? '', /IPAM_POOL_EXHAUSTED/, st.message);
          return undefined;
        }, `a relaunch in round ${round}`);
        const ip = ipOf(t.st);
        assert.ok(!live.some((l) => l.ip === ip), 'never an address a live container holds');
        if (seen.has(ip)) reused = true;
        seen.add(ip);
        live.push({ id: t.id, ip });
      }
      assert.ok(reused, 'an address came back after the pool wrapped');
    });
  });
});

describe('agent restarts', () => {
  it('an agent restarted (kill -9) keeps its live containers and their addresses', async () => {
    await withFramework(cluster, 'e2e-restart', async (s) => {
      const web = await launchOn(s, cluster, 1, { name: 'web', command: serve(80), networks: [net('ippc-bridge')] });
      const ip = ipOf(await s.waitForState(web.id, 'TASK_RUNNING', 30_000));
      await cluster.agents[1]!.restart({ signal: 'SIGKILL' });
      await s.reconcile([{ taskId: web.id, agentId: web.offer.agentId!.value! }]);
      assert.equal(ipOf(await s.waitForState(web.id, 'TASK_RUNNING', 20_000)), ip);
      const client = await launchOn(s, cluster, 0, {
        name: 'client',
        command: probeTask(`http://${ip}:80/`, `hello-${web.id}`),
        networks: [net('ippc-bridge')],
      });
      assert.equal(TaskState[(await s.waitForState(client.id, ['TASK_FINISHED', 'TASK_FAILED'], 40_000)).state!], 'TASK_FINISHED');
    });
  });

  it('a container removed while its agent was down is reported lost and its address comes back', async () => {
    await withFramework(cluster, 'e2e-down', async (s) => {
      const keep = await launchOn(s, cluster, 2, { name: 'keep', networks: [net('ippc-bridge')] });
      const gone = await launchOn(s, cluster, 2, { name: 'gone', networks: [net('ippc-bridge')] });
      const keepIp = ipOf(await s.waitForState(keep.id, 'TASK_RUNNING', 30_000));
      const goneSt = await s.waitForState(gone.id, 'TASK_RUNNING', 30_000);
      const agent = cluster.agents[2]!;
      await agent.stop({ signal: 'SIGKILL' });
      // While the agent is down, the container's process dies.
      await agent.execOrThrow(['kill', '-9', String(goneSt.containerStatus!.executorPid)]);
      await agent.start();
      const end = await s.waitForState(gone.id, ['TASK_FAILED', 'TASK_LOST', 'TASK_GONE', 'TASK_FINISHED', 'TASK_KILLED'], 30_000);
      assert.notEqual(TaskState[end.state!], 'TASK_RUNNING');
      await s.reconcile([{ taskId: keep.id, agentId: keep.offer.agentId!.value! }]);
      assert.equal(ipOf(await s.waitForState(keep.id, 'TASK_RUNNING', 20_000)), keepIp);
      // The dead container's address is free again: asking for it succeeds.
      const again = await launchOn(s, cluster, 2, { name: 'again', networks: [net('ippc-bridge', { ipAddresses: [{ ipAddress: ipOf(goneSt) }] })] });
      assert.equal(ipOf(await s.waitForState(again.id, 'TASK_RUNNING', 30_000)), ipOf(goneSt));
    });
  });

  it('rolling upgrade: agents restarted one by one while opt-in and plain tasks keep running', async () => {
    await withFramework(cluster, 'e2e-rolling', async (s) => {
      const tasks = [];
      for (const i of [0, 1, 2]) {
        tasks.push(await launchOn(s, cluster, i, { name: `in-${i}`, command: serve(80), networks: [net('ippc-bridge')] }));
        tasks.push(await launchOn(s, cluster, i, { name: `plain-${i}`, command: serve('$PORT0'), ports: 1 }));
      }
      const before = await Promise.all(tasks.map(async (t) => ipOf(await s.waitForState(t.id, 'TASK_RUNNING', 30_000))));
      for (const agent of cluster.agents) await agent.restart();
      await cluster.waitForAgents();
      await s.reconcile(tasks.map((t) => ({ taskId: t.id, agentId: t.offer.agentId!.value! })));
      const after = await Promise.all(tasks.map(async (t) => ipOf(await s.waitForState(t.id, 'TASK_RUNNING', 20_000))));
      assert.deepEqual(after, before);
      const st = await cluster.masterState();
      assert.ok(tasks.every((t) => st.frameworks.flatMap((f) => f.tasks).find((x) => x.id === t.id)?.state === 'TASK_RUNNING'));
      const probes = tasks.filter((_, k) => k % 2 === 0).map((t, i) => probeTask(`http://${before[i * 2]}:80/`, `hello-${t.id}`));
      const client = await launchOn(s, cluster, 0, { name: 'client', command: probes.map((p) => `(${p})`).join(' && '), networks: [net('ippc-bridge')] });
      assert.equal(TaskState[(await s.waitForState(client.id, ['TASK_FINISHED', 'TASK_FAILED'], 60_000)).state!], 'TASK_FINISHED');
    });
  });
});

executorRecoveryScenarios(() => cluster);
