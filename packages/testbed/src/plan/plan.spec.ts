import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileConfig } from '../config.js';
import { LABEL } from '../labels.js';
import { containerNetworkConflist } from './cni.js';
import { planCluster } from './plan.js';
import type { NodeSpec } from './types.js';

const resolve = (pkg: string, bin: string) => ({ package: pkg, bin, argv: ['node', `/opt/ippc/packages/${pkg}/dist/${bin}.mjs`], bundled: true });
const flag = (node: NodeSpec, daemon: string, name: string) =>
  node.daemons
    .find((d) => d.name === daemon)
    ?.argv.find((a) => a.startsWith(`--${name}=`))
    ?.split('=')
    .slice(1)
    .join('=');

describe('cluster plan', () => {
  const config = compileConfig({ name: 'demo', agents: 3, network: { subnet: '10.99.3.0/24' }, agent: { ports: '35000-35299' } });
  const plan = planCluster(config, { workspaceDir: '/ws', session: 's-1', resolve });

  it('has a master, a services node and one container per agent, at fixed addresses', () => {
    assert.deepEqual(
      plan.nodes.map((n) => [n.role, n.name, n.address]),
      [
        ['master', 'ippc-demo-master', '10.99.3.2'],
        ['services', 'ippc-demo-services', '10.99.3.3'],
        ['agent', 'ippc-demo-agent-0', '10.99.3.11'],
        ['agent', 'ippc-demo-agent-1', '10.99.3.12'],
        ['agent', 'ippc-demo-agent-2', '10.99.3.13'],
      ],
    );
    assert.equal(plan.networkName, 'ippc-demo');
    assert.equal(plan.gateway, '10.99.3.1');
    assert.deepEqual(
      plan.nodes.find((n) => n.role === 'services')!.daemons.map((d) => d.name),
      ['ipam', 'isolation', 'dns'],
    );
  });

  it('has agents listen on every address, advertise their cluster address, and join the Docker user networks with the default route kept', () => {
    const agent = plan.nodes.find((n) => n.role === 'agent')!;
    assert.equal(flag(agent, 'agent', 'ip'), '0.0.0.0');
    assert.equal(flag(agent, 'agent', 'advertise_ip'), '10.99.3.11');
    assert.deepEqual(agent.dockerNetworks, ['ippc-user'], "the default config's user network");
    assert.deepEqual(agent.routes, [{ dst: 'default', via: '10.99.3.1' }]);
    const without = compileConfig({ name: 'demo', agents: 1, network: { subnet: '10.99.3.0/24' }, dockerNetworks: [] });
    const alone = planCluster(without, { workspaceDir: '/ws', resolve }).nodes.find((n) => n.role === 'agent')!;
    assert.deepEqual(alone.dockerNetworks, []);
    assert.deepEqual(alone.routes, [], 'no other network: nothing to restore');
  });

  it('labels every node with owner, cluster, role, session and what it runs', () => {
    for (const n of plan.nodes) {
      assert.equal(n.labels[LABEL.owner], 'ippc');
      assert.equal(n.labels[LABEL.cluster], 'demo');
      assert.equal(n.labels[LABEL.role], n.role);
      assert.equal(n.labels[LABEL.session], 's-1');
      assert.equal(n.labels[LABEL.retain], undefined);
      assert.deepEqual(JSON.parse(n.labels[LABEL.daemons]!), n.daemons);
    }
    const retained = planCluster(config, { workspaceDir: '/ws', retain: true, resolve });
    assert.equal(retained.nodes[0]!.labels[LABEL.retain], 'true');
    assert.equal(retained.nodes[0]!.labels[LABEL.session], undefined);
  });

  it('gives agents disjoint port slices and one /24 per container network', () => {
    const agents = plan.nodes.filter((n) => n.role === 'agent');
    assert.deepEqual(
      agents.map((a) => a.ports),
      [
        { first: 35000, last: 35099 },
        { first: 35100, last: 35199 },
        { first: 35200, last: 35299 },
      ],
    );
    assert.equal(flag(agents[1]!, 'agent', 'resources'), 'cpus:4;mem:4096;ports:[35100-35199]');
    assert.deepEqual(agents[2]!.subnets!['ippc-bridge'], { ipv4: '10.100.2.0/24' });
    assert.deepEqual(agents[0]!.subnets!['ippc-local'], { ipv4: '10.102.0.0/24' });
  });

  it('points agents and DNS at the master and every daemon at its probe', () => {
    const agent = plan.nodes.find((n) => n.role === 'agent')!;
    assert.equal(flag(agent, 'agent', 'master'), '10.99.3.2:5050');
    assert.equal(flag(agent, 'agent', 'advertise_ip'), '10.99.3.11');
    const services = plan.nodes.find((n) => n.role === 'services')!;
    assert.equal(flag(services, 'dns', 'master'), 'http://10.99.3.2:5050');
    assert.deepEqual(services.daemons.find((d) => d.name === 'ipam')!.probe, { grpc: { port: 7460, service: 'ippc.ipam.v1.Ipam' } });
    const master = plan.nodes[0]!;
    assert.equal(flag(master, 'master', 'advertise_ip'), '10.99.3.2');
    assert.equal(flag(master, 'master', 'allocation_interval'), '250ms');
    assert.ok(!master.daemons[0]!.argv.includes('--no_auth'));
  });

  it("gives every daemon its flags in Mesos's style: snake_case, --flag=value, durations with a unit", () => {
    for (const n of plan.nodes) {
      for (const d of n.daemons) {
        for (const a of d.argv.slice(2).filter((x) => x.startsWith('--'))) assert.match(a, /^--[a-z0-9_]+(=|$)/, `${d.name}: ${a}`);
      }
    }
    const services = plan.nodes.find((n) => n.role === 'services')!;
    assert.equal(flag(services, 'ipam', 'data_dir'), '/var/lib/ippc/ipam');
    assert.equal(flag(services, 'ipam', 'cooldown'), '30secs');
    assert.equal(flag(services, 'isolation', 'metrics_listen'), '0.0.0.0:7071');
    assert.equal(flag(services, 'isolation', 'data_file'), '/var/lib/ippc/isolation/state.json');
    assert.equal(flag(services, 'dns', 'refresh'), '500ms');
  });

  it('turns authentication off in every daemon when the file says so', () => {
    const open = planCluster(compileConfig({ auth: { disabled: true } }), { workspaceDir: '/ws', resolve });
    const flags = open.nodes.flatMap((n) => n.daemons.map((d) => [d.name, d.argv.filter((a) => /no[_-]auth/.test(a))] as const));
    assert.deepEqual(Object.fromEntries(flags), { master: ['--no_auth'], ipam: ['--no_auth'], isolation: ['--no_auth'], dns: [], agent: ['--no_auth'] });
  });

  it('runs agents with IP-per-container: docker,mesos, network/cni, the default networks, the node daemons, the cluster DNS', () => {
    const agent = plan.nodes.find((n) => n.role === 'agent' && n.index === 1)!;
    assert.equal(flag(agent, 'agent', 'containerizers'), 'docker,mesos');
    assert.equal(flag(agent, 'agent', 'isolation'), 'network/cni');
    assert.equal(flag(agent, 'agent', 'install_cni_networks'), 'ippc-bridge=10.100.1.0/24;ippc-ptp=10.101.1.0/24;ippc-local=10.102.1.0/24');
    assert.equal(flag(agent, 'agent', 'network_cni_plugins_dir'), '/var/lib/ippc/cni/bin:/usr/lib/cni');
    assert.equal(flag(agent, 'agent', 'ipam_service'), '10.99.3.3:7460');
    assert.equal(flag(agent, 'agent', 'isolation_service'), '10.99.3.3:7070');
    assert.equal(flag(agent, 'agent', 'isolation_subnets'), '10.100.1.0/24,10.101.1.0/24,10.102.1.0/24');
    assert.deepEqual(JSON.parse(flag(agent, 'agent', 'default_container_dns')!), { mesos: [{ network_mode: 'CNI', dns: { nameservers: ['10.99.3.3'] } }] });
    assert.equal(flag(agent, 'agent', 'docker_host_network'), 'container:ippc-demo-agent-1');
    assert.equal(
      flag(agent, 'agent', 'docker_host_ports_via'),
      '10.99.3.1',
      "Docker tasks' host ports at the agent's address: the daemon publishes them at the gateway",
    );
    assert.equal(flag(agent, 'agent', 'docker_work_dir_host_path'), '/var/lib/docker/volumes/ippc-demo-agent-1-work/_data');
    assert.equal(flag(agent, 'agent', 'docker_labels'), 'org.ippc.owner=ippc;org.ippc.cluster=demo;org.ippc.role=task;org.ippc.session=s-1');
    assert.deepEqual(agent.volumes, [{ name: 'ippc-demo-agent-1-work', target: '/var/lib/ippc/agent' }]);
    assert.deepEqual(agent.capabilities, ['NET_ADMIN', 'SYS_ADMIN']);
    assert.deepEqual(agent.files, [], 'the default networks are written by the agent itself');
  });

  it('routes every agent subnet from the services node (DNS answers reach containers)', () => {
    const services = plan.nodes.find((n) => n.role === 'services')!;
    assert.deepEqual(services.capabilities, ['NET_ADMIN']);
    assert.equal(services.routes.length, 9);
    assert.deepEqual(services.routes.slice(0, 3), [
      { dst: '10.100.0.0/24', via: '10.99.3.11' },
      { dst: '10.101.0.0/24', via: '10.99.3.11' },
      { dst: '10.102.0.0/24', via: '10.99.3.11' },
    ]);
  });

  it('writes the networks the agent does not (another name, a small pool) with ippc-isolation chained in', () => {
    const cfg = compileConfig({
      agents: 2,
      containerNetworks: [
        { name: 'ippc-bridge', type: 'bridge', cidr: '10.100.0.0/16' },
        { name: 'small', type: 'bridge', cidr: '10.104.0.0/16', hostsPerAgent: 3 },
      ],
    });
    const agent = planCluster(cfg, { workspaceDir: '/ws', resolve }).nodes.find((n) => n.role === 'agent' && n.index === 1)!;
    assert.equal(flag(agent, 'agent', 'install_cni_networks'), 'ippc-bridge=10.100.1.0/24');
    assert.equal(flag(agent, 'agent', 'isolation_subnets'), '10.100.1.0/24,10.104.1.0/24');
    assert.deepEqual(
      agent.files.map((f) => f.path),
      ['/etc/ippc/cni/small.conflist'],
    );
    const conf = JSON.parse(agent.files[0]!.content) as ReturnType<typeof containerNetworkConflist> & {
      plugins: { type: string; bridge?: string; ipMasq?: boolean; ipam?: { ranges: unknown } }[];
    };
    assert.deepEqual(
      conf.plugins.map((p) => p.type),
      ['bridge', 'ippc-isolation', 'portmap'],
    );
    assert.equal(conf.plugins[0]!.ipMasq, false);
    assert.equal(conf.plugins[0]!.bridge, 'ippcn1');
    assert.deepEqual(conf.plugins[0]!.ipam!.ranges, [[{ subnet: '10.104.1.0/24', rangeStart: '10.104.1.2', rangeEnd: '10.104.1.4' }]]);
    const local = containerNetworkConflist({ name: 'l', type: 'ptp', ipam: 'host-local', cidr: '10.105.0.0/16' }, 0, { ipv4: '10.105.0.0/24' }) as {
      plugins: { type: string; ipam: { type: string } }[];
    };
    assert.deepEqual([local.plugins[0]!.type, local.plugins[0]!.ipam.type], ['ptp', 'host-local']);
  });

  it("writes a network's own cool-down into its ippc-ipam section, and refuses one on host-local", () => {
    const cfg = compileConfig({ agents: 1, containerNetworks: [{ name: 'ippc-bridge', type: 'bridge', cidr: '10.100.0.0/16', cooldownSeconds: 0 }] });
    const agent = planCluster(cfg, { workspaceDir: '/ws', resolve }).nodes.find((n) => n.role === 'agent')!;
    assert.equal(flag(agent, 'agent', 'install_cni_networks'), undefined, 'the agent would write it without the cool-down');
    const conf = JSON.parse(agent.files[0]!.content) as { plugins: { ipam?: { cooldownSeconds?: number } }[] };
    assert.equal(conf.plugins[0]!.ipam!.cooldownSeconds, 0);
    assert.throws(
      () => compileConfig({ containerNetworks: [{ name: 'l', type: 'bridge', ipam: 'host-local', cidr: '10.105.0.0/16', cooldownSeconds: 5 }] }),
      /containerNetworks l: cooldownSeconds needs ipam ippc-ipam/,
    );
  });
});
