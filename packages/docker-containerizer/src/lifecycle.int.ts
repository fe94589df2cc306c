// A container's life against the real daemon: its end (finished, failed), its logs in the sandbox,
// a kill within the task's grace period that leaves no container behind, and an agent restart: a
// new containerizer recovers a running container (wait, status and logs work again, no line lost or
// repeated), reports one that ended while the agent was away, and reaps one nobody knows.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ContainerizerError } from '@ippc/core';
import { ContainerInfo_DockerInfo_Network as Network, TaskState, TaskStatus_Reason, TaskStatus_Source } from '@ippc/proto';
import type { DockerContainerizer } from './docker-containerizer.js';
import { createHarness, dockerTask, eventually, type Harness } from './testing/int-harness.js';

let h: Harness;
let c: DockerContainerizer;

before(async () => {
  h = await createHarness();
  c = h.containerizer();
});

after(async () => {
  await h?.teardown();
});

async function gone(dockerId: string | undefined): Promise<void> {
  assert.ok(dockerId);
  await assert.rejects(h.docker.getContainer(dockerId).inspect(), /no such container/i);
}

describe('a container that ends', () => {
  it('exit 0: TASK_FINISHED, its output in the sandbox, the container removed', async () => {
    const t = dockerTask(h, { network: Network.BRIDGE, command: 'echo "out $MESOS_TASK_ID"; echo err >&2; ls /mnt/mesos/sandbox; exit 0' });
    await c.launch(t.spec);
    const dockerId = c.describe(t.containerId)?.dockerId;
    const end = await c.wait(t.containerId);
    assert.deepEqual(end, { state: TaskState.TASK_FINISHED, message: 'Container exited with status 0', exitCode: 0 });
    assert.deepEqual(
      t.statuses.map((s) => TaskState[s.state]),
      ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED'],
    );
    const last = t.statuses.at(-1)!;
    assert.equal(last.message, 'Container exited with status 0');
    assert.equal(last.source, TaskStatus_Source.SOURCE_EXECUTOR);
    // The sandbox is mounted: the task saw its own stdout file there.
    assert.deepEqual(t.stdout().split('\n'), [`out ${t.taskId}`, 'stderr', 'stdout', '']);
    assert.equal(t.stderr(), 'err\n');
    await gone(dockerId);
    assert.deepEqual(c.containers(), []);
    // wait() keeps answering after the container is gone; destroy() of an ended one is a no-op.
    assert.equal((await c.wait(t.containerId)).state, TaskState.TASK_FINISHED);
    assert.equal(await c.destroy(t.containerId), true);
  });

  it('exit 3: TASK_FAILED, Container exited with status 3', async () => {
    const t = dockerTask(h, { network: Network.NONE, command: 'exit 3' });
    await c.launch(t.spec);
    const end = await c.wait(t.containerId);
    assert.equal(end.state, TaskState.TASK_FAILED);
    assert.equal(end.message, 'Container exited with status 3');
    assert.equal(t.statuses.at(-1)!.state, TaskState.TASK_FAILED);
    assert.deepEqual(await h.leftovers(), []);
  });

  it('unknown containers are refused by wait and status, destroy says false', async () => {
    await assert.rejects(c.wait('nope'), (err: unknown) => err instanceof ContainerizerError && err.code === 'CONTAINER_NOT_FOUND');
    await assert.rejects(c.status('nope'), /Unknown container: nope/);
    assert.equal(await c.destroy('nope'), false);
  });
});

describe('kill', () => {
  it("waits the task's grace period before SIGKILL, then TASK_KILLED and no container left", async () => {
    // `sleep` as PID 1 ignores SIGTERM, so only the SIGKILL after the grace period ends it.
    const t = dockerTask(h, { network: Network.BRIDGE, command: 'exec sleep 300', gracePeriodMs: 2_000 });
    await c.launch(t.spec);
    const dockerId = c.describe(t.containerId)?.dockerId;
    const t0 = Date.now();
    assert.equal(await c.destroy(t.containerId), true);
    const took = Date.now() - t0;
    assert.ok(took >= 1_900 && took < 6_000, `kill took ${took} ms with a 2 s grace period`);
    const end = await c.wait(t.containerId);
    assert.equal(end.state, TaskState.TASK_KILLED);
    assert.equal(end.message, 'Container exited with status 137');
    assert.deepEqual(
      t.statuses.map((s) => TaskState[s.state]),
      ['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLED'],
    );
    await gone(dockerId);
    assert.deepEqual(await h.leftovers(), []);
  });

  it('a task that handles SIGTERM ends at once; destroy() overrides the grace period', async () => {
    const t = dockerTask(h, { network: Network.BRIDGE, command: 'trap "echo bye; exit 0" TERM; sleep 300 & wait', gracePeriodMs: 30_000 });
    await c.launch(t.spec);
    const t0 = Date.now();
    await c.destroy(t.containerId, { gracePeriodMs: 10_000 });
    assert.ok(Date.now() - t0 < 5_000, 'SIGTERM ended it before the grace period');
    // Killed wins over the exit status, as in Mesos's docker executor.
    assert.deepEqual(await c.wait(t.containerId), { state: TaskState.TASK_KILLED, message: 'Container exited with status 0', exitCode: 0 });
    assert.equal(t.stdout(), 'bye\n');
    assert.deepEqual(await h.leftovers(), []);
  });

  it('destroy during launch: TASK_KILLED and nothing left', async () => {
    const t = dockerTask(h, { network: Network.BRIDGE, command: 'exec sleep 300' });
    const launching = c.launch(t.spec);
    const destroyed = c.destroy(t.containerId, { gracePeriodMs: 0 });
    await launching;
    assert.equal(await destroyed, true);
    assert.equal((await c.wait(t.containerId)).state, TaskState.TASK_KILLED);
    assert.equal(t.statuses.at(-1)!.state, TaskState.TASK_KILLED);
    assert.deepEqual(await h.leftovers(), []);
  });

  it('destroy right after TASK_STARTING (while the container is being created): TASK_KILLED and nothing left', async () => {
    const t = dockerTask(h, { network: Network.BRIDGE, command: 'exec sleep 300' });
    let destroyed: Promise<boolean> | undefined;
    const send = t.spec.sendStatus;
    await c.launch({
      ...t.spec,
      sendStatus: (s) => {
        send(s);
        if (s.state === TaskState.TASK_STARTING) destroyed = c.destroy(t.containerId, { gracePeriodMs: 0 });
      },
    });
    assert.equal(await destroyed, true);
    assert.equal((await c.wait(t.containerId)).state, TaskState.TASK_KILLED);
    assert.deepEqual(
      t.statuses.map((s) => TaskState[s.state]),
      ['TASK_STARTING', 'TASK_KILLED'],
    );
    assert.deepEqual(await h.leftovers(), []);
  });
});

describe('agent restart', () => {
  it('a new containerizer recovers a running container, reports an ended one, and reaps an unknown one', async () => {
    const first = h.containerizer();
    // Numbered lines every 50 ms, bounded (2000 lines, 100 s).
    const running = dockerTask(h, {
      network: Network.BRIDGE,
      command: 'i=0; while [ $i -lt 2000 ]; do echo "line $i"; i=$((i+1)); sleep 0.05; done',
    });
    // Ends only once told to (a file in its sandbox), i.e. while the agent is away (bounded: 60 s).
    const endsWhileDown = dockerTask(h, {
      network: Network.NONE,
      command: 'echo partial; i=0; while [ ! -e /mnt/mesos/sandbox/go ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; echo done; exit 4',
    });
    const unknown = dockerTask(h, { network: Network.NONE, command: 'exec sleep 300' });
    const vanished = dockerTask(h, { network: Network.NONE, command: 'exec sleep 300' });
    for (const t of [running, endsWhileDown, unknown, vanished]) await first.launch(t.spec);
    const ids = Object.fromEntries([running, endsWhileDown, unknown, vanished].map((t) => [t.containerId, first.describe(t.containerId)!.dockerId!]));
    const before = first.describe(running.containerId)!;
    await eventually(() => (running.stdout().split('\n').length > 5 ? true : undefined), 'some lines in the sandbox');

    // The agent goes away: containers keep running, nobody copies their logs.
    await first.close();
    await h.docker.getContainer(ids[vanished.containerId]!).remove({ force: true });
    writeFileSync(join(endsWhileDown.sandbox, 'go'), '');
    await eventually(
      async () => ((await h.docker.getContainer(ids[endsWhileDown.containerId]!).inspect()).State.Running ? undefined : true),
      'the task told to end to exit',
    );
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await h.docker.getContainer(ids[running.containerId]!).inspect()).State.Running, true);

    const second = h.containerizer();
    await second.recover([running.known(), endsWhileDown.known(), vanished.known(), { ...unknown.known(), containerizer: 'mesos' }]);

    // The running one is back under the same Docker container with the same address.
    const again = second.describe(running.containerId)!;
    assert.equal(again.phase, 'running');
    assert.equal(again.dockerId, before.dockerId);
    assert.deepEqual(again.networkInfo?.ipAddresses, before.networkInfo?.ipAddresses);
    assert.deepEqual((await second.status(running.containerId)).containerId, { value: running.containerId });
    assert.deepEqual(second.containers(), [running.containerId]);

    // The one that ended while the agent was away is reported with its exit status, log complete.
    const ended = await second.wait(endsWhileDown.containerId);
    assert.deepEqual(ended, { state: TaskState.TASK_FAILED, message: 'Container exited with status 4', exitCode: 4 });
    assert.equal(endsWhileDown.stdout(), 'partial\ndone\n');
    await gone(ids[endsWhileDown.containerId]);

    // The one removed behind the agent's back: the executor is gone.
    assert.deepEqual(await second.wait(vanished.containerId), {
      state: TaskState.TASK_FAILED,
      reason: TaskStatus_Reason.REASON_EXECUTOR_TERMINATED,
      message: 'Executor terminated',
    });

    // Not docker's to know (another containerizer's): an orphan here, reaped.
    await gone(ids[unknown.containerId]);

    // Logs continue where the first agent stopped: every line once, in order, none missing.
    await eventually(() => (Number(/line (\d+)\n$/.exec(running.stdout())?.[1] ?? 0) > 60 ? true : undefined), 'lines written after the restart');
    assert.equal(await second.destroy(running.containerId, { gracePeriodMs: 0 }), true);
    const end = await second.wait(running.containerId);
    assert.equal(end.state, TaskState.TASK_KILLED);
    const lines = running.stdout().trimEnd().split('\n');
    assert.deepEqual(
      lines,
      lines.map((_, i) => `line ${i}`),
      'no line lost or repeated across the restart',
    );
    await gone(ids[running.containerId]);
    assert.deepEqual(await h.leftovers(), []);
  });
});
