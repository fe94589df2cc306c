import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isIppcError, type ContainerConfig, type ExecutorStatus, type Isolator, type KnownContainer, type LaunchSpec } from '@ippc/core';
import { TaskState, TaskStatus_Reason, type ContainerID } from '@ippc/proto';
import { createMesosContainerizer, type MesosContainerizer } from './mesos-containerizer.js';

// Nested containers (the tasks of a task group) with host processes: no root needed, the parent
// runs in the agent's namespaces, so there is nothing to enter.

let dir: string;
let seq = 0;

function spec(command: string, parent?: ContainerID, statuses: ExecutorStatus[] = []): LaunchSpec {
  const value = `n${seq++}-${process.pid}`;
  const containerId: ContainerID = parent ? { value, parent } : { value };
  const sandbox = join(dir, 'sandboxes', value);
  mkdirSync(sandbox, { recursive: true });
  return {
    containerId,
    frameworkId: { value: 'F' },
    agentId: { value: 'A' },
    task: { name: value, taskId: { value }, agentId: { value: 'A' }, resources: [], command: { value: command, uris: [], arguments: [] }, limits: {} },
    executor: { executorId: { value: parent?.value ?? value }, resources: [] },
    sandboxDirectory: sandbox,
    environment: {},
    sendStatus: (s) => statuses.push(s),
  };
}

const idOf = (s: LaunchSpec) => (s.containerId.parent ? `${s.containerId.parent.value}.${s.containerId.value}` : s.containerId.value!);
const known = (s: LaunchSpec): KnownContainer => ({
  containerId: s.containerId,
  frameworkId: s.frameworkId,
  task: s.task,
  executor: s.executor,
  sandboxDirectory: s.sandboxDirectory,
  containerizer: 'mesos',
});

/** An isolator that records what it is asked, and answers status() with the id it was asked about. */
function recording(): Isolator & { calls: string[]; configs: ContainerConfig[] } {
  const calls: string[] = [];
  const configs: ContainerConfig[] = [];
  const str = (id: ContainerID): string => (id.parent ? `${str(id.parent)}.${id.value}` : id.value!);
  return {
    name: 'test/recording',
    calls,
    configs,
    recover: async () => undefined,
    prepare: async (config) => {
      configs.push(config);
      calls.push(`prepare ${str(config.containerId)}`);
      return undefined;
    },
    isolate: async (id) => void calls.push(`isolate ${str(id)}`),
    status: async (id) => ({ networkInfos: [{ name: `net-of-${str(id)}`, ipAddresses: [], groups: [], portMappings: [] }] }),
    cleanup: async (id) => void calls.push(`cleanup ${str(id)}`),
  };
}

describe('Mesos containerizer: nested containers', () => {
  let mc: MesosContainerizer;
  let iso: ReturnType<typeof recording>;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nst-mc-'));
    iso = recording();
    mc = createMesosContainerizer({ runtimeDir: join(dir, 'run'), defaultGracePeriodMs: 1000, isolators: [iso], reapIntervalMs: 50 });
    await mc.recover([]);
  });
  after(async () => {
    for (const id of mc.containers().sort((a, b) => b.length - a.length)) await mc.destroy(id, { gracePeriodMs: 0 });
    // A test that failed half-way may leave tasks behind: their pids are in the run directories.
    for (const file of readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('/pid'))) {
      try {
        process.kill(-(JSON.parse(readFileSync(join(dir, file), 'utf8')) as { pid: number }).pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a nested container under its parent: own statuses, sandbox, pid and run directory; ids in the parent.child form', async () => {
    const parent = spec('exec sleep 600');
    await mc.launch(parent);
    const statuses: ExecutorStatus[] = [];
    const child = spec('echo "in $(pwd)"; exit 4', parent.containerId, statuses);
    await mc.launch(child);
    const id = idOf(child);
    assert.deepEqual(
      statuses.map((s) => s.state),
      [TaskState.TASK_STARTING, TaskState.TASK_RUNNING],
    );
    assert.ok(mc.containers().includes(id));
    assert.ok(
      existsSync(join(dir, 'run', 'containers', parent.containerId.value!, 'containers', child.containerId.value!, 'config.json')),
      "Mesos's runtime layout",
    );
    const t = await mc.wait(id);
    assert.equal(t.state, TaskState.TASK_FAILED);
    assert.equal(t.message, 'Command exited with status 4');
    assert.equal(readFileSync(join(child.sandboxDirectory, 'stdout'), 'utf8').trim(), `in ${child.sandboxDirectory}`);
    const st = await mc.status(id);
    assert.deepEqual(st.containerId, child.containerId);
    assert.notEqual(st.executorPid, (await mc.status(idOf(parent))).executorPid);
    assert.deepEqual(
      st.networkInfos.map((n) => n.name),
      [`net-of-${id}`],
      'the isolators are asked with the nested id',
    );
    assert.deepEqual(iso.configs.at(-1)!.containerId, child.containerId);
    assert.deepEqual(iso.calls.slice(-2), [`prepare ${id}`, `isolate ${id}`]);
    assert.equal(await mc.destroy(id), true);
    assert.equal(iso.calls.at(-1), `cleanup ${id}`);
    assert.equal(existsSync(join(dir, 'run', 'containers', parent.containerId.value!, 'containers', child.containerId.value!)), false);
    assert.ok(alive((await mc.status(idOf(parent))).executorPid!), 'the parent runs on');
    await mc.destroy(idOf(parent));
  });

  it("fails cleanly with Mesos's messages when the parent does not exist, does not run, or is being destroyed", async () => {
    const before = mc.containers().sort();
    const calls = iso.calls.length;
    const orphan = spec('exec sleep 600', { value: 'nst-nope' });
    await assert.rejects(
      mc.launch(orphan),
      (err) => isIppcError(err, 'CONTAINER_LAUNCH_FAILED') && (err as Error).message === 'Parent container nst-nope does not exist',
    );
    assert.equal(existsSync(join(dir, 'run', 'containers', 'nst-nope')), false, 'no run directory');

    const ended = spec('exit 0');
    await mc.launch(ended);
    await mc.wait(idOf(ended));
    await assert.rejects(
      mc.launch(spec('exec sleep 600', ended.containerId)),
      (err) => isIppcError(err, 'CONTAINER_LAUNCH_FAILED') && (err as Error).message === `Parent container ${idOf(ended)} is not running`,
    );
    await mc.destroy(idOf(ended));

    const stubborn = spec("trap '' TERM; while :; do sleep 0.05; done");
    await mc.launch(stubborn);
    const destroying = mc.destroy(idOf(stubborn), { gracePeriodMs: 300 });
    await assert.rejects(
      mc.launch(spec('exec sleep 600', stubborn.containerId)),
      (err) => isIppcError(err, 'CONTAINER_LAUNCH_FAILED') && (err as Error).message === `Parent container ${idOf(stubborn)} is in 'DESTROYING' state`,
    );
    await destroying;
    assert.deepEqual(mc.containers().sort(), before);
    assert.equal(
      iso.calls.slice(calls).filter((c) => c.startsWith('prepare')).length,
      2,
      'isolators are not asked for a refused nested container (only the two parents)',
    );
  });

  it("a nested container launched while its parent launches waits for it: isolated and let go once the parent runs; the parent's failure fails it and leaves nothing", async () => {
    // The parent's isolate() waits at a gate, as a pod's does while its networks are attached.
    const gates: { open(): void; fail(err: Error): void }[] = [];
    const order: string[] = [];
    const gated: Isolator = {
      name: 'test/gated',
      recover: async () => undefined,
      prepare: async () => undefined,
      isolate: async (id) => {
        if (id.parent) return void order.push('isolate nested');
        await new Promise<void>((resolve, reject) => gates.push({ open: resolve, fail: reject }));
        order.push('parent isolated');
      },
      status: async () => ({ networkInfos: [] }),
      cleanup: async (id) => void order.push(`cleanup ${id.parent ? 'nested' : 'parent'}`),
    };
    const gmc = createMesosContainerizer({ runtimeDir: join(dir, 'gated'), defaultGracePeriodMs: 1000, isolators: [gated], reapIntervalMs: 50 });
    await gmc.recover([]);
    const waitFor = async (what: () => boolean): Promise<void> => {
      for (let i = 0; i < 200 && !what(); i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(what());
    };

    const parent = spec('exec sleep 600');
    const parentUp = gmc.launch(parent);
    const statuses: ExecutorStatus[] = [];
    const child = spec('echo ran > ran; exec sleep 600', parent.containerId, statuses);
    const childUp = gmc.launch(child);
    await waitFor(
      () => gates.length === 1 && existsSync(join(dir, 'gated', 'containers', parent.containerId.value!, 'containers', child.containerId.value!, 'pid')),
    );
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(order.length, 0, 'the nested container waits: not isolated');
    assert.equal(statuses.length, 0, 'no status yet');
    assert.equal(existsSync(join(child.sandboxDirectory, 'ran')), false, 'its task has not run');
    gates[0]!.open();
    await parentUp;
    await childUp;
    assert.deepEqual(order, ['parent isolated', 'isolate nested']);
    assert.deepEqual(
      statuses.map((s) => s.state),
      [TaskState.TASK_STARTING, TaskState.TASK_RUNNING],
    );
    await waitFor(() => existsSync(join(child.sandboxDirectory, 'ran')));
    await gmc.destroy(idOf(parent), { gracePeriodMs: 0 });

    // A nested container destroyed while it waits for its parent is killed once the launch is done.
    const pod = spec('exec sleep 600');
    const podUp = gmc.launch(pod);
    const early = spec('exec sleep 600', pod.containerId);
    const earlyUp = gmc.launch(early);
    await waitFor(
      () => gates.length === 2 && existsSync(join(dir, 'gated', 'containers', pod.containerId.value!, 'containers', early.containerId.value!, 'pid')),
    );
    const earlyEnds = gmc.wait(idOf(early));
    const destroyed = gmc.destroy(idOf(early), { gracePeriodMs: 0 });
    gates[1]!.open();
    await Promise.all([podUp, earlyUp]);
    assert.equal(await destroyed, true);
    assert.equal((await earlyEnds).state, TaskState.TASK_KILLED);
    assert.deepEqual(gmc.containers(), [idOf(pod)]);
    await gmc.destroy(idOf(pod), { gracePeriodMs: 0 });

    // A parent whose launch fails takes the nested container being launched with it.
    order.length = 0;
    const doomed = spec('exec sleep 600');
    const doomedUp = gmc.launch(doomed);
    const orphan = spec('echo ran > ran; exec sleep 600', doomed.containerId);
    const orphanUp = gmc.launch(orphan);
    await waitFor(
      () => gates.length === 3 && existsSync(join(dir, 'gated', 'containers', doomed.containerId.value!, 'containers', orphan.containerId.value!, 'pid')),
    );
    gates[2]!.fail(new Error('no address left'));
    await assert.rejects(doomedUp, /no address left/);
    await assert.rejects(
      orphanUp,
      (err) => isIppcError(err, 'CONTAINER_LAUNCH_FAILED') && (err as Error).message === `Parent container ${idOf(doomed)} is not running`,
    );
    assert.equal(existsSync(join(orphan.sandboxDirectory, 'ran')), false, 'its task never ran');
    assert.deepEqual(gmc.containers(), []);
    assert.deepEqual(readdirSync(join(dir, 'gated', 'containers')), [], 'no run directory left');
    assert.ok(order.includes('cleanup nested') && order.includes('cleanup parent'), order.join(', '));
  });

  it('destroy of the parent kills its nested containers first (TASK_KILLED), then the parent; destroy of one nested container leaves the rest', async () => {
    const parent = spec('exec sleep 600');
    await mc.launch(parent);
    const a = spec('exec sleep 600', parent.containerId);
    const b = spec('exec sleep 600', parent.containerId);
    const c = spec('exec sleep 600', parent.containerId);
    for (const s of [a, b, c]) await mc.launch(s);
    const ends: string[] = [];
    const waits = [parent, a, b, c].map((s) => mc.wait(idOf(s)).then((t) => (ends.push(idOf(s)), t)));
    await mc.destroy(idOf(a), { gracePeriodMs: 500 });
    assert.equal((await waits[1])!.state, TaskState.TASK_KILLED);
    assert.deepEqual(ends, [idOf(a)]);
    assert.ok(mc.containers().includes(idOf(b)) && mc.containers().includes(idOf(parent)), 'the others run on');
    const cleanupsBefore = iso.calls.filter((x) => x.startsWith('cleanup')).length;
    await mc.destroy(idOf(parent), { gracePeriodMs: 500 });
    const all = await Promise.all(waits);
    assert.deepEqual(
      all.map((t) => t.state),
      [TaskState.TASK_KILLED, TaskState.TASK_KILLED, TaskState.TASK_KILLED, TaskState.TASK_KILLED],
    );
    assert.equal(ends.at(-1), idOf(parent), 'the parent ends last');
    const cleanups = iso.calls.filter((x) => x.startsWith('cleanup')).slice(cleanupsBefore);
    assert.deepEqual(cleanups.sort(), [`cleanup ${idOf(b)}`, `cleanup ${idOf(c)}`, `cleanup ${idOf(parent)}`].sort());
    assert.equal(iso.calls.filter((x) => x.startsWith('cleanup')).at(-1), `cleanup ${idOf(parent)}`, "the parent's network goes last, once");
    assert.equal(existsSync(join(dir, 'run', 'containers', parent.containerId.value!)), false);
    assert.equal(await mc.destroy(idOf(b)), false, 'gone with the parent');
  });

  it('recover: nested containers under a live parent are found again (listed before it or not); under a gone parent they are killed and reported', async () => {
    // A first agent launches a pod whose executor will die, and a pod that lives.
    const runtimeDir = join(dir, 'run-recover');
    const first = createMesosContainerizer({ runtimeDir });
    await first.recover([]);
    const parent = spec('exec sleep 600');
    await first.launch(parent);
    const child = spec('exec sleep 600', parent.containerId);
    await first.launch(child);
    const doomed = spec('exec sleep 600');
    await first.launch(doomed);
    const stray = spec('exec sleep 600', doomed.containerId);
    await first.launch(stray);
    const strayPid = (await first.status(idOf(stray))).executorPid!;
    const unknownChild = spec('exec sleep 600', parent.containerId);
    await first.launch(unknownChild);
    const unknownPid = (await first.status(idOf(unknownChild))).executorPid!;
    first.close();
    // The agent is down; the pod's executor dies meanwhile and its task stays.
    process.kill((await first.status(idOf(doomed))).executorPid!, 'SIGKILL');
    await waitFor(() => existsSync(join(runtimeDir, 'containers', doomed.containerId.value!, 'status')));

    const again = createMesosContainerizer({ runtimeDir, reapIntervalMs: 50, isolators: [recording()] });
    await again.recover([child, parent, stray, doomed].map(known));
    assert.deepEqual(again.containers().sort(), [parent, child, doomed, stray].map(idOf).sort(), 'the unknown nested container is an orphan');
    await waitFor(() => !alive(unknownPid));
    const childPid = (await again.status(idOf(child))).executorPid!;
    assert.ok(alive(childPid), 'the live nested container keeps running');
    const t = await again.wait(idOf(stray));
    assert.deepEqual(
      { state: t.state, reason: t.reason, message: t.message },
      {
        state: TaskState.TASK_FAILED,
        reason: TaskStatus_Reason.REASON_EXECUTOR_TERMINATED,
        message: `Abnormal executor termination: parent container ${idOf(doomed)} is gone`,
      },
    );
    await waitFor(() => !alive(strayPid));
    assert.equal(
      existsSync(join(runtimeDir, 'containers', doomed.containerId.value!, 'containers', stray.containerId.value!)),
      false,
      'its run directory is gone',
    );
    assert.equal((await again.wait(idOf(doomed))).message, 'Command terminated with signal Killed');

    const ended = again.wait(idOf(child));
    await again.destroy(idOf(parent), { gracePeriodMs: 500 });
    assert.equal((await ended).state, TaskState.TASK_KILLED);
    assert.ok(!alive(childPid));
    for (const id of again.containers()) await again.destroy(id, { gracePeriodMs: 0 });
    again.close();
    assert.deepEqual(readdirSync(join(runtimeDir, 'containers')), []);
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  for (const t0 = Date.now(); !check();) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
