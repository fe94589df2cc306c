import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileConfig } from './config.js';
import { LABEL } from './labels.js';
import { planCluster, type NodeSpec } from './plan.js';

const resolve = (pkg: string, bin: string) => ({ package: pkg, bin, argv: ['node', `/opt/ippc/packages/${pkg}/dist/${bin}.mjs`], bundled: true });
const flag = (node: NodeSpec, daemon: string, name: string) => node.daemons.find((d) => d.name === daemon)?.argv.find((a) => a.startsWith(`--${name}=`))?.split('=').slice(1).join('=');

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
    assert.deepEqual(plan.nodes.find((n) => n.role === 'services')!.daemons.map((d) => d.name), ['ipam', 'isolation', 'dns']);
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
    assert.equal(flag(agent, 'agent', 'ip'), '10.99.3.11');
    const services = plan.nodes.find((n) => n.role === 'services')!;
    assert.equal(flag(services, 'dns', 'master'), 'http://10.99.3.2:5050');
    assert.deepEqual(services.daemons.find((d) => d.name === 'ipam')!.probe, { grpc: { port: 7460, service: 'ippc.ipam.v1.Ipam' } });
    const master = plan.nodes[0]!;
    assert.equal(flag(master, 'master', 'advertise_ip'), '10.99.3.2');
    assert.equal(flag(master, 'master', 'allocation_interval'), '250ms');
    assert.ok(!master.daemons[0]!.argv.includes('--no_auth'));
  });

  it('turns authentication off in every daemon when the file says so', () => {
    const open = planCluster(compileConfig({ auth: { disabled: true } }), { workspaceDir: '/ws', resolve });
    const flags = open.nodes.flatMap((n) => n.daemons.map((d) => [d.name, d.argv.filter((a) => /no[_-]auth/.test(a))] as const));
    assert.deepEqual(Object.fromEntries(flags), { master: ['--no_auth'], ipam: ['--no-auth'], isolation: ['--no-auth'], dns: [], agent: ['--no_auth'] });
  });
});
