import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { isIppcError, type ContainerConfig, type Isolator, type LaunchInfo, type LaunchSpec } from '@ippc/core';
import { containerIdToString } from '@ippc/mesos';
import { ContainerInfo_Type, TaskState, type ContainerID, type ContainerStatus } from '@ippc/proto';
import { createMesosContainerizer, type MesosContainerizer } from './mesos-containerizer.js';

// Against the real kernel: new network, UTS and mount namespaces held for a (fake) isolator, and a
// task that survives the death (kill -9) of the process that launched it. Needs root.

const here = dirname(fileURLToPath(import.meta.url));
const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
const netnsList = (): string[] =>
  ip('netns', 'list')
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith('cp-'));

/**
 * A stand-in for the network/cni isolator: containers that name network `fake` get new namespaces,
 * a named netns handle `cp-<n>`, an address on `lo` inside and a hostname; status reports the address.
 */
class FakeNetIsolator implements Isolator {
  readonly name = 'test/fake-net';
  readonly prepared = new Set<string>();
  readonly netns = new Map<string, string>();
  readonly calls: string[] = [];
  failIsolate = false;
  private n = 0;
  async recover(): Promise<void> {}
  async prepare(config: ContainerConfig): Promise<LaunchInfo | undefined> {
    this.calls.push('prepare');
    if (!(config.containerInfo?.networkInfos ?? []).some((n) => n.name === 'fake')) return undefined;
    this.prepared.add(containerIdToString(config.containerId));
    return { namespaces: ['net', 'uts', 'mnt'], environment: { LIBPROCESS_IP: '0.0.0.0' } };
  }
  async isolate(containerId: ContainerID, pid: number): Promise<void> {
    this.calls.push(`isolate ${pid}`);
    const id = containerIdToString(containerId);
    if (!this.prepared.has(id)) return;
    const name = `cp-fake-${process.pid}-${this.n++}`;
    this.netns.set(id, name);
    ip('netns', 'attach', name, String(pid));
    ip('-n', name, 'link', 'set', 'lo', 'up');
    ip('-n', name, 'addr', 'add', '10.255.77.1/32', 'dev', 'lo');
    execFileSync('nsenter', ['--target', String(pid), '--uts', 'hostname', 'cp-fake-host']);
    if (this.failIsolate) throw new Error('The CNI plugin failed to attach container: fake failure');
  }
  async status(containerId: ContainerID): Promise<ContainerStatus> {
    if (!this.netns.has(containerIdToString(containerId))) return { networkInfos: [] };
    return { networkInfos: [{ name: 'fake', groups: [], portMappings: [], ipAddresses: [{ protocol: 1, ipAddress: '10.255.77.1' }] }] };
  }
  async cleanup(containerId: ContainerID): Promise<void> {
    const id = containerIdToString(containerId);
    this.calls.push(`cleanup ${id}`);
    const name = this.netns.get(id);
    if (name && netnsList().includes(name)) ip('netns', 'delete', name);
    this.netns.delete(id);
    this.prepared.delete(id);
  }
}

let dir: string;
let seq = 0;
function spec(command: string, containerInfo?: LaunchSpec['containerInfo']): LaunchSpec {
  const id = `int${seq++}-${process.pid}`;
  const sandbox = join(dir, 'sandboxes', id);
  mkdirSync(sandbox, { recursive: true });
  return {
    containerId: { value: id },
    frameworkId: { value: 'F' },
    agentId: { value: 'A' },
    task: { name: id, taskId: { value: id }, agentId: { value: 'A' }, resources: [], command: { value: command, uris: [], arguments: [] }, limits: {} },
    executor: { executorId: { value: id }, resources: [], ...(containerInfo ? { container: containerInfo } : {}) },
    ...(containerInfo ? { containerInfo } : {}),
    sandboxDirectory: sandbox,
    environment: { MESOS_SANDBOX: sandbox },
    sendStatus: () => undefined,
  };
}

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const fake = { type: ContainerInfo_Type.MESOS, networkInfos: [{ name: 'fake', groups: [], ipAddresses: [], portMappings: [] }] };

describe('Mesos containerizer: namespaces and isolators (root)', () => {
  let iso: FakeNetIsolator;
  let mc: MesosContainerizer;
  const pids: number[] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cp-mcint-'));
    iso = new FakeNetIsolator();
    mc = createMesosContainerizer({ runtimeDir: join(dir, 'run'), isolators: [iso], defaultGracePeriodMs: 1000 });
    await mc.recover([]);
  });
  after(async () => {
    for (const id of mc.containers()) await mc.destroy(id, { gracePeriodMs: 0 }).catch(() => undefined);
    for (const pid of pids) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const name of netnsList()) if (name.startsWith(`cp-fake-${process.pid}-`)) ip('netns', 'delete', name);
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a task that names a network in new net, uts and mnt namespaces set up before it ran', async () => {
    const s = spec('ip -o -4 addr show > addrs; hostname > host; readlink /proc/self/ns/net > netns; echo "$LIBPROCESS_IP" > env; exec sleep 600', fake);
    await mc.launch(s);
    const id = s.containerId.value!;
    const st = await mc.status(id);
    pids.push(st.executorPid!);
    await until(() => existsSync(join(s.sandboxDirectory, 'env')), 'the task to write its view');
    const mine = readlinkSync('/proc/self/ns/net');
    assert.notEqual(readFileSync(join(s.sandboxDirectory, 'netns'), 'utf8').trim(), mine, 'the task is in another network namespace');
    assert.equal(readlinkSync(`/proc/${st.executorPid}/ns/net`), readFileSync(join(s.sandboxDirectory, 'netns'), 'utf8').trim());
    assert.notEqual(readlinkSync(`/proc/${st.executorPid}/ns/uts`), readlinkSync('/proc/self/ns/uts'));
    assert.notEqual(readlinkSync(`/proc/${st.executorPid}/ns/mnt`), readlinkSync('/proc/self/ns/mnt'));
    const addrs = readFileSync(join(s.sandboxDirectory, 'addrs'), 'utf8');
    assert.match(addrs, /lo\s+inet 10\.255\.77\.1\/32/, 'the address the isolator added was there when the task started');
    assert.equal(addrs.trim().split('\n').length, 2, 'only lo: 127.0.0.1 and the isolator address');
    assert.equal(readFileSync(join(s.sandboxDirectory, 'host'), 'utf8').trim(), 'cp-fake-host');
    assert.equal(readFileSync(join(s.sandboxDirectory, 'env'), 'utf8').trim(), '0.0.0.0', "the isolator's environment");
    assert.deepEqual(
      st.networkInfos.map((n) => [n.name, n.ipAddresses[0]?.ipAddress]),
      [['fake', '10.255.77.1']],
    );
    const netns = iso.netns.get(id)!;
    assert.ok(netnsList().includes(netns));
    await mc.destroy(id);
    assert.ok(!netnsList().includes(netns), 'cleanup removed the namespace');
    assert.throws(() => process.kill(st.executorPid!, 0), 'the task is gone');
  });

  it('keeps tasks without named networks in the agent namespaces (mixed mode)', async () => {
    const s = spec('readlink /proc/self/ns/net > netns; exec sleep 600');
    await mc.launch(s);
    const st = await mc.status(s.containerId.value!);
    await until(() => existsSync(join(s.sandboxDirectory, 'netns')) && readFileSync(join(s.sandboxDirectory, 'netns'), 'utf8').length > 0, 'the task');
    assert.equal(readFileSync(join(s.sandboxDirectory, 'netns'), 'utf8').trim(), readlinkSync('/proc/self/ns/net'));
    assert.deepEqual(st.networkInfos, []);
    assert.ok(iso.calls.includes(`isolate ${st.executorPid}`), 'isolate is still called, with the pid, as Mesos calls every isolator');
    await mc.destroy(s.containerId.value!);
  });

  it('a failing isolate leaves no process, namespace or checkpoint, and says why', async () => {
    iso.failIsolate = true;
    const before = new Set(netnsList());
    const s = spec('touch ran; exec sleep 600', fake);
    try {
      await assert.rejects(
        mc.launch(s),
        (err: unknown) => isIppcError(err, 'CONTAINER_LAUNCH_FAILED') && err.message === 'The CNI plugin failed to attach container: fake failure',
      );
    } finally {
      iso.failIsolate = false;
    }
    const pid = Number(/isolate (\d+)/.exec(iso.calls.filter((c) => c.startsWith('isolate')).at(-1)!)![1]);
    await until(() => !existsSync(`/proc/${pid}`), 'the held process to go');
    assert.equal(existsSync(join(s.sandboxDirectory, 'ran')), false, 'the task never ran');
    assert.deepEqual(
      netnsList().filter((n) => !before.has(n)),
      [],
    );
    assert.deepEqual(mc.containers(), []);
    assert.deepEqual(readdirSync(join(dir, 'run', 'containers')), []);
    assert.equal(iso.calls.at(-1), `cleanup ${s.containerId.value}`);
  });

  it('a task outlives the process that launched it (kill -9) and is recovered', async () => {
    const s = spec('unused');
    const id = s.containerId.value!;
    const runtime = join(dir, 'run-k9');
    const launcher = spawn(process.execPath, ['--import', 'tsx', join(here, 'testing', 'launch-and-wait.ts'), runtime, s.sandboxDirectory, id], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      launcher.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      launcher.on('exit', (code) => reject(new Error(`launcher exited ${code}`)));
    });
    const { pid } = JSON.parse(line) as { pid: number };
    pids.push(pid);
    launcher.kill('SIGKILL');
    await new Promise((r) => launcher.once('exit', r));
    await new Promise((r) => setTimeout(r, 200));
    assert.doesNotThrow(() => process.kill(pid, 0), 'the task survived its launcher');
    const again = createMesosContainerizer({ runtimeDir: runtime, reapIntervalMs: 50 });
    await again.recover([
      {
        containerId: { value: id },
        frameworkId: { value: 'F' },
        task: s.task,
        executor: s.executor,
        sandboxDirectory: s.sandboxDirectory,
        containerizer: 'mesos',
      },
    ]);
    assert.equal((await again.status(id)).executorPid, pid);
    const ended = again.wait(id);
    await again.destroy(id, { gracePeriodMs: 2000 });
    assert.equal((await ended).state, TaskState.TASK_KILLED);
    assert.throws(() => process.kill(pid, 0));
    assert.equal(readFileSync(join(s.sandboxDirectory, 'stdout'), 'utf8'), 'started\n');
  });
});
