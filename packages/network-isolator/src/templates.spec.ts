import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isIppcError } from '@ippc/core';
import { parseNetworkConfig, requiredPlugins } from './cni/config.js';
import { renderNetworkTemplates } from './templates.js';

describe('default network templates', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  const variables = { BRIDGE_SUBNET: '10.220.11.0/24', PTP_SUBNET: '10.220.12.0/24', LOCAL_SUBNET: '10.220.13.0/24' };

  it('renders the bridge and ptp networks on ippc-ipam and the host-local one, each on its own subnet', async () => {
    const out = await mkdtemp(join(tmpdir(), 'cni-tpl-'));
    dirs.push(out);
    const written = await renderNetworkTemplates({ outDir: out, variables });
    assert.deepEqual(
      written.map((p) => basename(p)),
      ['ippc-bridge.conflist', 'ippc-local.conflist', 'ippc-ptp.conflist'],
    );
    const lists = await Promise.all(written.map(async (p) => parseNetworkConfig(await readFile(p, 'utf8'))));
    assert.deepEqual(
      lists.map((l) => l.name),
      ['ippc-bridge', 'ippc-local', 'ippc-ptp'],
    );
    assert.deepEqual(
      lists.map((l) => requiredPlugins(l).map((p) => p.type)),
      [
        ['bridge', 'ippc-ipam', 'portmap'],
        ['bridge', 'host-local', 'portmap'],
        ['ptp', 'ippc-ipam', 'portmap'],
      ],
    );
    for (const l of lists) {
      const first = l.plugins[0]!.raw;
      assert.equal(first.ipMasq, false, `${l.name}: masquerade would break isolation by source address`);
      if (first.type === 'bridge') assert.equal(first.isGateway, true);
      assert.deepEqual(l.plugins[1]!.raw.capabilities, { portMappings: true });
    }
    // The ippc-ipam section is the plugin's documented one (host-local's ranges, the daemon socket).
    for (const l of [lists[0]!, lists[2]!]) {
      const ipam = l.plugins[0]!.raw.ipam as Record<string, unknown>;
      assert.deepEqual(Object.keys(ipam).sort(), ['daemonSocket', 'ranges', 'routes', 'type']);
      assert.equal(ipam.daemonSocket, '/run/ippc/ipam.sock');
      assert.deepEqual(ipam.ranges, [[{ subnet: l.name === 'ippc-bridge' ? variables.BRIDGE_SUBNET : variables.PTP_SUBNET }]]);
    }
    const text = (await Promise.all(written.map((p) => readFile(p, 'utf8')))).join('\n');
    assert.ok(!text.includes('${'), 'every variable substituted');
    for (const subnet of Object.values(variables)) assert.ok(text.includes(subnet));
  });

  it('refuses to render without a subnet, naming the variable', async () => {
    const out = await mkdtemp(join(tmpdir(), 'cni-tpl-'));
    dirs.push(out);
    await assert.rejects(
      renderNetworkTemplates({ outDir: out, variables: { BRIDGE_SUBNET: '10.220.11.0/24' }, only: ['ippc-ptp.conflist'] }),
      (err) => isIppcError(err, 'CNI_INVALID_CONFIG') && /PTP_SUBNET/.test((err as Error).message),
    );
    const only = await renderNetworkTemplates({
      outDir: out,
      variables: { LOCAL_SUBNET: '10.220.13.0/24', LOCAL_DATA_DIR: '/tmp/a "quoted" dir' },
      only: ['ippc-local.conflist'],
    });
    const list = parseNetworkConfig(await readFile(only[0]!, 'utf8'));
    assert.equal((list.plugins[0]!.raw.ipam as { dataDir: string }).dataDir, '/tmp/a "quoted" dir', 'values are JSON-escaped');
  });
});
