// The operator verbs against an in-process service over gRPC: --json everywhere, text tables.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createIsolationClient, type IsolationClient } from '../client.js';
import { createIsolationService, type IsolationService } from '../service/service.js';
import { createIsolationCommand } from './cli.js';

describe('isolation CLI verbs', () => {
  let service: IsolationService;
  let address: string;
  let admin: IsolationClient;
  before(async () => {
    service = await createIsolationService({ auth: { token: 't0k' } });
    address = `127.0.0.1:${await service.listen('127.0.0.1:0')}`;
    admin = createIsolationClient({ address, auth: { token: 't0k' } });
    await admin.registerAgent({ id: 'a1', nodeAddresses: ['10.240.0.11'], subnets: ['10.240.1.0/24'] });
    await admin.registerAgent({ id: 'a2', nodeAddresses: ['10.240.0.12'], subnets: ['10.240.2.0/24'] });
    await admin.attach({ agentId: 'a1', containerId: 'c1', ifName: 'eth0', network: 'isonet', addresses: ['10.240.1.2'], groups: ['web'], attachedAtMs: 0 });
    await admin.attach({
      agentId: 'a2',
      containerId: 'c2',
      ifName: 'eth0',
      network: 'isonet',
      addresses: ['10.240.2.2'],
      groups: ['db', 'web'],
      attachedAtMs: 0,
    });
  });
  after(async () => {
    admin?.close();
    await service?.close();
  });

  async function run(...args: string[]): Promise<string> {
    const lines: string[] = [];
    const cmd = createIsolationCommand({ out: (t) => lines.push(t) });
    await cmd.parseAsync(['--service', address, '--token', 't0k', ...args], { from: 'user' });
    return lines.join('\n');
  }

  it('lists groups and members as tables and as JSON', async () => {
    const groups = JSON.parse(await run('groups', '--json')) as { groups: { name: string; members: unknown[] }[] };
    assert.deepEqual(
      groups.groups.map((g) => [g.name, g.members.length]),
      [
        ['db', 1],
        ['web', 2],
      ],
    );
    assert.match(await run('groups'), /^GROUP\s+MEMBERS\s+ADDRESSES\s+RULES\ndb\s+1\s+10\.240\.2\.2\s+-\nweb\s+2\s+10\.240\.1\.2,10\.240\.2\.2\s+-$/);
    const members = JSON.parse(await run('members', '--group', 'db', '--json')) as { members: { containerId: string }[] };
    assert.deepEqual(
      members.members.map((m) => m.containerId),
      ['c2'],
    );
    assert.match(await run('members', '--agent', 'a1'), /a1\s+c1\s+eth0\s+isonet\s+10\.240\.1\.2\s+web/);
  });

  it('adds and removes rules, waiting for the agents when asked', async () => {
    const added = JSON.parse(
      await run('rules', 'add', '--from', 'web', '--to', 'cache', '--port', '6379', '--port', '6380', '--description', 'cache reads', '--json'),
    ) as { rule: { id: string; protocol: string; ports: unknown[] }; changed: boolean };
    assert.deepEqual([added.rule.protocol, added.rule.ports, added.changed], ['tcp', [{ first: 6379, last: 6380 }], true]);
    assert.match(await run('rules', 'add', '--from', 'web', '--to', 'cache', '--port', '6379-6380'), /^already present: r-/);
    assert.match(await run('rules', 'add', '--deny', '--from', '*', '--to', 'db', '--port', '53/udp'), /added: r-\w+ \(deny \* -> db udp\/53\)/);
    assert.match(await run('rules'), /ID\s+ACTION\s+FROM\s+TO\s+TRAFFIC\s+DESCRIPTION[\s\S]*allow\s+web\s+cache\s+tcp\/6379-6380\s+cache reads/);
    // No agent acknowledges in this test: the wait reports who is behind.
    const waited = JSON.parse(await run('rules', 'remove', added.rule.id, '--wait', '50', '--json')) as { applied: { allApplied: boolean; agents: unknown[] } };
    assert.deepEqual([waited.applied.allApplied, waited.applied.agents.length], [false, 2]);
    process.exitCode = 0;
    await assert.rejects(run('rules', 'remove', added.rule.id), /there is no rule/);
    await assert.rejects(run('rules', 'add', '--from', 'web', '--to', 'db', '--port', 'http'), /write 80, 8000-8080 or 53\/udp/);
  });

  it('shows routes, agents and the IPAM view of addresses', async () => {
    const routes = JSON.parse(await run('routes', '--json')) as { routes: { agentId: string; destination: string; via: string }[] };
    assert.deepEqual(
      routes.routes.map((r) => `${r.agentId}: ${r.destination} via ${r.via}`),
      ['a1: 10.240.2.0/24 via 10.240.0.12', 'a2: 10.240.1.0/24 via 10.240.0.11'],
    );
    assert.match(await run('routes', '--agent', 'a2'), /a2\s+10\.240\.1\.0\/24\s+10\.240\.0\.11\s+a1/);
    assert.match(await run('agents'), /a1\s+10\.240\.0\.11\s+10\.240\.1\.0\/24\s+no\s+0\/\d+/);
    const addr = JSON.parse(await run('address', '10.240.1.2', '10.240.1.99', '--json')) as { addresses: { state: string }[] };
    assert.deepEqual(
      addr.addresses.map((a) => a.state),
      ['in-use', 'clear'],
    );
    assert.match(await run('address', '10.240.1.2'), /10\.240\.1\.2\s+in-use\s+a1\/c1\/eth0/);
    await admin.attach({ agentId: 'a2', containerId: 'c9', ifName: 'eth0', network: 'isonet', addresses: ['10.240.2.9'], groups: [], attachedAtMs: 0 });
    assert.match(await run('agents', 'remove', 'a2'), /removed agent a2/);
    assert.equal((await admin.listMembers({ agentId: 'a2' })).length, 0);
  });

  it('refuses calls without the token', async () => {
    const cmd = createIsolationCommand({ out: () => undefined });
    await assert.rejects(cmd.parseAsync(['--service', address, '--token', 'wrong', 'groups'], { from: 'user' }), /credentials/);
  });
});
