import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, readdirSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isIppcError, type ExecutorStatus, type Isolator, type LaunchSpec } from '@ippc/core';
import { ContainerInfo_Type, TaskState, type ContainerID } from '@ippc/proto';
import { commandArgv } from './launch.js';
import { createMesosContainerizer, type MesosContainerizer } from './mesos-containerizer.js';

let dir: string;
let seq = 0;

function spec(command: string, statuses: ExecutorStatus[] = [], extra: Partial<LaunchSpec> = {}): LaunchSpec {
  const id = `c${seq++}-${process.pid}`;
  const sandbox = join(dir, 'sandboxes', id);
  mkdirSync(sandbox, { recursive: true });
  return {
    containerId: { value: id },
    frameworkId: { value: 'F' },
    agentId: { value: 'A' },
    task: { name: id, taskId: { value: id }, agentId: { value: 'A' }, resources: [], command: { value: command, uris: [], arguments: [] }, limits: {} },
    executor: { executorId: { value: id }, resources: [] },
    sandboxDirectory: sandbox,
    environment: { MESOS_TASK_ID: id, PORT0: '31000' },
    sendStatus: (s) => statuses.push(s),
    ...extra,
  };
}

describe('Mesos containerizer: host processes', () => {
  let mc: MesosContainerizer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cp-mc-'));
    mc = createMesosContainerizer({ runtimeDir: join(dir, 'run'), defaultGracePeriodMs: 1000 });
    await mc.recover([]);
  });
  after(async () => {
    for (const id of mc.containers()) await mc.destroy(id, { gracePeriodMs: 0 });
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a command in its sandbox with the environment, sends STARTING and RUNNING, reports the exit', async () => {
    const statuses: ExecutorStatus[] = [];
    const s = spec('echo "task=$MESOS_TASK_ID port=$PORT0 cwd=$(pwd)"; echo oops >&2; exit 3', statuses);
    await mc.launch(s);
    assert.deepEqual(
      statuses.map((x) => x.state),
      [TaskState.TASK_STARTING, TaskState.TASK_RUNNING],
    );
    const id = s.containerId.value!;
    const status = await mc.status(id);
    assert.equal(status.containerId?.value, id);
    assert.deepEqual(status.networkInfos, [], 'no isolator: no network_infos, the agent fills in its IP');
    const t = await mc.wait(id);
    assert.equal(t.state, TaskState.TASK_FAILED);
    assert.equal(t.message, 'Command exited with status 3');
    assert.equal(t.exitCode, 3);
    assert.equal(readFileSync(join(s.sandboxDirectory, 'stdout'), 'utf8').trim(), `task=${id} port=31000 cwd=${s.sandboxDirectory}`);
    assert.equal(readFileSync(join(s.sandboxDirectory, 'stderr'), 'utf8').trim(), 'oops');
    assert.equal(await mc.destroy(id), true);
    assert.equal(await mc.destroy(id), false, 'destroy is idempotent and says when it knew nothing');
    assert.equal(existsSync(join(dir, 'run', 'containers', id)), false, 'no checkpoint left');
  });

  it('reports TASK_FINISHED for exit 0 and runs executable commands without a shell', async () => {
    const s = spec('/bin/echo');
    s.task.command = { value: '/bin/echo', shell: false, arguments: ['echo', 'a b', 'c'], uris: [] };
    assert.deepEqual(commandArgv(s.task, s.executor), ['/bin/echo', 'a b', 'c']);
    await mc.launch(s);
    const t = await mc.wait(s.containerId.value!);
    assert.equal(t.state, TaskState.TASK_FINISHED);
    assert.equal(t.message, 'Command exited with status 0');
    assert.equal(readFileSync(join(s.sandboxDirectory, 'stdout'), 'utf8'), 'a b c\n');
    await mc.destroy(s.containerId.value!);
  });

  it('kills with SIGTERM, then SIGKILL after the grace period, the whole process group', async () => {
    const polite = spec('sleep 600 & wait');
    await mc.launch(polite);
    const pid = (await mc.status(polite.containerId.value!)).executorPid!;
    await mc.destroy(polite.containerId.value!, { gracePeriodMs: 2000 });
    const t1 = await mc.wait(polite.containerId.value!).catch(() => undefined);
    assert.equal(t1, undefined, 'destroyed containers are forgotten');
    // The group's last members are reaped by init a moment after the leader.
    const gone = async () => {
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(-pid, 0);
        } catch {
          return true;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      return false;
    };
    assert.ok(await gone(), 'nothing of the group is left');

    const stubborn = spec("trap '' TERM; echo ready; while :; do sleep 0.1; done");
    await mc.launch(stubborn);
    const id = stubborn.containerId.value!;
    const ended = mc.wait(id);
    for (let i = 0; i < 50 && !readFileSync(join(stubborn.sandboxDirectory, 'stdout'), 'utf8').includes('ready'); i++)
      await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    await mc.destroy(id, { gracePeriodMs: 300 });
    const t = await ended;
    assert.equal(t.state, TaskState.TASK_KILLED);
    assert.equal(t.message, 'Command terminated with signal Killed');
    assert.ok(Date.now() - t0 >= 250, 'waited for the grace period');
  });

  it('a killed task that honours SIGTERM reports signal Terminated', async () => {
    const s = spec('exec sleep 600');
    await mc.launch(s);
    const ended = mc.wait(s.containerId.value!);
    await mc.destroy(s.containerId.value!, { gracePeriodMs: 5000 });
    const t = await ended;
    assert.equal(t.state, TaskState.TASK_KILLED);
    assert.equal(t.message, 'Command terminated with signal Terminated');
  });

  it('finds running tasks again after a restart, and what ended while it was away', async () => {
    const running = spec('exec sleep 600');
    const quick = spec('exit 7');
    await mc.launch(running);
    await mc.launch(quick);
    await mc.wait(quick.containerId.value!);
    // A second containerizer on the same runtime dir plays the restarted agent.
    const again = createMesosContainerizer({ runtimeDir: join(dir, 'run'), reapIntervalMs: 50 });
    const orphanDir = join(dir, 'run', 'containers', 'orphan-x');
    mkdirSync(orphanDir, { recursive: true });
    const known = [running, quick].map((s) => ({
      containerId: s.containerId,
      frameworkId: s.frameworkId,
      task: s.task,
      executor: s.executor,
      sandboxDirectory: s.sandboxDirectory,
      containerizer: 'mesos',
    }));
    await again.recover(known);
    assert.deepEqual(again.containers().sort(), [running.containerId.value!, quick.containerId.value!].sort());
    assert.equal(existsSync(orphanDir), false, 'orphans are cleaned up');
    const q = await again.wait(quick.containerId.value!);
    assert.equal(q.state, TaskState.TASK_FAILED);
    assert.equal(q.message, 'Command exited with status 7');
    const pid = (await again.status(running.containerId.value!)).executorPid!;
    assert.doesNotThrow(() => process.kill(pid, 0), 'still running');
    // It ends on its own while only the new containerizer watches it.
    const ended = again.wait(running.containerId.value!);
    process.kill(pid, 'SIGTERM');
    const t = await ended;
    assert.equal(t.state, TaskState.TASK_FAILED);
    assert.equal(t.message, 'Command terminated with signal Terminated');
    for (const id of again.containers()) await again.destroy(id);
    again.close();
    // The first instance's view of them is stale now; forget them quietly.
    assert.deepEqual(readdirSync(join(dir, 'run', 'containers')), []);
  });

  it('leaves nothing behind when an isolator refuses, with its message', async () => {
    const calls: string[] = [];
    const refusing: Isolator = {
      name: 'test/refuse',
      recover: async () => undefined,
      prepare: async () => {
        calls.push('prepare');
        throw new Error("Unknown CNI network 'nope'");
      },
      isolate: async () => void calls.push('isolate'),
      status: async () => ({ networkInfos: [] }),
      cleanup: async (id: ContainerID) => void calls.push(`cleanup ${id.value}`),
    };
    const strict = createMesosContainerizer({ runtimeDir: join(dir, 'run2'), isolators: [refusing] });
    await strict.recover([]);
    const s = spec('exec sleep 600', [], {
      containerInfo: { type: ContainerInfo_Type.MESOS, networkInfos: [{ name: 'nope', groups: [], ipAddresses: [], portMappings: [] }] },
    });
    await assert.rejects(strict.launch(s), (err: unknown) => isIppcError(err, 'CONTAINER_LAUNCH_FAILED') && err.message === "Unknown CNI network 'nope'");
    assert.deepEqual(calls, ['prepare', `cleanup ${s.containerId.value}`]);
    assert.deepEqual(strict.containers(), []);
    assert.deepEqual(readdirSync(join(dir, 'run2', 'containers')), []);
  });

  it('reports the launch failure, not a failing cleanup after it, and forgets the container', async () => {
    const refusing: Isolator = {
      name: 'test/refuse-twice',
      recover: async () => undefined,
      prepare: async () => {
        throw new Error('network config larger than 1048576 bytes');
      },
      isolate: async () => undefined,
      status: async () => ({ networkInfos: [] }),
      cleanup: async () => {
        throw new Error('DEL refused too');
      },
    };
    const strict = createMesosContainerizer({ runtimeDir: join(dir, 'run3'), isolators: [refusing] });
    await strict.recover([]);
    const s = spec('exec sleep 600', []);
    await assert.rejects(
      strict.launch(s),
      (err: unknown) => isIppcError(err, 'CONTAINER_LAUNCH_FAILED') && err.message === 'network config larger than 1048576 bytes',
    );
    assert.deepEqual(strict.containers(), []);
    assert.deepEqual(readdirSync(join(dir, 'run3', 'containers')), []);
  });

  it('supports only MESOS containers', () => {
    assert.equal(mc.supports(undefined), true);
    assert.equal(mc.supports({ type: ContainerInfo_Type.MESOS, networkInfos: [] }), true);
    assert.equal(mc.supports({ type: ContainerInfo_Type.DOCKER, networkInfos: [] }), false);
  });
});
