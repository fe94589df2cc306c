import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fakeBridge } from '../testing/fakes.js';
import { config, net, world } from '../testing/world.js';

describe('cleanup', () => {
  it('runs DEL with the checkpointed config, unmounts the handle, removes the checkpoint; twice is fine', async () => {
    const w = await world();
    await w.isolator.prepare(config('x1', [net('blue', { portMappings: [{ hostPort: 33005, containerPort: 80 }] })]));
    await w.isolator.isolate({ value: 'x1' }, 1000);
    // The operator changes the config file: DEL must still use what ADD used.
    await writeFile(join(w.configDir, '10-blue.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'blue', plugins: [{ type: 'bridge', changed: true }] }));
    w.invoker.calls.length = 0;
    await w.isolator.cleanup({ value: 'x1' });
    assert.deepEqual(
      w.invoker.calls.map((c) => `${c.command} ${c.type}`),
      ['DEL bandwidth', 'DEL portmap', 'DEL bridge'],
    );
    assert.equal(w.invoker.calls[2]!.request.changed, undefined);
    assert.deepEqual(w.invoker.calls[1]!.request.runtimeConfig, { portMappings: [{ hostPort: 33005, containerPort: 80, protocol: 'tcp' }] });
    assert.equal(w.invoker.calls[0]!.env.CNI_NETNS, join(w.rootDir, 'x1', 'ns'));
    assert.equal(existsSync(join(w.rootDir, 'x1')), false);
    assert.equal(w.host.held.size, 0);
    await w.isolator.cleanup({ value: 'x1' });
    assert.equal(w.invoker.calls.length, 3);
  });

  it('runs DEL without CNI_NETNS when the namespace handle is gone', async () => {
    const w = await world();
    await w.isolator.prepare(config('x2', [net('green')]));
    await w.isolator.isolate({ value: 'x2' }, 1001);
    w.host.held.clear(); // e.g. the host rebooted
    await w.isolator.cleanup({ value: 'x2' });
    const del = w.invoker.calls.find((c) => c.command === 'DEL')!;
    assert.equal('CNI_NETNS' in del.env, false);
    assert.equal(existsSync(join(w.rootDir, 'x2')), false);
  });

  it('keeps the checkpoint when DEL fails, and a later cleanup retries', async () => {
    let broken = true;
    const w = await world({ ptp: (call) => (call.command === 'DEL' && broken ? { exitCode: 1, stdout: 'busy', stderr: '' } : fakeBridge('10.220.8')(call)) });
    await w.isolator.prepare(config('x3', [net('green')]));
    await w.isolator.isolate({ value: 'x3' }, 1002);
    await assert.rejects(
      w.isolator.cleanup({ value: 'x3' }),
      (err) => (err as Error).message === `The CNI plugin '/fake/cni/ptp' failed to detach container x3 from CNI network 'green': stdout='busy', stderr=''`,
    );
    assert.equal(existsSync(join(w.rootDir, 'x3', 'green', 'network.conf')), true);
    broken = false;
    await w.isolator.cleanup({ value: 'x3' });
    assert.equal(existsSync(join(w.rootDir, 'x3')), false);
  });

  it('tries a failed DEL again on its own, backing off, until it succeeds', async () => {
    let failures = 3;
    const dels: number[] = [];
    const w = await world({
      ptp: (call) => {
        if (call.command !== 'DEL') return fakeBridge('10.220.8')(call);
        dels.push(Date.now());
        return failures-- > 0 ? { exitCode: 1, stdout: 'ipam unreachable', stderr: '' } : fakeBridge('10.220.8')(call);
      },
    });
    const isolator = w.make({ cleanupRetry: { firstMs: 20, maxMs: 80 } });
    await isolator.prepare(config('x9', [net('green')]));
    await isolator.isolate({ value: 'x9' }, 1009);
    await assert.rejects(isolator.cleanup({ value: 'x9' }), /ipam unreachable/);
    // The checkpoint goes, then the success is logged: wait for both (a loaded machine delays the second).
    const done = () => !existsSync(join(w.rootDir, 'x9')) && w.lines.some((l) => l.msg === 'Cleaned up container x9 on retry 3');
    for (let i = 0; i < 300 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(existsSync(join(w.rootDir, 'x9')), false, 'the checkpoint went once a retried DEL succeeded');
    assert.equal(dels.length, 4, 'the failed DEL, two failed retries, one that succeeded');
    assert.ok(dels[3]! - dels[2]! >= dels[2]! - dels[1]!, 'backing off');
    assert.ok(
      w.lines.some((l) => l.msg === 'Cleaned up container x9 on retry 3'),
      JSON.stringify(w.lines.map((l) => l.msg)),
    );
    assert.deepEqual(isolator.containers(), []);
  });
});
