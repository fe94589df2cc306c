// Local first on the real thing: ippc-isolation-node processes in scratch agent namespaces, real
// CNI chains (bridge + host-local + the native ippc-isolation forwarder), nftables, and the
// isolation service stopped and started again around them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEmulation, type Emulation } from '../testing/emulation.js';
import { tcpConnect } from '../testing/scratch.js';

describe('isolation node daemon: CNI ADD and DEL while the service is away (real namespaces, nftables)', () => {
  let emu: Emulation;
  before(async () => {
    emu = await createEmulation({ agents: 2, persistService: true, applyTimeoutMs: 3_000 });
  });
  after(async () => {
    await emu?.close();
  });

  const agent = (id: string) => emu.agents.find((a) => a.id === id)!;
  const table = async (agentId: string) => (await emu.scratch.exec(agentId, 'nft', ['-j', 'list', 'table', 'inet', 'ippc_iso'])).stdout;
  const inSets = async (agentId: string, address: string) => (await table(agentId)).includes(`"${address}"`);
  const reaches = async (fromNs: string, address: string) => (await tcpConnect(emu.scratch, fromNs, address, 80)) !== 'timeout';

  it('ADD with the service down succeeds and isolates at once; the member reaches the service and the other agent when it is back', async () => {
    assert.equal(emu.pluginFlavor, 'native');
    const web1 = await emu.addContainer('a1', 'web1', ['web']);
    const db1 = await emu.addContainer('a1', 'db1', ['db']);
    const web2 = await emu.addContainer('a2', 'web2', ['web']);
    await emu.settle();

    await emu.stopService();
    const web3 = await emu.addContainer('a1', 'web3', ['web']);
    // In force on a1 when ADD returned: same group in, other group out.
    assert.ok(await inSets('a1', web3.address));
    assert.deepEqual(await Promise.all([reaches(web1.ns, web3.address), reaches(db1.ns, web3.address)]), [true, false]);
    const st = await agent('a1').status();
    assert.deepEqual([st.connected, st.unsynced], [false, 1]);
    // a2 cannot know yet: web3 is not among its web members, so web3 -> web2 is still dropped at a2.
    assert.equal(await inSets('a2', web3.address), false);
    assert.equal(await reaches(web3.ns, web2.address), false);

    await emu.startService();
    await emu.settle(20_000);
    assert.ok((await emu.client.listMembers({ agentId: 'a1' })).some((m) => m.containerId === web3.containerId));
    assert.ok(await inSets('a2', web3.address));
    assert.equal(await reaches(web3.ns, web2.address), true);
  });

  it('DEL with the service down: out of the local sets at once, and not clear for IPAM before the service heard it', async () => {
    const web3 = emu.containers.get('web3')!;
    await emu.stopService();
    await emu.removeContainer('web3');
    assert.equal(await inSets('a1', web3.address), false, 'removed locally before DEL returned');
    await emu.startService();
    // The service's first answer about the address, before a1 had a chance to tell it: in use.
    const [first] = await emu.client.checkAddresses([web3.address]);
    assert.notEqual(first?.state, 'clear');
    await emu.settle(20_000);
    const [later] = await emu.client.checkAddresses([web3.address]);
    assert.equal(later?.state, 'clear');
    assert.equal(await inSets('a2', web3.address), false);
  });

  it('restart in between: a daemon restarted while the service is down enforces its checkpoint at once, serves ADD and DEL, and the service ends up with exactly the checkpoint', async () => {
    const a1 = agent('a1');
    await emu.stopService();
    await a1.stopDaemon();
    // Someone wiped the table meanwhile: the restarted daemon rebuilds it from its checkpoint and cache.
    await emu.scratch.sh('a1', 'nft delete table inet ippc_iso');
    await a1.startDaemon();
    const web1 = emu.containers.get('web1')!;
    const db1 = emu.containers.get('db1')!;
    assert.ok(await inSets('a1', web1.address));
    assert.equal(await reaches(db1.ns, web1.address), false, 'isolated again before the service is back');
    const web4 = await emu.addContainer('a1', 'web4', ['web']);
    await emu.removeContainer('db1');
    assert.equal(await reaches(web1.ns, web4.address), true);
    assert.deepEqual([(await a1.status()).connected, (await a1.status()).members], [false, 2]);

    await emu.startService();
    await emu.settle(20_000);
    const members = await emu.client.listMembers({ agentId: 'a1' });
    assert.deepEqual(members.map((m) => m.containerId).sort(), ['ctr-web1', 'ctr-web4']);
    assert.equal(await reaches(web4.ns, emu.containers.get('web2')!.address), true, 'a2 admits web4 (learned from the service)');
  });
});
