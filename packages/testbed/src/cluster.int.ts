// The testbed against the real Docker daemon: a cluster starts, runs tasks, survives an agent
// restart, is found again by name, and leaves nothing behind — after stop(), after a failed start,
// and after the process that started it was killed -9.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import Docker from 'dockerode';
import { attachCluster, listClusters, removeCluster, startCluster, type StartedCluster } from './index.js';
import { LABEL, OWNER } from './labels.js';

const docker = new Docker();
const run = randomBytes(3).toString('hex');

async function leftovers(cluster: string): Promise<string[]> {
  const filters = JSON.stringify({ label: [`${LABEL.owner}=${OWNER}`, `${LABEL.cluster}=${cluster}`] });
  const [containers, networks, volumes] = await Promise.all([docker.listContainers({ all: true, filters }), docker.listNetworks({ filters }), docker.listVolumes({ filters })]);
  return [...containers.map((c) => `container ${c.Names[0]}`), ...networks.map((n) => `network ${n.Name}`), ...(volumes.Volumes ?? []).map((v) => `volume ${v.Name}`)];
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

describe('testbed cluster', () => {
  const names: string[] = [];
  after(async () => {
    // Whatever happened, nothing of these tests stays.
    for (const n of names) await removeCluster(n, { docker });
  });

  it('starts master, services and two agents, runs a plain task with the agent IP, survives an agent restart, and stop() leaves nothing', async () => {
    const name = `tb-${run}-a`;
    names.push(name);
    let cluster: StartedCluster | undefined = await startCluster({
      name,
      agents: 2,
      config: { network: { subnet: '10.99.201.0/24' }, agent: { ports: '35000-35099' }, dockerNetworks: [{ name: `tb-${run}-user`, subnet: '10.103.201.0/24' }] },
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

      // Labels are the truth: every container carries owner, cluster and session.
      const containers = await docker.listContainers({ filters: JSON.stringify({ label: [`${LABEL.cluster}=${name}`] }) });
      assert.ok(containers.every((c) => c.Labels[LABEL.owner] === OWNER && c.Labels[LABEL.session]), 'owner and session labels on every container');
      assert.ok(containers.some((c) => c.Labels[LABEL.role] === 'reaper'), 'a session reaper runs');

      // The agent is not PID 1: tini is, and reaps orphans.
      assert.match(await cluster.agents[0]!.execOrThrow(['cat', '/proc/1/cmdline']), /tini/);

      const scheduler = await cluster.connectScheduler({ framework: { name: 'tb-test' } });
      try {
        const [offer] = await scheduler.awaitOffers({ filter: (o) => o.hostname === cluster!.agents[1]!.address, timeoutMs: 10_000 });
        const task = scheduler.taskFromOffer(offer!, { name: 'web', command: 'exec busybox httpd -f -p $PORT0', ports: 1 });
        await scheduler.launch(offer!, [task]);
        const running = await scheduler.waitForState(task.taskId!.value!, 'TASK_RUNNING', 15_000);
        assert.equal(running.containerStatus?.networkInfos[0]?.ipAddresses[0]?.ipAddress, cluster.agents[1]!.address);
        const port = 35050;
        assert.equal((await cluster.agents[0]!.exec(['curl', '-sf', '-o', '/dev/null', `http://${cluster.agents[1]!.address}:${port}/`])).exitCode, 0, 'the task serves on its offered port');

        // Found again by name: the same nodes, the same credentials.
        const attached = await attachCluster(name, { docker });
        assert.deepEqual(
          attached.nodes.map((n) => n.containerId).sort(),
          cluster.nodes.map((n) => n.containerId).sort(),
        );
        assert.equal((await attached.masterState()).frameworks[0]?.tasks[0]?.state, 'TASK_RUNNING');
        assert.deepEqual((await listClusters({ docker })).find((c) => c.name === name)?.retained, false);

        // A crash of the agent (kill -9) and a restart: the task keeps running and keeps its status.
        await attached.agents[1]!.restart({ signal: 'SIGKILL' });
        assert.equal((await cluster.agents[0]!.exec(['curl', '-sf', '-o', '/dev/null', `http://${cluster.agents[1]!.address}:${port}/`])).exitCode, 0, 'still serving after the agent restart');
        const reconciled = await scheduler.reconcile([{ taskId: task.taskId!, agentId: offer!.agentId! }]).then(() => scheduler.waitForState(task.taskId!.value!, 'TASK_RUNNING', 10_000));
        assert.equal(reconciled.containerStatus?.networkInfos[0]?.ipAddresses[0]?.ipAddress, cluster.agents[1]!.address);
      } finally {
        await scheduler.close();
      }
      const report = await cluster.stop();
      cluster = undefined;
      assert.deepEqual(report.errors, []);
      assert.equal(report.networks, 2, 'the cluster network and the Docker user network');
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
      startCluster({ name, agents: 1, config: { network: { subnet: '10.99.202.0/24' }, agent: { resources: 'cpus:lots' }, dockerNetworks: [] }, timeoutMs: 30_000 }),
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
    await using first = await startCluster({ name, agents: 1, detached: true, config: { network: { subnet: '10.99.203.0/24' }, agent: { ports: '35100-35199' }, dockerNetworks: [] } });
    const before = await leftovers(name);
    assert.equal((await listClusters({ docker })).find((c) => c.name === name)?.retained, true);
    assert.ok(!(await docker.listContainers({ filters: JSON.stringify({ label: [`${LABEL.cluster}=${name}`] }) })).some((c) => c.Labels[LABEL.role] === 'reaper'), 'a detached cluster has no reaper');
    await assert.rejects(startCluster({ name, agents: 1, config: { network: { subnet: '10.99.204.0/24' }, dockerNetworks: [] } }), { code: 'TESTBED_CLUSTER_EXISTS' });
    const other = `tb-${run}-d`;
    names.push(other);
    await assert.rejects(startCluster({ name: other, agents: 1, config: { network: { subnet: '10.99.203.0/24' }, dockerNetworks: [] } }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'TESTBED_START_FAILED');
      assert.match(err.message, /10\.99\.203\.0\/24.*pick another subnet/);
      return true;
    });
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
