import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import Docker from 'dockerode';
import { planBootstrap } from '@ippc/host';
import { ContainerInfo_DockerInfo_Network, ContainerInfo_Type, TaskState, type ContainerInfo } from '@ippc/proto';
import type { AgentStateJson } from '@ippc/mesos';
import type { Scheduler } from '@ippc/scheduler';
import { recordFigure } from './figures.js';
import { startPrivateDockerd, type PrivateDockerd } from './private-dockerd.js';
import {
  addressesOf,
  agentTasks,
  createWorld,
  eventually,
  expectAgreement,
  expectUnchanged,
  getJson,
  holdings,
  killAndWait,
  launchMany,
  masterTasks,
  net,
  type Holdings,
  type World,
} from './world.js';

// The Docker daemon restarted under a running agent (`--containerizers=docker,mesos`). The daemon
// is one of the suite's own (private-dockerd.ts), so stopping it disturbs nothing else on the
// machine. With `--live-restore` the container, its address and its log copy must survive the
// restart, a launch while the daemon is away must fail cleanly, and launches must work again once
// it answers. Without it the daemon stops the container: the task must end as failed and nothing
// may be left. Mesos-containerizer tasks on the same agent never notice either way.

let w: World;
let s: Scheduler;
let dockerd: PrivateDockerd;
let image: string;
let baseline: Holdings;
let faults = 0;
let docker0Before = false;
let duplicates = 0;
let leaks = 0;
const NETWORK = 'rl-dkr-user';

const dockerTask = (): ContainerInfo =>
  ({
    type: ContainerInfo_Type.DOCKER,
    docker: { image, network: ContainerInfo_DockerInfo_Network.USER, portMappings: [], parameters: [] },
    networkInfos: [net(NETWORK)],
    volumes: [],
  }) as unknown as ContainerInfo;

// Serves its task id on port 80 and prints a numbered line every 200 ms (the log copy is checked).
const SERVE_AND_TICK =
  'echo hello-$MESOS_TASK_ID > index.html; (i=0; while :; do echo tick-$i; i=$((i+1)); sleep 0.2; done) & exec busybox httpd -f -p 80 -h .';

async function httpGet(ip: string): Promise<string | undefined> {
  try {
    const res = await fetch(`http://${ip}/`, { signal: AbortSignal.timeout(2000) });
    return (await res.text()).trim();
  } catch {
    return undefined;
  }
}

/** The private daemon's containers of a task (labels are the truth). */
const containersOf = async (taskId: string) => dockerd.docker.listContainers({ all: true, filters: { label: [`org.ippc.task-id=${taskId}`] } });

/** Holdings of the node plus the private daemon's containers. */
async function counts(): Promise<Holdings & { privateContainers: number }> {
  return { ...(await holdings(w)), privateContainers: (await dockerd.docker.listContainers({ all: true })).length };
}

/** Waits until the counts are the baseline again; a failure is counted as a leak. */
async function expectBaseline(what: string): Promise<void> {
  try {
    await expectUnchanged(counts, baseline, what, 30_000);
  } catch (err) {
    leaks += 1;
    throw err;
  }
}

/** The sandbox of a task, from the agent's /state (Mesos's `directory`). */
async function sandboxOf(taskId: string): Promise<string> {
  const st = await getJson<AgentStateJson>(`${w.agent!.url}/state`);
  for (const f of st.frameworks) for (const e of f.executors) if (e.tasks.some((t) => t.id === taskId)) return e.directory;
  throw new Error(`no sandbox for ${taskId} in the agent's /state`);
}

const ticks = async (sandbox: string): Promise<number[]> =>
  (await readFile(join(sandbox, 'stdout'), 'utf8').catch(() => ''))
    .split('\n')
    .filter((l) => l.startsWith('tick-'))
    .map((l) => Number(l.slice(5)));

function noDuplicates(addresses: string[]): void {
  const dup = addresses.filter((a, i) => addresses.indexOf(a) !== i);
  duplicates += dup.length;
  assert.deepEqual(dup, [], 'no address held twice');
}

describe('faults: the Docker daemon restarted under a running agent', { timeout: 420_000 }, () => {
  before(async () => {
    docker0Before = existsSync('/sys/class/net/docker0');
    w = await createWorld({});
    // The spare /27s of the world: the daemon's own bridge on the second, the user network on the third.
    const [a, b, c, d] = w.subnets.spare[1]!.split('/')[0]!.split('.');
    dockerd = await startPrivateDockerd({
      name: `rl-dkr-${w.id}`,
      liveRestore: true,
      logFile: join(w.dir, 'dockerd.log'),
      bridge: { name: `rl-dkr0-${w.id}`.slice(0, 15), address: `${a}.${b}.${c}.${Number(d) + 1}/27` },
    });
    image = (await planBootstrap()).images.base;
    await dockerd.loadImage(new Docker(), image);
    await dockerd.docker.createNetwork({
      Name: NETWORK,
      Driver: 'bridge',
      IPAM: { Config: [{ Subnet: w.subnets.spare[2]! }] },
      Options: { 'com.docker.network.bridge.name': `rl-dkr1-${w.id}`.slice(0, 15) },
    });
    await w.startAgent(['--containerizers=docker,mesos', `--docker_socket=${dockerd.socket}`, '--docker_labels=org.ippc.test=reliability']);
    await w.waitForAgents(1);
    s = await w.scheduler('rl-dockerd');
  });
  beforeEach(async () => {
    baseline = await counts();
  });
  after(async () => {
    recordFigure({ suite: 'faults', name: 'leaks and duplicates over the Docker daemon restarts', leaks, duplicates, note: `${faults} restarts` });
    const keep = `/tmp/rl-logs/dockerd-${w?.id}`;
    await mkdir(keep, { recursive: true }).catch(() => undefined);
    for (const f of ['agent.log', 'master.log', 'dockerd.log']) await cp(join(w.dir, f), join(keep, f)).catch(() => undefined);
    await w?.dispose();
    await dockerd?.dispose();
  });

  it('with --live-restore: the container keeps running with its address and log copy; a launch while the daemon is away fails and leaves nothing', async () => {
    const [web, mesos] = await launchMany(s, [
      { name: 'web', command: SERVE_AND_TICK, container: dockerTask() },
      { name: 'beside', networks: [net('ippc-bridge')] },
    ]);
    const running = await s.waitForState(web!, 'TASK_RUNNING', 60_000);
    const mesosIp = addressesOf(await s.waitForState(mesos!, 'TASK_RUNNING', 30_000));
    const [ip] = addressesOf(running);
    assert.ok(ip, 'the Docker task reports its address');
    assert.equal(await eventually(() => httpGet(ip!), `the task to serve on ${ip}:80`, 20_000), `hello-${web}`);
    const sandbox = await sandboxOf(web!);
    await eventually(async () => ((await ticks(sandbox)).length > 3 ? true : undefined), 'the log copied into the sandbox', 10_000);

    await dockerd.stop();
    faults += 1;
    const down = Date.now();
    // The container (and so its address) lives on without the daemon.
    assert.equal(await httpGet(ip!), `hello-${web}`, 'the container serves while the daemon is away');
    const [during] = await launchMany(s, [{ name: 'during', command: 'exec sleep 600', container: dockerTask() }]);
    const failed = await s.waitForState(during!, ['TASK_FAILED', 'TASK_RUNNING'], 60_000);
    assert.equal(failed.state, TaskState.TASK_FAILED, 'a launch while the daemon is away fails');
    assert.match(failed.message ?? '', /^Failed to /, failed.message);
    assert.equal((await agentTasks(w)).get(web!), 'TASK_RUNNING', 'the running task is still running for the agent');

    const restarted = Date.now();
    await dockerd.start({ liveRestore: true });
    const [next] = await launchMany(s, [{ name: 'after', command: 'exec sleep 600', container: dockerTask() }]);
    const nextSt = await s.waitForState(next!, ['TASK_RUNNING', 'TASK_FAILED'], 60_000);
    assert.equal(nextSt.state, TaskState.TASK_RUNNING, nextSt.message);
    const recoveryMs = Date.now() - restarted;

    // Same container, same address, still serving, still reported running by master and agent.
    const [c] = await containersOf(web!);
    assert.equal(c?.State, 'running');
    const inspected = await dockerd.docker.getContainer(c!.Id).inspect();
    assert.equal(inspected.NetworkSettings.Networks[NETWORK]?.IPAddress, ip, 'the same address after the restart');
    assert.equal(await httpGet(ip!), `hello-${web}`);
    assert.equal((await masterTasks(w)).get(web!), 'TASK_RUNNING');
    noDuplicates([...addressesOf(running), ...addressesOf(nextSt), ...mesosIp]);
    // The log copy resumed: new lines, none twice, none missing.
    const seen = await ticks(sandbox);
    await eventually(async () => ((await ticks(sandbox)).length > seen.length + 3 ? true : undefined), 'the log copy to resume after the restart', 15_000);
    const all = await ticks(sandbox);
    assert.deepEqual(
      all,
      all.map((_, i) => i),
      'every log line once, in order, across the restart',
    );
    assert.deepEqual(await containersOf(during!), [], 'the failed launch left no container');
    await expectAgreement(w);
    recordFigure({
      suite: 'faults',
      name: 'the Docker daemon restarted (--live-restore)',
      faults: 1,
      recoveryMs,
      note: `down ${restarted - down} ms; the container kept ${ip}; launch while away: ${failed.message}`,
    });

    // The agent still drives the container it watched across the restart.
    for (const id of [web!, next!, mesos!]) assert.equal((await killAndWait(s, id, 60_000)).state, TaskState.TASK_KILLED, id);
    await expectBaseline('the Docker daemon restart with --live-restore');
  });

  it('without --live-restore: the daemon stops the container, the task ends failed, nothing is left', async () => {
    await dockerd.stop();
    await dockerd.start({ liveRestore: false });
    const [web, mesos] = await launchMany(s, [
      { name: 'web-2', command: SERVE_AND_TICK, container: dockerTask() },
      { name: 'beside-2', networks: [net('ippc-bridge')] },
    ]);
    const [ip] = addressesOf(await s.waitForState(web!, 'TASK_RUNNING', 60_000));
    await s.waitForState(mesos!, 'TASK_RUNNING', 30_000);
    assert.equal(await eventually(() => httpGet(ip!), `the task to serve on ${ip}:80`, 20_000), `hello-${web}`);

    await dockerd.stop();
    faults += 1;
    assert.equal(await httpGet(ip!), undefined, 'the daemon took the container down');
    const restarted = Date.now();
    await dockerd.start();
    const ended = await s.waitForState(web!, ['TASK_FAILED', 'TASK_KILLED', 'TASK_FINISHED', 'TASK_LOST'], 60_000);
    const recoveryMs = Date.now() - restarted;
    assert.equal(ended.state, TaskState.TASK_FAILED, `${TaskState[ended.state!]}: ${ended.message}`);
    await eventually(async () => ((await containersOf(web!)).length === 0 ? true : undefined), 'the stopped container removed', 30_000);
    assert.equal((await agentTasks(w)).get(mesos!), 'TASK_RUNNING', 'the Mesos-containerizer task did not notice');
    await expectAgreement(w);
    recordFigure({
      suite: 'faults',
      name: 'the Docker daemon restarted (no --live-restore)',
      faults: 1,
      recoveryMs,
      note: `the task ended ${TaskState[ended.state!]}: ${ended.message}`,
    });
    await killAndWait(s, mesos!, 60_000);
    await expectBaseline('the Docker daemon restart without --live-restore');
  });

  it("the machine's daemon was not touched: its docker0 bridge is still there", async () => {
    await dockerd.stop();
    await dockerd.start();
    assert.equal(existsSync('/sys/class/net/docker0'), docker0Before);
    if (docker0Before) await new Docker().ping();
  });
});
