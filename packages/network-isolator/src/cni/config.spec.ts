import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isIppcError } from '@ippc/core';
import { declaredCapabilities, injectArgs, parseNetworkConfig, pluginRequest, requiredPlugins, stringifySorted } from './config.js';
import { parseResult } from './result.js';

const conflist = {
  cniVersion: '1.0.0',
  name: 'blue',
  plugins: [
    { type: 'bridge', bridge: 'cnibr0', ipam: { type: 'host-local', subnet: '10.220.1.0/24' } },
    { type: 'portmap', capabilities: { portMappings: true }, snat: true },
    { type: 'bandwidth', capabilities: { bandwidth: true } },
  ],
};

describe('parseNetworkConfig', () => {
  it('reads a single plugin config as a list of one, sent as written', () => {
    const list = parseNetworkConfig(JSON.stringify({ name: 'red', type: 'bridge', ipam: { type: 'static' } }));
    assert.equal(list.single, true);
    assert.equal(list.cniVersion, '0.1.0');
    assert.equal(list.plugins.length, 1);
    assert.deepEqual(requiredPlugins(list), [
      { type: 'bridge', ipam: false },
      { type: 'static', ipam: true },
    ]);
  });

  it('reads a conflist with its plugins in order and the capabilities they declare', () => {
    const list = parseNetworkConfig(JSON.stringify(conflist));
    assert.equal(list.single, false);
    assert.deepEqual(
      list.plugins.map((p) => p.type),
      ['bridge', 'portmap', 'bandwidth'],
    );
    assert.deepEqual(declaredCapabilities(list), ['portMappings', 'bandwidth']);
  });

  it("says what is missing with Mesos's parse messages", () => {
    const cases: Array<[string, RegExp]> = [
      ['{"name": "x"', /^JSON parse failed: /],
      ['[1]', /^JSON parse failed: /],
      ['{"type": "bridge"}', /^Protobuf parse failed: Missing required fields: name$/],
      ['{"name": "x"}', /^Protobuf parse failed: Missing required fields: type$/],
      ['{"name": "x", "type": "bridge", "ipam": {}}', /Missing required fields: ipam\.type/],
      ['{"name": "x", "cniVersion": "1.0.0", "plugins": []}', /non-empty list/],
      ['{"name": "x", "plugins": [{"type": "bridge"}]}', /cniVersion/],
      ['{"name": "x", "cniVersion": "1.0.0", "plugins": [{"bridge": "b"}]}', /plugins\[0\]\.type/],
    ];
    for (const [text, re] of cases) {
      assert.throws(
        () => parseNetworkConfig(text),
        (err) => isIppcError(err, 'CNI_INVALID_CONFIG') && re.test((err as Error).message),
        text,
      );
    }
  });

  it('picks the highest version it speaks from cniVersion and cniVersions, and refuses the others', () => {
    const list = parseNetworkConfig(JSON.stringify({ ...conflist, cniVersion: '1.1.0', cniVersions: ['0.4.0', '1.0.0', '1.1.0'] }));
    assert.equal(list.cniVersion, '1.0.0');
    assert.throws(() => parseNetworkConfig(JSON.stringify({ ...conflist, cniVersion: '1.1.0' })), /unsupported cniVersion '1\.1\.0'/);
  });
});

describe('pluginRequest', () => {
  const list = parseNetworkConfig(JSON.stringify(conflist));
  const rt = {
    containerId: 'c1',
    netns: '/run/netns/x',
    ifName: 'eth0',
    capabilityArgs: { portMappings: [{ hostPort: 33000, containerPort: 80, protocol: 'tcp' }], ips: ['10.220.1.9'] },
  };

  it('adds name and cniVersion, and runtimeConfig only with the capabilities the plugin declares', () => {
    const first = pluginRequest(list, list.plugins[0]!, rt);
    assert.equal(first.name, 'blue');
    assert.equal(first.cniVersion, '1.0.0');
    assert.equal(first.runtimeConfig, undefined);
    assert.equal(first.prevResult, undefined);
    const portmap = pluginRequest(list, list.plugins[1]!, rt);
    assert.deepEqual(portmap.runtimeConfig, { portMappings: rt.capabilityArgs.portMappings });
    assert.equal(portmap.capabilities, undefined, 'SPEC: capabilities is removed');
    // bandwidth declares the capability but nothing asks for it: no runtimeConfig at all.
    assert.equal(pluginRequest(list, list.plugins[2]!, rt).runtimeConfig, undefined);
  });

  it('passes prevResult converted to the list version', () => {
    const prev = parseResult({ cniVersion: '0.2.0', ip4: { ip: '10.220.1.2/24' } });
    const req = pluginRequest(list, list.plugins[1]!, rt, prev);
    assert.deepEqual(req.prevResult, { cniVersion: '1.0.0', interfaces: [], ips: [{ address: '10.220.1.2/24' }], routes: [], dns: {} });
  });

  it('sends a single config as written (no cniVersion added when it has none)', () => {
    const single = parseNetworkConfig('{"name":"red","type":"bridge","x":1}');
    assert.deepEqual(pluginRequest(single, single.plugins[0]!, rt), { name: 'red', type: 'bridge', x: 1 });
  });
});

describe('injectArgs', () => {
  const messages = { invalidArgs: 'bad args', reserved: 'reserved' };

  it('adds the key to the args of every plugin, keeping what args already had', () => {
    const list = parseNetworkConfig(JSON.stringify({ ...conflist, plugins: [{ ...conflist.plugins[0], args: { cni: { ips: ['x'] } } }, conflist.plugins[1]] }));
    const out = injectArgs(list, 'org.apache.mesos', { network_info: { name: 'blue' } }, messages);
    assert.deepEqual(out.plugins[0]!.raw.args, { cni: { ips: ['x'] }, 'org.apache.mesos': { network_info: { name: 'blue' } } });
    assert.deepEqual((out.raw.plugins as Array<Record<string, unknown>>)[1]!.args, { 'org.apache.mesos': { network_info: { name: 'blue' } } });
    assert.equal(list.plugins[0]!.raw.args && 'org.apache.mesos' in (list.plugins[0]!.raw.args as object), false, 'the input is not changed');
  });

  it('refuses a config that sets the key itself, and args that are not an object', () => {
    const reserved = parseNetworkConfig('{"name":"r","type":"bridge","args":{"org.apache.mesos":{}}}');
    assert.throws(
      () => injectArgs(reserved, 'org.apache.mesos', {}, messages),
      (err) => isIppcError(err, 'CNI_RESERVED_ARGS') && (err as Error).message === 'reserved',
    );
    const invalid = parseNetworkConfig('{"name":"r","type":"bridge","args":"x"}');
    assert.throws(
      () => injectArgs(invalid, 'org.apache.mesos', {}, messages),
      (err) => isIppcError(err, 'CNI_INVALID_CONFIG') && (err as Error).message === 'bad args',
    );
  });
});

describe('stringifySorted', () => {
  it('writes compact JSON with keys in byte order at every level, arrays untouched', () => {
    assert.equal(stringifySorted({ type: 'b', name: 'n', args: { z: 1, a: [{ y: 1, b: 2 }] } }), '{"args":{"a":[{"b":2,"y":1}],"z":1},"name":"n","type":"b"}');
  });
});
