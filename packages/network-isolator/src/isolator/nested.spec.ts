import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isIppcError, type ContainerConfig } from '@ippc/core';
import { ContainerInfo_Type, NetworkInfo_Protocol, type ContainerID } from '@ippc/proto';
import { config, net, world } from '../testing/world.js';

// Nested containers (the tasks of a task group) in their root container's network.

const pod: ContainerID = { value: 'pod' };
const task = (value: string, parent: ContainerID = pod): ContainerID => ({ value, parent });

/** A nested container's config as the agent gives it: the root's executor (with its networks), the task's own ContainerInfo if any. */
function nestedConfig(id: ContainerID, root: ContainerConfig, own?: ContainerConfig['containerInfo']): ContainerConfig {
  return { containerId: id, executor: { ...root.executor, container: root.containerInfo }, ...(own ? { containerInfo: own } : {}), sandboxDirectory: '/tmp' };
}

describe('nested containers', () => {
  it("join the root's network: no ADD, a mount namespace of their own, the root's addresses in status()", async () => {
    const w = await world();
    const root = config('pod', [net('blue')]);
    await w.isolator.prepare(root);
    await w.isolator.isolate(pod, 700);
    const adds = w.invoker.calls.length;
    const launch = await w.isolator.prepare(nestedConfig(task('t1'), root, { type: ContainerInfo_Type.MESOS, networkInfos: [] }));
    assert.deepEqual(launch, { namespaces: ['mnt'], environment: { LIBPROCESS_IP: '0.0.0.0' } }, 'net and uts are entered by the containerizer, not created');
    await w.isolator.isolate(task('t1'), 701);
    assert.equal(w.invoker.calls.length, adds, 'no plugin runs for a nested container');
    assert.deepEqual(w.host.setups.at(-1), {
      pid: 701,
      setup: {
        binds: [
          { source: join(w.rootDir, 'pod', 'hosts'), target: '/etc/hosts' },
          { source: join(w.rootDir, 'pod', 'hostname'), target: '/etc/hostname' },
        ],
        loopbackUp: false,
      },
    });
    const expected = (await w.isolator.status(pod)).networkInfos;
    assert.deepEqual(expected[0]!.ipAddresses[0], { protocol: NetworkInfo_Protocol.IPv4, ipAddress: '10.220.7.2' });
    assert.deepEqual((await w.isolator.status(task('t1'))).networkInfos, expected);
    assert.deepEqual((await w.isolator.status(task('deeper', task('t1')))).networkInfos, expected, 'any depth answers the root');
    assert.equal(await w.isolator.usage(task('t1')), undefined, 'the counters are the root container');
    await w.isolator.cleanup(task('t1'));
    assert.equal(w.invoker.calls.filter((c) => c.command === 'DEL').length, 0, "a nested container's cleanup leaves the root's network alone");
    assert.deepEqual(w.isolator.containers(), ['pod']);
    assert.deepEqual((await w.isolator.status(pod)).networkInfos, expected);
    await w.isolator.cleanup(pod);
    assert.ok(w.invoker.calls.some((c) => c.command === 'DEL'));
  });

  it("take the executor's networks as the root's, not their own: the root's ContainerInfo does not attach them again", async () => {
    const w = await world();
    const root = config('pod', [net('blue')]);
    await w.isolator.prepare(root);
    await w.isolator.isolate(pod, 710);
    const calls = w.invoker.calls.length;
    assert.deepEqual(await w.isolator.prepare(nestedConfig(task('t2'), root)), { namespaces: ['mnt'], environment: { LIBPROCESS_IP: '0.0.0.0' } });
    await w.isolator.isolate(task('t2'), 711);
    assert.equal(w.invoker.calls.length, calls);
  });

  it("refuse networks of their own with Mesos's message, and keep nothing", async () => {
    const w = await world();
    const root = config('pod', [net('blue')]);
    await w.isolator.prepare(root);
    await assert.rejects(
      w.isolator.prepare(nestedConfig(task('t3'), root, { type: ContainerInfo_Type.MESOS, networkInfos: [net('green')] })),
      (err) =>
        isIppcError(err, 'CNI_INVALID_REQUEST') &&
        (err as Error).message === "Currently, we don't support different network namespaces for parent and nested containers.",
    );
    assert.deepEqual(w.isolator.containers(), ['pod']);
  });

  it('under a root on the host network: nothing to enter, bind or report', async () => {
    const w = await world();
    const root = config('hostpod', []);
    assert.equal(await w.isolator.prepare(root), undefined);
    assert.equal(await w.isolator.prepare(nestedConfig(task('t4', { value: 'hostpod' }), root)), undefined);
    await w.isolator.isolate(task('t4', { value: 'hostpod' }), 720);
    assert.deepEqual(w.host.setups, []);
    assert.deepEqual(await w.isolator.status(task('t4', { value: 'hostpod' })), { networkInfos: [] });
  });

  it("after recover, a nested container known to the agent still answers its root's addresses; a new one joins the recovered root", async () => {
    const w = await world();
    const root = config('pod', [net('blue')]);
    await w.isolator.prepare(root);
    await w.isolator.isolate(pod, 730);
    await w.isolator.prepare(nestedConfig(task('t5'), root));
    await w.isolator.isolate(task('t5'), 731);
    const before = (await w.isolator.status(pod)).networkInfos;
    w.host.running.add(730);
    w.host.running.add(731);
    const again = w.make();
    await again.recover(
      [
        { containerId: pod, config: root, pid: 730 },
        { containerId: task('t5'), config: nestedConfig(task('t5'), root), pid: 731 },
      ],
      [],
    );
    assert.deepEqual((await again.status(task('t5'))).networkInfos, before);
    assert.deepEqual(await again.prepare(nestedConfig(task('t6'), root)), { namespaces: ['mnt'], environment: { LIBPROCESS_IP: '0.0.0.0' } });
    assert.equal(w.invoker.calls.filter((c) => c.command === 'DEL').length, 0, 'nothing detached');
  });
});
