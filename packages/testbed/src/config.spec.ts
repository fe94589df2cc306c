import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { agentPorts, agentSubnet, agentSubnet6, compileConfig, ConfigError, hostAddress, hostAddress6, parseConfigFile } from './config.js';

describe('cluster config', () => {
  it('compiles defaults from an empty file', () => {
    const c = compileConfig({});
    assert.equal(c.name, 'ippc');
    assert.equal(c.agents, 2);
    assert.equal(c.network.subnet, '10.99.0.0/24');
    assert.deepEqual(c.agent.containerizers, ['docker', 'mesos']);
    assert.deepEqual(
      c.containerNetworks.map((n) => n.name),
      ['ippc-bridge', 'ippc-ptp', 'ippc-local'],
    );
    assert.equal(c.dns.domain, 'ippc');
    assert.equal(c.auth.disabled, false);
  });

  it('reads a versioned YAML file and rejects unknown fields with their path', () => {
    const c = parseConfigFile('apiVersion: ippc.dev/v1alpha1\nkind: Cluster\nname: demo\nagents: 3\n');
    assert.equal(c.name, 'demo');
    assert.equal(c.agents, 3);
    assert.throws(
      () => parseConfigFile('apiVersion: ippc.dev/v1alpha1\nkind: Cluster\nagnets: 3\n'),
      (e: ConfigError) => /Unrecognized key: "agnets"/.test(e.message),
    );
    assert.throws(
      () => parseConfigFile('apiVersion: ippc.dev/v1alpha1\nkind: Cluster\nagent: {containeriser: [mesos]}\n'),
      (e: ConfigError) => /agent: Unrecognized key: "containeriser"/.test(e.message),
    );
  });

  it('requires a known apiVersion', () => {
    assert.throws(() => parseConfigFile('kind: Cluster\n'), /apiVersion is missing/);
    assert.throws(
      () => parseConfigFile('apiVersion: ippc.dev/v2\nkind: Cluster\n'),
      (e: ConfigError) => e.code === 'CONFIG_INVALID' && /apiVersion/.test(e.message),
    );
  });

  it('reports every problem at once', () => {
    assert.throws(
      () => compileConfig({ agents: 0, name: 'Bad_Name', network: { subnet: '10.99.0.0' } }),
      (e: ConfigError) => /agents/.test(e.message) && /name/.test(e.message) && /network.subnet/.test(e.message),
    );
  });

  it('refuses overlapping subnets and container networks too narrow for the agents', () => {
    assert.throws(() => compileConfig({ network: { subnet: '10.100.5.0/24' } }), /overlaps containerNetworks\[0\] \(ippc-bridge\)/);
    assert.throws(
      () => compileConfig({ agents: 5, containerNetworks: [{ name: 'n', type: 'bridge', cidr: '10.100.0.0/22' }] }),
      /cannot give each of 5 agents a \/24/,
    );
  });

  it('carves one /24 per agent and numbers hosts', () => {
    assert.equal(agentSubnet('10.100.0.0/16', 0), '10.100.0.0/24');
    assert.equal(agentSubnet('10.100.0.0/16', 2), '10.100.2.0/24');
    assert.equal(hostAddress('10.99.0.0/24', 2), '10.99.0.2');
    assert.equal(hostAddress('10.99.0.0/24', 11), '10.99.0.11');
  });

  it('splits the host ports between agents and refuses ports in resources', () => {
    const c = compileConfig({ agents: 3, agent: { ports: '35000-35299' } });
    assert.deepEqual(
      [0, 1, 2].map((i) => agentPorts(c, i).text),
      ['[35000-35099]', '[35100-35199]', '[35200-35299]'],
    );
    assert.throws(() => compileConfig({ agent: { resources: 'cpus:1;ports:[1-2]' } }), /ports are given by agent.ports/);
    assert.throws(() => compileConfig({ agent: { ports: '900-1000' } }), /inside 1024-65535/);
    assert.throws(() => compileConfig({ agents: 3, agent: { ports: '35000-35001' } }), /fewer ports than the 3 agents/);
  });

  it('carves IPv6 /64s per agent and refuses subnets too small for the agents', () => {
    assert.equal(agentSubnet6('fd99:100::/48', 0), 'fd99:100::/64');
    assert.equal(agentSubnet6('fd99:100::/48', 2), 'fd99:100:0:2::/64');
    assert.throws(
      () => compileConfig({ containerNetworks: [{ name: 'n', type: 'bridge', cidr: '10.100.0.0/16', ipv6Cidr: 'fd99::/64' }] }),
      /must be \/56 or wider/,
    );
    assert.throws(() => compileConfig({ agents: 8, network: { subnet: '10.99.0.0/28' } }), /too small for 8 agents/);
  });

  it("never lets an agent's subnet or address wrap round or fall outside its CIDR: such a config is refused", () => {
    const v6 = (ipv6Cidr: string, agents = 2) => compileConfig({ agents, containerNetworks: [{ name: 'n', type: 'bridge', cidr: '10.100.0.0/16', ipv6Cidr }] });
    // The agents' /64s were counted from the written address: agent 1 of fd99:100:0:ffff::/56 got fd99:100:0:0::/64.
    assert.throws(
      () => v6('fd99:100:0:ffff::/56'),
      (e: ConfigError) =>
        e instanceof ConfigError &&
        /containerNetworks n ipv6Cidr fd99:100:0:ffff::\/56 has host bits set: did you mean fd99:100:0:ff00::\/56\?/.test(e.message),
    );
    assert.throws(() => v6('fd99:100:0:1::/56'), /did you mean fd99:100::\/56\?/);
    assert.throws(() => v6('fd99:100::1::/56'), /containerNetworks n ipv6Cidr fd99:100::1::\/56 is not an IPv6 CIDR/);
    assert.equal(agentSubnet6(v6('fd99:100:0:ff00::/56', 16).containerNetworks[0]!.ipv6Cidr!, 15), 'fd99:100:0:ff0f::/64');
    assert.throws(() => agentSubnet6('fd99:100:0:ff00::/56', 256), ConfigError);
    assert.throws(() => agentSubnet('10.100.0.0/16', 256), ConfigError);
    // The nodes' IPv6 addresses kept the first four groups: host 18 of fd99::/124 was fd99::12, outside it.
    assert.throws(() => compileConfig({ agents: 8, network: { ipv6Subnet: 'fd99::/124' } }), /network.ipv6Subnet fd99::\/124 is too small for 8 agents/);
    assert.throws(() => compileConfig({ network: { ipv6Subnet: 'abcd/64' } }), /network.ipv6Subnet abcd\/64 is not an IPv6 CIDR/);
    assert.equal(hostAddress6('fd99::1:0/112', 11), 'fd99::1:b');
    assert.throws(() => hostAddress('10.99.0.0/24', 256), ConfigError);
  });

  it('checks durations and cool-down', () => {
    assert.equal(compileConfig({ master: { allocationInterval: '1secs' } }).master.allocationInterval, '1secs');
    assert.throws(() => compileConfig({ master: { allocationInterval: 'soon' } }), /master.allocationInterval/);
    assert.equal(compileConfig({ ipam: { cooldownSeconds: 0 } }).ipam.cooldownSeconds, 0);
  });
});
