import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isIppcError, type ContainerConfig } from '@ippc/core';
import { ContainerInfo_Type, type ExecutorInfo, type NetworkInfo } from '@ippc/proto';
import { fakeBridge, type FakeCall } from '../testing/fakes.js';
import { config, net, world } from '../testing/world.js';

describe('recover', () => {
  it('keeps live containers as they were (no DEL), DELs vanished and unknown ones, leaves known orphans to cleanup', async () => {
    const w = await world();
    const blue = net('blue', { groups: ['web'] });
    for (const [id, pid] of [
      ['live', 1],
      ['dead', 2],
      ['stray', 3],
      ['orphan', 4],
    ] as const) {
      await w.isolator.prepare(config(id, [blue, net('green')]));
      await w.isolator.isolate({ value: id }, pid);
    }
    const before = await w.isolator.status({ value: 'live' });
    const liveFiles = await readFile(join(w.rootDir, 'live', 'blue', 'eth0', 'network.info'), 'utf8');
    w.host.running.add(1); // 'dead' (pid 2) died while the agent was down
    w.invoker.calls.length = 0;

    const agent2 = w.make();
    await agent2.recover(
      [
        { containerId: { value: 'live' }, config: config('live', [blue, net('green')]), pid: 1 },
        { containerId: { value: 'dead' }, config: config('dead', [blue, net('green')]), pid: 2 },
      ],
      [{ value: 'orphan' }],
    );
    const dels = w.invoker.calls.filter((c) => c.command === 'DEL');
    assert.deepEqual([...new Set(dels.map((c) => c.env.CNI_CONTAINERID))].sort(), ['dead', 'stray']);
    assert.deepEqual(await agent2.status({ value: 'live' }), before, 'same status after recovery');
    assert.equal(await readFile(join(w.rootDir, 'live', 'blue', 'eth0', 'network.info'), 'utf8'), liveFiles);
    assert.equal(existsSync(join(w.rootDir, 'dead')), false);
    assert.equal(existsSync(join(w.rootDir, 'stray')), false);
    assert.deepEqual(agent2.containers().sort(), ['live', 'orphan']);
    await agent2.cleanup({ value: 'orphan' });
    await agent2.cleanup({ value: 'live' });
    assert.deepEqual(await readdir(w.rootDir), []);
  });

  it("takes the requested NetworkInfo from the executor's ContainerInfo when the state has no other", async () => {
    const w = await world();
    const labelled = net('green', { labels: { labels: [{ key: 'team', value: 'a' }] } });
    const viaExecutor = (id: string, nets: NetworkInfo[]): ContainerConfig => ({
      containerId: { value: id },
      executor: { resources: [], container: { type: ContainerInfo_Type.MESOS, networkInfos: nets } } as unknown as ExecutorInfo,
      sandboxDirectory: '/tmp',
    });
    await w.isolator.prepare(viaExecutor('e1', [labelled]));
    await w.isolator.isolate({ value: 'e1' }, 77);
    // The agent's record differs from the checkpointed args: the agent's record wins, as in Mesos.
    const relabelled = net('green', { labels: { labels: [{ key: 'team', value: 'b' }] } });
    w.host.running.add(77);
    const agent2 = w.make();
    await agent2.recover([{ containerId: { value: 'e1' }, config: viaExecutor('e1', [relabelled]), pid: 77 }], []);
    assert.deepEqual((await agent2.status({ value: 'e1' })).networkInfos[0]!.labels, { labels: [{ key: 'team', value: 'b' }] });
  });

  it('says when a plugin was killed for running past the plugin timeout (its output alone is empty)', async () => {
    const w = await world({ ptp: (call: FakeCall) => (call.command === 'ADD' ? { exitCode: null, stdout: '', stderr: '', timedOut: true } : undefined) });
    await w.isolator.prepare(config('slow', [net('green')]));
    await assert.rejects(w.isolator.isolate({ value: 'slow' }, 4243), (err) =>
      /^The CNI plugin '.*ptp' failed to attach container slow to CNI network 'green': stdout='', stderr=''; the plugin was killed after running past the plugin timeout \(the agent's --network_cni_plugin_timeout\)$/.test(
        (err as Error).message,
      ),
    );
  });

  it("makes the interface folder before ADD (Mesos's order), so an agent killed during the ADD still DELs after recovery", async () => {
    const seen: boolean[] = [];
    const w = await world({
      ptp: (call: FakeCall) => {
        if (call.command === 'ADD') seen.push(existsSync(join(w.rootDir, call.env.CNI_CONTAINERID!, 'green', call.env.CNI_IFNAME!)));
        return fakeBridge('10.220.8')(call);
      },
    });
    await w.isolator.prepare(config('k9', [net('green')]));
    await w.isolator.isolate({ value: 'k9' }, 4242);
    assert.deepEqual(seen, [true]);
    // The state an agent killed mid-ADD leaves: network.conf and the interface folder, no network.info.
    await rm(join(w.rootDir, 'k9', 'green', 'eth0', 'network.info'), { force: true });
    const again = w.make();
    await again.recover([], [{ value: 'k9' }]);
    w.invoker.calls.length = 0;
    await again.cleanup({ value: 'k9' });
    assert.deepEqual(
      w.invoker.calls.map((c) => `${c.command} ${c.type} ${c.env.CNI_IFNAME}`),
      ['DEL ptp eth0'],
    );
  });

  it('recovers a container whose ADD never finished (no network.info) so cleanup still runs DEL', async () => {
    const w = await world();
    await mkdir(join(w.rootDir, 'half', 'green', 'eth0'), { recursive: true });
    await writeFile(join(w.rootDir, 'half', 'green', 'network.conf'), JSON.stringify({ name: 'green', type: 'ptp' }));
    await w.isolator.recover([], [{ value: 'half' }]);
    assert.deepEqual(await w.isolator.status({ value: 'half' }), { networkInfos: [] });
    await w.isolator.cleanup({ value: 'half' });
    assert.deepEqual(
      w.invoker.calls.map((c) => `${c.command} ${c.type} ${c.env.CNI_IFNAME}`),
      ['DEL ptp eth0'],
    );
    assert.ok(w.lines.some((l) => l.level === 'warn' && /network\.info/.test(l.msg)));
  });

  it("fails recovery on an unreadable network.info, with Mesos's message", async () => {
    const w = await world();
    await mkdir(join(w.rootDir, 'bad', 'green', 'eth0'), { recursive: true });
    await writeFile(join(w.rootDir, 'bad', 'green', 'eth0', 'network.info'), 'garbage');
    await assert.rejects(
      w.isolator.recover([], []),
      (err) => isIppcError(err, 'CNI_RECOVERY_FAILED') && /^Failed to parse CNI network information file '.*network\.info': /.test((err as Error).message),
    );
  });
});
