// The machinery every later scenario stands on: a container from the offline-built node image,
// started by testcontainers with only NET_ADMIN and SYS_ADMIN, can make a network namespace and
// attach it with Debian's real CNI bridge plugin (host-local IPAM), and the address works.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GenericContainer, type StartedTestContainer } from 'testcontainers';
import { planBootstrap } from '@ippc/host';

// Ryuk cannot be pulled (no registry): the container is stopped in after(), and carries ippc's owner label for CI's sweep.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';

const BRIDGE_CONF = JSON.stringify({
  cniVersion: '1.0.0',
  name: 'e2e-bridge',
  type: 'bridge',
  bridge: 'e2ebr0',
  isGateway: true,
  ipMasq: false,
  ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.7.0/24' }]], routes: [{ dst: '0.0.0.0/0' }] },
});

describe('node image + real CNI bridge plugin', () => {
  let node: StartedTestContainer;

  before(async () => {
    const plan = await planBootstrap();
    assert.deepEqual(plan.actions, [], `host not bootstrapped; run scripts/setup first (pending: ${JSON.stringify(plan.actions)})`);
    node = await new GenericContainer(plan.images.node)
      .withAddedCapabilities('NET_ADMIN', 'SYS_ADMIN')
      .withLabels({ 'org.ippc.owner': 'ippc', 'org.ippc.test': 'e2e-foundation' })
      .withCommand(['sleep', 'infinity'])
      .start();
  });

  after(async () => {
    await node?.stop({ timeout: 1 });
  });

  async function sh(script: string) {
    const r = await node.exec(['sh', '-ec', script]);
    assert.equal(r.exitCode, 0, `'${script}' failed:\n${r.output}`);
    return r.stdout;
  }

  it('gives a namespace an address through CNI ADD, reachable from the node, and DEL takes it back', async () => {
    await sh('ip netns add c1 && ip -n c1 link set lo up');
    await sh(`printf '%s' '${BRIDGE_CONF}' > /tmp/net.json`);
    const cni = 'CNI_CONTAINERID=c1 CNI_NETNS=/run/netns/c1 CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni';
    const result = JSON.parse(await sh(`CNI_COMMAND=ADD ${cni} /usr/lib/cni/bridge < /tmp/net.json`)) as {
      cniVersion: string;
      ips: { address: string; gateway: string }[];
    };
    assert.equal(result.cniVersion, '1.0.0');
    const address = result.ips[0]?.address ?? '';
    assert.match(address, /^10\.244\.7\.\d+\/24$/);

    const inside = await sh('ip -n c1 -4 -o addr show dev eth0');
    assert.ok(inside.includes(address), `eth0 in the namespace should carry ${address}: ${inside}`);
    // The node (the bridge gateway) reaches the namespace by its own address.
    await sh(`ping -c 1 -W 2 ${address.split('/')[0]}`);

    await sh(`CNI_COMMAND=DEL ${cni} /usr/lib/cni/bridge < /tmp/net.json`);
    const after = await node.exec(['sh', '-c', 'ip -n c1 -o link show dev eth0']);
    assert.notEqual(after.exitCode, 0, 'eth0 must be gone after DEL');
    await sh('ip netns del c1');
  });
});
