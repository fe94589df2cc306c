// The testbed against the real Docker daemon: a cluster starts (readiness by health checks and
// /state), gives an opt-in task an address of its own that a task on another agent reaches on port
// 80, lets a plain task share its agent's address, keeps a live container across an agent crash,
// is found again by name, and leaves nothing behind — after stop(), after a failed start, and after
// the process that started it was killed -9.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import Docker from 'dockerode';
import type { NetworkInfo, Offer, TaskStatus } from '@ippc/proto';
import type { Scheduler, TaskSpec } from '@ippc/scheduler';
import { attachCluster, listClusters, removeCluster, startCluster, type Cluster, type StartedCluster } from './index.js';
import { LABEL, OWNER } from './labels.js';

const docker = new Docker();
const run = randomBytes(3).toString('hex');

async function leftovers(cluster: string): Promise<string[]> {
  const filters = JSON.stringify({ label: [`${LABEL.owner}=${OWNER}`, `${LABEL.cluster}=${cluster}`] });
  const [containers, networks, volumes] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listNetworks({ filters }),
    docker.listVolumes({ filters }),
  ]);
  return [
    ...containers.map((c) => `container ${c.Names[0]}`),
    ...networks.map((n) => `network ${n.Name}`),
    ...(volumes.Volumes ?? []).map((v) => `volume ${v.Name}`),
  ];
}

/** Polls (bounded) until nothing of the cluster is left; returns what is left at the end. */
async function eventuallyGone(cluster: string, ms: number): Promise<string[]> {
  const deadline = Date.now() + ms;
  let left = await leftovers(cluster);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    left = await leftovers(cluster);
  }
  return left;
}

const net = (name: string, extra: Partial<NetworkInfo> = {}): NetworkInfo => ({ name, groups: [], ipAddresses: [], portMappings: [], ...extra });
const ipOf = (s: TaskStatus) => s.containerStatus?.networkInfos[0]?.ipAddresses[0]?.ipAddress ?? '';

/** Launches one task on agent `index` from its next offer. */
async function launchOn(scheduler: Scheduler, cluster: Cluster, index: number, spec: TaskSpec): Promise<{ id: string; offer: Offer }> {
  const address = cluster.agents[index]!.address;
  const [offer] = await scheduler.awaitOffers({ filter: (o) => o.hostname === address, timeoutMs: 15_000 });
  const task = scheduler.taskFromOffer(offer!, { cpus: 0.1, mem: 32, ...spec });
  await scheduler.launch(offer!, [task], { refuseSeconds: 0 });
  return { id: task.taskId!.value!, offer: offer! };
}

/** Serves `hello-<task id>` over HTTP on `port` from the sandbox. */
const serve = (port: number | string) => `echo hello-$MESOS_TASK_ID > index.html && exec busybox httpd -f -p ${port} -h .`;
/** Exits 0 when `url` answers with `expect` (so TASK_FINISHED says "reached"), 1 otherwise. */
const fetchTask = (url: string, expect: string) => `for i in 1 2 3 4 5; do curl -sf --max-time 2 ${url} | grep -q ${expect} && exit 0; sleep 0.5; done; exit 1`;

describe('testbed cluster', { timeout: 600_000 }, () => {
  const names: string[] = [];
  after(async () => {
    // Whatever happened, nothing of these tests stays.
    for (const n of names) await removeCluster(n, { docker });
  });

  it('starts master, services and two agents with IP-per-container: an opt-in task gets its own address, served to another agent on port 80; a plain task shares the agent IP; an agent crash keeps the container; stop() leaves nothing', async () => {
    const name = `tb-${run}-a`;
    names.push(name);
    let cluster: StartedCluster | undefined = await startCluster({
      name,
      agents: 2,
      config: {
        network: { subnet: '10.99.201.0/24' },
        agent: { ports: '35000-35099' },
        dockerNetworks: [{ name: `tb-${run}-user`, subnet: '10.103.201.0/24' }],
      },
    });
    try {
      assert.ok(cluster.readyAfterMs > 0);
      assert.equal(cluster.agents.length, 2);
      assert.deepEqual(
        cluster.nodes.map((n) => n.role),
        ['master', 'services', 'agent', 'agent'],
      );
      const state = await cluster.masterState();
      assert.equal(state.slaves.length, 2);
      assert.ok(state.slaves.every((s) => s.active));
      assert.equal(state.slaves.find((s) => s.pid.endsWith('@10.99.201.12:5051'))?.resources.ports, '[35050-35099]');
      assert.deepEqual(cluster.agents[1]!.subnets['ippc-bridge'], { ipv4: '10.100.1.0/24' });

      // Labels are the truth: every container and volume carries owner, cluster and session.
      const filters = JSON.stringify({ label: [`${LABEL.cluster}=${name}`] });
      const containers = await docker.listContainers({ filters });
      assert.ok(
        containers.every((c) => c.Labels[LABEL.owner] === OWNER && c.Labels[LABEL.session]),
        'owner and session labels on every container',
      );
      assert.ok(
        containers.some((c) => c.Labels[LABEL.role] === 'reaper'),
        'a session reaper runs',
      );
      assert.equal((await docker.listVolumes({ filters })).Volumes?.length, 2, "the agents' work dirs");

      // The agent is not PID 1: tini is, and reaps orphans. It installed the default networks, isolation chained in.
      const agent0 = cluster.agents[0]!;
      assert.match(await agent0.execOrThrow(['cat', '/proc/1/cmdline']), /tini/);
      const conf = JSON.parse(await agent0.execOrThrow(['cat', '/etc/ippc/cni/ippc-bridge.conflist'])) as {
        plugins: { type: string; ipam?: { ranges: { subnet: string }[][] } }[];
      };
      assert.deepEqual(
        conf.plugins.map((p) => p.type),
        ['bridge', 'ippc-isolation', 'portmap'],
      );
      assert.equal(conf.plugins[0]!.ipam!.ranges[0]![0]!.subnet, '10.100.0.0/24');

      const scheduler = await cluster.connectScheduler({ framework: { name: 'tb-test' } });
      try {
        // Opt in on agent 1: an address of its own from agent 1's subnet, serving on port 80.
        const web = await launchOn(scheduler, cluster, 1, { name: 'web', command: serve(80), networks: [net('ippc-bridge')] });
        const running = await scheduler.waitForState(web.id, 'TASK_RUNNING', 30_000);
        const webIp = ipOf(running);
        assert.match(webIp, /^10\.100\.1\.\d+$/);
        assert.equal(running.containerStatus?.networkInfos[0]?.name, 'ippc-bridge');
        const inState = (await cluster.masterState()).frameworks[0]!.tasks.find((t) => t.id === web.id)!;
        assert.equal(inState.statuses.at(-1)!.container_status!.network_infos![0]!.ip_addresses![0]!.ip_address, webIp);

        // Reached from a task on the other agent by its own address, on the well-known port.
        const client = await launchOn(scheduler, cluster, 0, {
          name: 'client',
          command: fetchTask(`http://${webIp}:80/`, `hello-${web.id}`),
          networks: [net('ippc-bridge')],
        });
        const clientRunning = await scheduler.waitForState(client.id, 'TASK_RUNNING', 30_000);
        assert.match(ipOf(clientRunning), /^10\.100\.0\.\d+$/);
        await scheduler.waitForState(client.id, 'TASK_FINISHED', 30_000);

        // A plain task (no NetworkInfo) shares agent 0's address and serves on its offered port.
        const plain = await launchOn(scheduler, cluster, 0, { name: 'plain', command: serve('$PORT0'), ports: 1 });
        const plainRunning = await scheduler.waitForState(plain.id, 'TASK_RUNNING', 30_000);
        assert.equal(ipOf(plainRunning), agent0.address);
        const port = 35000;
        const reachPlain = await launchOn(scheduler, cluster, 1, {
          name: 'reach-plain',
          command: fetchTask(`http://${agent0.address}:${port}/`, `hello-${plain.id}`),
          networks: [net('ippc-bridge')],
        });
        await scheduler.waitForState(reachPlain.id, 'TASK_FINISHED', 30_000);

        // Found again by name: the same nodes, the same credentials.
        const attached = await attachCluster(name, { docker });
        assert.deepEqual(attached.nodes.map((n) => n.containerId).sort(), cluster.nodes.map((n) => n.containerId).sort());
        assert.equal((await attached.masterState()).frameworks[0]?.tasks.find((t) => t.id === web.id)?.state, 'TASK_RUNNING');
        assert.deepEqual((await listClusters({ docker })).find((c) => c.name === name)?.retained, false);

        // A crash of agent 1 (kill -9) and a restart: the container keeps running with its address.
        await attached.agents[1]!.restart({ signal: 'SIGKILL' });
        await scheduler.reconcile([{ taskId: web.id, agentId: web.offer.agentId!.value! }]);
        const reconciled = await scheduler.waitForState(web.id, 'TASK_RUNNING', 15_000);
        assert.equal(ipOf(reconciled), webIp);
        const again = await launchOn(scheduler, cluster, 0, {
          name: 'client-again',
          command: fetchTask(`http://${webIp}:80/`, `hello-${web.id}`),
          networks: [net('ippc-bridge')],
        });
        await scheduler.waitForState(again.id, 'TASK_FINISHED', 30_000);
      } finally {
        await scheduler.close();
      }
      const report = await cluster.stop();
      cluster = undefined;
      assert.deepEqual(report.errors, []);
      assert.equal(report.networks, 2, 'the cluster network and the Docker user network');
      assert.equal(report.volumes, 2);
      assert.deepEqual(await leftovers(name), []);
    } finally {
      await cluster?.stop();
    }
  });

  it('rolls back a failed start: the error carries the failing daemon output and nothing is left', async () => {
    const name = `tb-${run}-b`;
    names.push(name);
    await assert.rejects(
      // The agent refuses resources it cannot parse and exits.
      startCluster({
        name,
        agents: 1,
        config: { network: { subnet: '10.99.202.0/24' }, agent: { resources: 'cpus:lots' }, dockerNetworks: [] },
        timeoutMs: 30_000,
      }),
      (err: Error & { code?: string; output?: { stderr?: string } }) => {
        assert.equal(err.code, 'TESTBED_START_FAILED', err.message);
        assert.match(err.message, /agent daemon in ippc-tb-\w+-b-agent-0 exited/);
        assert.match(err.output?.stderr ?? '', /cpus/);
        return true;
      },
    );
    assert.deepEqual(await leftovers(name), []);
  });

  it('refuses a second cluster of the same name and a subnet another network holds, leaving the first intact', async () => {
    const name = `tb-${run}-c`;
    names.push(name);
    await using first = await startCluster({
      name,
      agents: 1,
      detached: true,
      config: { network: { subnet: '10.99.203.0/24' }, agent: { ports: '35100-35199' }, dockerNetworks: [] },
    });
    const before = await leftovers(name);
    assert.equal((await listClusters({ docker })).find((c) => c.name === name)?.retained, true);
    assert.ok(
      !(await docker.listContainers({ filters: JSON.stringify({ label: [`${LABEL.cluster}=${name}`] }) })).some((c) => c.Labels[LABEL.role] === 'reaper'),
      'a detached cluster has no reaper',
    );
    await assert.rejects(startCluster({ name, agents: 1, config: { network: { subnet: '10.99.204.0/24' }, dockerNetworks: [] } }), {
      code: 'TESTBED_CLUSTER_EXISTS',
    });
    const other = `tb-${run}-d`;
    names.push(other);
    await assert.rejects(
      startCluster({ name: other, agents: 1, config: { network: { subnet: '10.99.203.0/24' }, dockerNetworks: [] } }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'TESTBED_START_FAILED');
        assert.match(err.message, /10\.99\.203\.0\/24.*pick another subnet/);
        return true;
      },
    );
    assert.deepEqual(await leftovers(other), []);
    assert.deepEqual((await leftovers(name)).sort(), before.sort());
    assert.ok((await first.masterState()).slaves[0]?.active);
  });

  it('leaves nothing behind when the process that started a cluster is killed -9', async () => {
    const name = `tb-${run}-e`;
    names.push(name);
    const holder = fileURLToPath(new URL('./testing/hold-cluster.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', holder, name, '10.99.205.0/24'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the holder did not start its cluster in 60 s')), 60_000);
      child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && (clearTimeout(timer), resolve()));
      child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`holder exited early (${code})`))));
    });
    assert.ok((await leftovers(name)).length >= 4);
    child.kill('SIGKILL');
    assert.deepEqual(await eventuallyGone(name, 30_000), [], 'the session reaper removed the cluster');
  });
});
