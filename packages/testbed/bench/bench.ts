// The testbed's benchmark, each figure beside its raw floor (nothing asserted):
// 1. cluster start with cached images, 1 master + 3 agents + services, from the call to every
//    component ready (health checks, /state, agents registered) — beside the same five containers
//    started by plain Docker API calls with no daemon in them (network included);
// 2. 100 opt-in tasks RUNNING with unique addresses across 3 agents, from the first launch to the
//    last TASK_RUNNING — beside netns + CNI ADD (bridge, host-local) run directly in the agents.
//
//   npm run bench [-- --runs 3 --tasks 100]
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import Docker from 'dockerode';
import { planBootstrap } from '@ippc/host';
import type { NetworkInfo, Resource } from '@ippc/proto';
import { addResources, subtractResources } from '@ippc/mesos';
import { type Scheduler } from '@ippc/scheduler';
import { LABEL, OWNER, removeCluster, startCluster, type StartedCluster } from '../src/index.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, tasks: { type: 'string', default: '100' } } });
const RUNS = Number(values.runs);
const TASKS = Number(values.tasks);
const NAME = 'tb-bench';
const SUBNET = '10.99.230.0/24';
const docker = new Docker();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function config() {
  return {
    network: { subnet: SUBNET },
    agent: { ports: '35900-35999', resources: 'cpus:64;mem:65536' },
    dockerNetworks: [{ name: 'tb-bench-user', subnet: '10.103.230.0/24' }],
  };
}

/** The floor of a start: the same containers (image, network, fixed addresses, caps, mounts) with no daemons, in parallel. */
async function rawStart(image: string, workspace: string): Promise<number> {
  const tag = `tb-raw-${randomBytes(3).toString('hex')}`;
  const labels = { [LABEL.owner]: OWNER, [LABEL.cluster]: tag };
  const t0 = performance.now();
  try {
    await Promise.all([
      docker.createNetwork({ Name: tag, Driver: 'bridge', IPAM: { Config: [{ Subnet: SUBNET }] }, Labels: labels }),
      docker.createNetwork({ Name: `${tag}-user`, Driver: 'bridge', IPAM: { Config: [{ Subnet: '10.103.230.0/24' }] }, Labels: labels }),
    ]);
    const nodes = ['2', '3', '11', '12', '13'];
    await Promise.all(
      nodes.map(async (host, i) => {
        const agent = i >= 2;
        const c = await docker.createContainer({
          Image: image,
          name: `${tag}-${i}`,
          Cmd: ['sleep', 'infinity'],
          Labels: labels,
          HostConfig: {
            NetworkMode: tag,
            Binds: [`${workspace}:/opt/ippc:ro`, ...(agent ? ['/var/run/docker.sock:/var/run/docker.sock'] : [])],
            ...(agent ? { CapAdd: ['NET_ADMIN', 'SYS_ADMIN'] } : {}),
          },
          NetworkingConfig: { EndpointsConfig: { [tag]: { IPAMConfig: { IPv4Address: `10.99.230.${host}` } } } },
        });
        await c.start();
      }),
    );
    return performance.now() - t0;
  } finally {
    await removeCluster(tag, { docker });
  }
}

/** Launches `n` opt-in tasks spread over the agents' offers; ms from the first launch to the last TASK_RUNNING, and the addresses. */
async function launchMany(cluster: StartedCluster, s: Scheduler, n: number): Promise<{ ms: number; addresses: string[] }> {
  const offers = await s.awaitOffers({ count: cluster.agents.length, timeoutMs: 20_000 });
  const net: NetworkInfo = { name: 'ippc-bridge', groups: [], ipAddresses: [], portMappings: [] };
  const t0 = performance.now();
  const ids: string[] = [];
  await Promise.all(
    offers.map(async (offer, k) => {
      const count = Math.floor(n / offers.length) + (k < n % offers.length ? 1 : 0);
      let left: Resource[] = addResources([], offer.resources);
      const tasks = Array.from({ length: count }, (_, i) => {
        const t = s.taskFromOffer(offer, { name: `b-${k}-${i}`, cpus: 0.1, mem: 16, command: 'exec sleep 600', networks: [net] }, left);
        left = subtractResources(left, t.resources);
        return t;
      });
      ids.push(...tasks.map((t) => t.taskId!.value!));
      await s.launch(offer, tasks, { refuseSeconds: 0 });
    }),
  );
  const statuses = await Promise.all(ids.map((id) => s.waitForState(id, 'TASK_RUNNING', 120_000)));
  const ms = performance.now() - t0;
  return { ms, addresses: statuses.map((st) => st.containerStatus?.networkInfos[0]?.ipAddresses[0]?.ipAddress ?? '') };
}

/** The floor of 100 tasks: in each agent, `n/3` network namespaces attached by Debian's bridge + host-local, in parallel. */
async function rawTasks(cluster: StartedCluster, n: number): Promise<number> {
  const per = Math.ceil(n / cluster.agents.length);
  const conf = (i: number) =>
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'rawbench',
      type: 'bridge',
      bridge: 'rawbr0',
      isGateway: true,
      ipMasq: false,
      ipam: { type: 'host-local', ranges: [[{ subnet: `10.105.${i}.0/24` }]], dataDir: '/tmp/rawbench-ipam' },
    });
  const script = (i: number, cmd: 'ADD' | 'DEL') => `printf '%s' '${conf(i)}' > /tmp/rawbench.json
for k in $(seq 1 ${per}); do (
  ${cmd === 'ADD' ? 'ip netns add rb$k && ' : ''}CNI_COMMAND=${cmd} CNI_CONTAINERID=rb$k CNI_NETNS=/run/netns/rb$k CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni /usr/lib/cni/bridge < /tmp/rawbench.json > /dev/null${cmd === 'DEL' ? '; ip netns del rb$k' : ''}
) & done; wait`;
  const t0 = performance.now();
  await Promise.all(cluster.agents.map((a, i) => a.execOrThrow(['sh', '-c', script(i, 'ADD')], { timeoutMs: 120_000 })));
  const ms = performance.now() - t0;
  await Promise.all(
    cluster.agents.map((a, i) => a.exec(['sh', '-c', `${script(i, 'DEL')}; ip link del rawbr0; rm -rf /tmp/rawbench-ipam`], { timeoutMs: 120_000 })),
  );
  return ms;
}

const image = (await planBootstrap()).images.node;
const workspace = new URL('../../../', import.meta.url).pathname.replace(/\/$/, '');
await removeCluster(NAME, { docker });
const starts: number[] = [];
const raws: number[] = [];
let last: StartedCluster | undefined;
try {
  for (let r = 0; r < RUNS; r++) {
    raws.push(await rawStart(image, workspace));
    const cluster = await startCluster({ name: NAME, agents: 3, config: config() });
    starts.push(cluster.readyAfterMs);
    console.log(
      `run ${r + 1}: cluster ready after ${fmt(cluster.readyAfterMs)} (raw containers ${fmt(raws.at(-1)!)}); phases ${JSON.stringify(Object.fromEntries(Object.entries(cluster.timings).filter(([k]) => !k.includes(' '))))}`,
    );
    if (r < RUNS - 1) await cluster.stop();
    else last = cluster;
  }
  const cluster = last!;
  const s = await cluster.connectScheduler({ framework: { name: 'bench' } });
  const { ms, addresses } = await launchMany(cluster, s, TASKS);
  const unique = new Set(addresses).size;
  await s.teardown();
  const floor = await rawTasks(cluster, TASKS);
  const start = median(starts);
  const raw = median(raws);
  console.log('');
  console.log(
    `cluster ready (1 master + 3 agents + IPAM, isolation, DNS; cached images), median of ${RUNS}: ${fmt(start)}  | raw floor (5 containers + 2 networks, no daemons): ${fmt(raw)}  | ratio ${(start / raw).toFixed(1)}x  | target < 5 s: ${start < 5000 ? 'met' : 'not met'}`,
  );
  console.log(
    `${TASKS} opt-in tasks RUNNING across 3 agents: ${fmt(ms)} (${unique} unique addresses)  | raw floor (netns + bridge/host-local ADD in the agents): ${fmt(floor)}  | ratio ${(ms / floor).toFixed(1)}x  | target < 10 s: ${ms < 10_000 ? 'met' : 'not met'}`,
  );
} finally {
  await last?.stop();
  await removeCluster(NAME, { docker });
}
process.exit(0);
