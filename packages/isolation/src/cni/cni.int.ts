// The `ippc-isolation` CNI plugin chained after Debian's bridge + host-local, in real namespaces,
// talking to a real ippc-isolation-node process per agent and the isolation service.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CniPluginError } from '../testing/cni.js';
import { createEmulation, type Emulation } from '../testing/emulation.js';
import { TEST_BRIDGE, TEST_NET } from '../testing/resources.js';
import { tcpConnect } from '../testing/scratch.js';

describe('ippc-isolation CNI plugin (chained after bridge + host-local)', () => {
  let emu: Emulation;
  before(async () => {
    emu = await createEmulation({ agents: 2, dualStack: true, applyTimeoutMs: 3_000 });
  });
  after(async () => {
    await emu?.close();
  });

  const agent = (id: string) => emu.agents.find((a) => a.id === id)!;
  const sets = async (agentId: string) => (await emu.scratch.exec(agentId, 'nft', ['-j', 'list', 'table', 'inet', 'ippc_iso'])).stdout;

  it('ADD enforces the container with its Mesos groups before ADD returns, the service learns it, and prevResult passes through', async () => {
    const a1 = agent('a1');
    // The bridge plugin's own result, for comparison with what the chain returns.
    const c = await emu.addContainer('a1', 'c1', ['web']);
    assert.equal((c.result.interfaces as { name: string }[])[0]?.name, `${TEST_BRIDGE}1`);
    assert.equal((c.result.ips as unknown[]).length, 2);
    // Enforced on this agent already: no wait between ADD and the check.
    const text = await sets('a1');
    assert.ok(text.includes(c.address) && text.includes(c.address6!), 'both addresses in the sets right after ADD');
    // The service hears of it in the background (local first).
    await emu.settle();
    const members = await emu.client.listMembers({ agentId: 'a1' });
    assert.deepEqual(
      members.map((m) => [m.containerId, m.ifName, m.network, m.groups, m.addresses]),
      [['ctr-c1', 'eth0', 'isonet', ['web'], [c.address, c.address6]]],
    );
    // What the plugin printed is exactly what bridge printed: run bridge alone for a second container and compare shapes.
    const solo = await a1.cni.exec(
      'bridge',
      'ADD',
      { containerId: 'ctr-probe', netns: c.nsPath, ifName: 'eth1' },
      { ...a1.baseConflist.plugins[0], cniVersion: '1.0.0', name: 'isonet' },
    );
    const bridgeResult = JSON.parse(solo.stdout) as Record<string, unknown>;
    const chained = await a1.cni.exec(
      'ippc-isolation',
      'ADD',
      { containerId: 'ctr-probe', netns: c.nsPath, ifName: 'eth1' },
      { type: 'ippc-isolation', socket: a1.socket, cniVersion: '1.0.0', name: 'isonet', prevResult: bridgeResult },
    );
    assert.equal(chained.code, 0, chained.stdout + chained.stderr);
    assert.deepEqual(JSON.parse(chained.stdout), bridgeResult);
    await a1.cni.exec(
      'ippc-isolation',
      'DEL',
      { containerId: 'ctr-probe', ifName: 'eth1' },
      { type: 'ippc-isolation', socket: a1.socket, cniVersion: '1.0.0', name: 'isonet' },
    );
    await a1.cni.exec(
      'bridge',
      'DEL',
      { containerId: 'ctr-probe', netns: c.nsPath, ifName: 'eth1' },
      { ...a1.baseConflist.plugins[0], cniVersion: '1.0.0', name: 'isonet' },
    );
  });

  it('containers of one group reach each other on one agent and across agents; other groups do not', async () => {
    const c2 = await emu.addContainer('a1', 'c2', ['db']);
    const c3 = await emu.addContainer('a2', 'c3', ['web']);
    await emu.settle();
    const c1 = emu.containers.get('c1')!;
    // No IPv6 address of the path may be tentative (DAD), or forwarded IPv6 is dropped for a second
    // or two: the agents' uplinks and the containers are made without DAD.
    for (const ns of ['a1', 'a2', c1.ns, c2.ns, c3.ns]) {
      assert.equal((await emu.scratch.exec(ns, 'ip', ['-6', '-o', 'addr', 'show', 'tentative'])).stdout.trim(), '', `no tentative IPv6 address in ${ns}`);
    }
    for (const a of ['a1', 'a2'])
      assert.equal((await emu.scratch.exec(a, 'cat', ['/proc/sys/net/ipv6/conf/isoc0/accept_dad'])).stdout.trim(), '0', `no DAD on ${a}'s uplink`);
    const got = await Promise.all([
      tcpConnect(emu.scratch, c3.ns, c1.address, 80),
      tcpConnect(emu.scratch, c3.ns, c1.address6!, 80),
      tcpConnect(emu.scratch, c2.ns, c1.address, 80),
      tcpConnect(emu.scratch, c1.ns, c2.address, 80),
      tcpConnect(emu.scratch, 'a1', c2.address, 80),
      tcpConnect(emu.scratch, 'a2', c1.address, 80),
    ]);
    assert.deepEqual(got, ['refused', 'refused', 'timeout', 'timeout', 'refused', 'timeout']);
  });

  it('CHECK passes as attached and fails when the kernel lost the container; the daemon rebuilds on request', async () => {
    const a1 = agent('a1');
    const c1 = emu.containers.get('c1')!;
    const call = { containerId: c1.containerId, netns: c1.nsPath, ifName: 'eth0', networkInfo: { name: 'isonet', groups: ['web'] } };
    await a1.cni.check(a1.conflist, call, c1.result);
    await emu.scratch.sh('a1', `nft delete element inet ippc_iso l_web_v4 { ${c1.address} }`);
    await assert.rejects(
      a1.cni.check(a1.conflist, call, c1.result),
      (e) =>
        e instanceof CniPluginError &&
        e.plugin === 'ippc-isolation' &&
        new RegExp(`missing ${TEST_NET.replace(/\./g, '\\.')}\\.1\\.\\d+ in l_web_v4`).test(e.msg),
    );
    await a1.resync();
    await a1.cni.check(a1.conflist, call, c1.result);
    // CHECK with other groups than ADD had is a mismatch too.
    await assert.rejects(
      a1.cni.check(a1.conflist, { ...call, networkInfo: { name: 'isonet', groups: ['db'] } }, c1.result),
      /attached with .* in \[web\], not .* in \[db\]/,
    );
  });

  it('DEL works without CNI_NETNS, is idempotent, and the address leaves every allow-set', async () => {
    const c2 = emu.containers.get('c2')!;
    await emu.removeContainer('c2', { netnsGone: true });
    await emu.settle();
    for (const a of emu.agents) assert.ok(!(await sets(a.id)).includes(`"${c2.address}"`), `${c2.address} left the sets of ${a.id}`);
    const [status] = await emu.client.checkAddresses([c2.address]);
    assert.equal(status?.state, 'clear');
    const a1 = agent('a1');
    await a1.cni.del(a1.conflist, { containerId: c2.containerId, ifName: 'eth0' }, c2.result);
  });

  it('bad input: a clear CNI error and nothing left behind', async () => {
    const a1 = agent('a1');
    await emu.settle();
    const before = JSON.stringify(await emu.client.listMembers());
    const ns = await emu.scratch.addNs('a1-bad');
    const path = `/run/netns/${ns}`;
    // Standalone (no prevResult): the plugin says where it belongs.
    const alone = await a1.cni.exec(
      'ippc-isolation',
      'ADD',
      { containerId: 'ctr-bad', netns: path },
      { type: 'ippc-isolation', socket: a1.socket, cniVersion: '1.0.0', name: 'isonet' },
    );
    assert.equal(alone.code, 1);
    assert.match(JSON.parse(alone.stdout).msg, /chained plugin/);
    // Groups that are not a list: refused by the plugin; the runtime then DELs the chain.
    await assert.rejects(
      emu.addContainer('a1', 'bad2', 'web' as unknown as string[]),
      (e) => e instanceof CniPluginError && e.plugin === 'ippc-isolation' && e.code === 7,
    );
    // A daemon that is down: "try again later" with the socket named.
    const down = await a1.cni.exec(
      'ippc-isolation',
      'ADD',
      { containerId: 'ctr-bad', netns: path },
      {
        type: 'ippc-isolation',
        socket: `${a1.socket}.nope`,
        cniVersion: '1.0.0',
        name: 'isonet',
        prevResult: { cniVersion: '1.0.0', ips: [{ address: `${TEST_NET}.1.250/24` }] },
      },
    );
    assert.deepEqual([down.code, JSON.parse(down.stdout).code], [1, 11]);
    assert.match(JSON.parse(down.stdout).msg, /no answer from ippc-isolation-node at .*isolation\.sock\.nope/);
    const version = await a1.cni.exec('ippc-isolation', 'VERSION', { containerId: 'x' }, { cniVersion: '0.4.0' });
    assert.deepEqual(JSON.parse(version.stdout).supportedVersions, ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']);
    await emu.settle();
    assert.equal(JSON.stringify(await emu.client.listMembers()), before);
    // host-local holds c1's address only: the failed ADD was followed by a DEL that released its own.
    const files = await readdir(join(a1.dataDir, '..', 'ipam', 'isonet'));
    assert.deepEqual(
      files.filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)),
      [emu.containers.get('c1')!.address],
    );
  });

  it('a restarted daemon rebuilds from its checkpoint; members survive a service that lost its state', async () => {
    const a1 = agent('a1');
    const c1 = emu.containers.get('c1')!;
    await a1.stopDaemon();
    await emu.scratch.sh('a1', 'nft delete table inet ippc_iso');
    await a1.startDaemon();
    await emu.settle();
    assert.ok((await sets('a1')).includes(c1.address));
    assert.equal(await tcpConnect(emu.scratch, emu.containers.get('c3')!.ns, c1.address, 80), 'refused');
    // The service forgets everything about a1 (an operator deregistered it, or the service lost
    // its state): the daemon sees it in the stream, re-registers and replays its members.
    await emu.client.deregisterAgent('a1');
    const deadline = Date.now() + 10_000;
    while (!(await emu.client.listMembers({ agentId: 'a1' })).some((m) => m.containerId === c1.containerId)) {
      if (Date.now() > deadline) throw new Error(`a1 did not re-sync: ${a1.logs().slice(-10).join('\n')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await emu.settle();
    assert.equal(await tcpConnect(emu.scratch, emu.containers.get('c3')!.ns, c1.address, 80), 'refused');
  });
});
