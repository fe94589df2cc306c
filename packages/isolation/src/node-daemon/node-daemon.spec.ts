// The node daemon's local-first ordering, against the real service over gRPC on a unix socket that
// goes away and comes back (its state kept in a data file), with a recording enforcer at the seam
// (agent.int.ts does the same against nftables in a scratch namespace).
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isIppcError } from '@ippc/core';
import { createIsolationClient, type IsolationClient } from '../client.js';
import type { ApplyOptions, ApplyResult, Enforcer } from '../enforcer/enforcer.js';
import type { Member, PolicyState } from '../model.js';
import { createIsolationService, type IsolationService } from '../service/service.js';
import { createInProcessCniPlugin } from '../cni/in-process.js';
import { createIsolationNodeDaemon, type IsolationNodeDaemon } from './node-daemon.js';

/** An enforcer that records what it is asked to apply: `kernel` is the last state applied. */
function recordingEnforcer(agentId: string) {
  const calls: { state: PolicyState; options?: ApplyOptions }[] = [];
  const apply = (state: PolicyState, options?: ApplyOptions): Promise<ApplyResult> => {
    calls.push({ state, options });
    return Promise.resolve({
      epoch: state.epoch,
      revision: state.revision,
      mode: 'delta',
      via: 'session',
      routesAdded: 0,
      routesRemoved: 0,
      routeErrors: [],
      durationMs: 0.5,
      kernelMs: 0.25,
    });
  };
  const enforcer: Enforcer & { calls: typeof calls; kernel(): PolicyState | undefined; has(containerId: string): boolean } = {
    agentId,
    table: 'fake',
    get applied() {
      const last = calls.at(-1);
      return last ? { epoch: last.state.epoch, revision: last.state.revision } : undefined;
    },
    apply,
    rebuild: apply,
    inspect: () => Promise.resolve({ tablePresent: true, sets: {}, routes: [] }),
    verifyMember: () => Promise.resolve(),
    remove: () => Promise.resolve(),
    close: () => undefined,
    calls,
    kernel: () => calls.at(-1)?.state,
    has: (containerId) => calls.at(-1)?.state.members.some((m) => m.containerId === containerId) ?? false,
  };
  return enforcer;
}

const spec = (id: string, i: number) => ({ id, nodeAddresses: [`10.250.0.${10 + i}`], subnets: [`10.250.${i}.0/24`] });
const member = (containerId: string, address: string, groups = ['web']): Member => ({
  agentId: 'a1',
  containerId,
  ifName: 'eth0',
  network: 'n',
  addresses: [address],
  groups,
  attachedAtMs: 0,
});

/** The checkpoint as a restarted daemon reads it: members.json, then the journal members.log. */
async function checkpointOf(dataDir: string): Promise<string[]> {
  const members = new Map<string, string>();
  const snapshot = JSON.parse(await readFile(join(dataDir, 'members.json'), 'utf8')) as { members: Member[] };
  for (const m of snapshot.members) members.set(`${m.agentId}/${m.containerId}/${m.ifName}`, m.containerId);
  const journal = await readFile(join(dataDir, 'members.log'), 'utf8').catch(() => '');
  for (const line of journal.split('\n').filter(Boolean)) {
    const e = JSON.parse(line) as { set?: Member; del?: string };
    if (e.set) members.set(`${e.set.agentId}/${e.set.containerId}/${e.set.ifName}`, e.set.containerId);
    if (e.del) members.delete(e.del);
  }
  return [...members.values()].sort();
}

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('isolation node daemon: local first', () => {
  let dir: string;
  let address: string;
  let service: IsolationService | undefined;
  let admin: IsolationClient;
  const agents: { agent: IsolationNodeDaemon; client: IsolationClient }[] = [];

  const startService = async () => {
    await rm(join(dir, 'svc.sock'), { force: true });
    service = await createIsolationService({ auth: { disabled: true }, dataFile: join(dir, 'service.json') });
    await service.listen(address);
  };
  const stopService = async () => {
    await service?.close();
    service = undefined;
  };
  const startAgent = async (id = 'a1', i = 1) => {
    const enforcer = recordingEnforcer(id);
    const client = createIsolationClient({ address, auth: { disabled: true }, deadlineMs: 2_000 });
    const agent = createIsolationNodeDaemon({
      agent: spec(id, i),
      client,
      enforcer,
      socketPath: join(dir, `${id}.sock`),
      dataDir: join(dir, id),
      applyTimeoutMs: 2_000,
      retryMs: 50,
      maxRetryMs: 200,
    });
    await agent.start();
    agents.push({ agent, client });
    return { agent, enforcer, client };
  };
  const stopAgent = async (agent: IsolationNodeDaemon) => {
    const i = agents.findIndex((a) => a.agent === agent);
    const [entry] = agents.splice(i, 1);
    await entry!.agent.close();
    entry!.client.close();
  };
  const checkpoint = (id: string) => checkpointOf(join(dir, id));
  const serviceMembers = (agentId = 'a1') =>
    service!.store
      .members({ agentId })
      .map((m) => m.containerId)
      .sort();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iso-agent-'));
    address = `unix:${join(dir, 'svc.sock')}`;
    admin = createIsolationClient({ address, auth: { disabled: true } });
  });
  after(async () => {
    for (const a of [...agents]) await stopAgent(a.agent);
    admin?.close();
    await stopService();
    await rm(dir, { recursive: true, force: true });
  });

  it('ADD with the service down: enforced locally at once; the service learns it when it comes back', async () => {
    const { agent, enforcer } = await startAgent();
    // Never connected, no cache: nothing to enforce yet, so no table is made.
    assert.equal(enforcer.calls.length, 0);
    await agent.attach(member('c1', '10.250.1.2'));
    assert.ok(enforcer.has('c1'), 'in the kernel when ADD returns');
    assert.equal(enforcer.calls.at(-1)!.options?.routes, false, 'routes left alone without any service state');
    assert.deepEqual(await checkpoint('a1'), ['c1']);
    assert.equal(agent.status().unsynced, 1);

    await startService();
    await agent.waitForSynced(10_000);
    assert.deepEqual(serviceMembers(), ['c1']);
    assert.deepEqual(
      service!.store.agents().map((a) => a.id),
      ['a1'],
      'the agent registered itself',
    );
    await agent.waitForApplied(5_000);
    assert.equal(enforcer.calls.at(-1)!.options?.routes, true);
    assert.equal(agent.status().unsynced, 0);
  });

  it('ADD while connected answers before the service call; other agents learn through the watch', async () => {
    const { agent: a2, enforcer: e2 } = await startAgent('a2', 2);
    await a2.waitForApplied(5_000);
    const a1 = agents[0]!.agent;
    await a1.attach(member('c2', '10.250.1.3', ['web']));
    await until(() => e2.has('c2'), 'a2 enforcing a1 c2 (via the service)');
    const st = await admin.awaitApplied(undefined, 5_000);
    assert.ok(st.allApplied);
  });

  it('refuses an address another agent holds (as last watched), leaving nothing behind', async () => {
    const a1 = agents[0]!.agent;
    const a2 = agents.find((a) => a.agent !== a1)!.agent;
    await a2.attach({ ...member('d1', '10.250.2.7'), agentId: 'a2' });
    await a2.waitForSynced(5_000);
    await until(async () => (await admin.listMembers({ agentId: 'a2' })).length === 1 && a1.status().knownRevision === service!.store.revision, 'a1 sees d1');
    const before = a1.members().length;
    await assert.rejects(a1.attach(member('x1', '10.250.2.7')), (e) => isIppcError(e, 'ISOLATION_ADDRESS_IN_USE') && /a2\/d1\/eth0/.test(e.message));
    await assert.rejects(a1.attach(member('x2', '10.250.1.3')), (e) => isIppcError(e, 'ISOLATION_ADDRESS_IN_USE') && /a1\/c2\/eth0/.test(e.message));
    assert.equal(a1.members().length, before);
    await a2.detach({ agentId: 'a2', containerId: 'd1', ifName: 'eth0' });
  });

  it('DEL with the service down: removed locally at once; the address stays in use for IPAM until the service heard it and every agent applied it', async () => {
    const a1 = agents[0]!.agent;
    const e1 = () => a1.enforcer as ReturnType<typeof recordingEnforcer>;
    await a1.waitForSynced(5_000);
    await stopService();
    await a1.detach({ agentId: 'a1', containerId: 'c2', ifName: 'eth0' });
    assert.ok(!e1().has('c2'), 'out of the local sets when DEL returns');
    await a1.detach({ agentId: 'a1', containerId: 'c2', ifName: 'eth0' }); // idempotent
    // The service, back from its data file, still thinks c2 is there: the address is not clear.
    // (a2 stays away for now, so the release cannot be acknowledged by every agent yet.)
    const a2 = agents.find((a) => a.agent !== a1)!.agent;
    await stopAgent(a2);
    await startService();
    assert.equal(service!.store.checkAddresses(['10.250.1.3'])[0]!.state, 'in-use');
    await a1.waitForSynced(10_000);
    assert.deepEqual(serviceMembers(), ['c1']);
    // a1 acknowledges (it removed c2 first of all); a2 cannot: the address drains.
    await until(() => service!.store.checkAddresses(['10.250.1.3'])[0]!.pendingAgents.join() === 'a2', 'a1 acknowledging the release');
    assert.equal(service!.store.checkAddresses(['10.250.1.3'])[0]!.state, 'draining');
    await startAgent('a2', 2);
    const res = await admin.awaitApplied(undefined, 5_000);
    assert.ok(res.allApplied);
    assert.equal(service!.store.checkAddresses(['10.250.1.3'])[0]!.state, 'clear');
  });

  it('restart in between: a daemon restarted while the service is down enforces its checkpoint and cached state at once, and the service ends up with exactly the checkpoint', async () => {
    const first = agents[0]!.agent;
    await admin.addRule({ id: 'kept', from: 'web', to: 'db' });
    await admin.awaitApplied(undefined, 5_000);
    await first.waitForApplied(5_000);
    await until(() => service!.store.agents().find((a) => a.id === 'a1')!.appliedRevision === service!.store.revision, 'a1 acknowledging the current revision');
    // A state is acknowledged only once the cache holds it, or one that differs only in a1's own
    // members (which a restarted daemon takes from its checkpoint).
    const cached = (JSON.parse(await readFile(join(dir, 'a1', 'state.json'), 'utf8')) as { state: PolicyState }).state;
    const now = service!.store.snapshot();
    const others = (st: PolicyState) =>
      JSON.stringify([st.epoch, st.members.filter((m) => m.agentId !== 'a1'), st.rules, st.agents.map((a) => [a.id, a.nodeAddresses, a.subnets])]);
    assert.equal(others(cached), others(now));

    await stopService();
    await first.attach(member('c3', '10.250.1.4'));
    await stopAgent(first);
    const { agent, enforcer } = await startAgent('a1', 1);
    await agent.waitForEnforcing(2_000);
    const kernel = enforcer.kernel()!;
    assert.deepEqual(
      kernel.members
        .filter((m) => m.agentId === 'a1')
        .map((m) => m.containerId)
        .sort(),
      ['c1', 'c3'],
      'the checkpoint',
    );
    assert.deepEqual([kernel.rules.map((r) => r.id), kernel.agents.map((a) => a.id)], [['kept'], ['a1', 'a2']], 'rules and agents from the cache');
    assert.equal(enforcer.calls.at(-1)!.options?.routes, true, 'routes kept from the cached state');
    assert.equal(agent.status().connected, false);
    // Still down: more changes, locally.
    await agent.detach({ agentId: 'a1', containerId: 'c1', ifName: 'eth0' });
    await agent.attach(member('c4', '10.250.1.5'));
    assert.deepEqual(
      enforcer
        .kernel()!
        .members.filter((m) => m.agentId === 'a1')
        .map((m) => m.containerId)
        .sort(),
      ['c3', 'c4'],
    );

    await startService();
    await agent.waitForSynced(10_000);
    assert.deepEqual(serviceMembers(), ['c3', 'c4']);
    await agent.waitForApplied(5_000);
  });

  it('the checkpoint is a snapshot plus a journal: compacted as it grows, replayed at start, a torn last line ignored', async () => {
    const dataDir = join(dir, 'j1');
    const client = createIsolationClient({ address: 'unix:/nonexistent/ippc.sock', auth: { disabled: true }, deadlineMs: 500 });
    const make = () =>
      createIsolationNodeDaemon({
        agent: spec('j1', 9),
        client,
        enforcer: recordingEnforcer('j1'),
        socketPath: join(dir, 'j1.sock'),
        dataDir,
        applyTimeoutMs: 2_000,
      });
    let agent = make();
    try {
      await agent.start();
      for (let i = 0; i < 150; i++) {
        await agent.attach({ ...member(`j${i}`, `10.250.9.${i + 1}`), agentId: 'j1' });
        if (i % 3 === 0) await agent.detach({ agentId: 'j1', containerId: `j${i}`, ifName: 'eth0' });
      }
      const want = agent
        .members()
        .map((m) => m.containerId)
        .sort();
      assert.equal(want.length, 100);
      await new Promise((r) => setImmediate(r));
      // 200 changes, fewer than the compaction limit: all of them are in the journal.
      assert.deepEqual(await checkpointOf(dataDir), want);
      for (let i = 150; i < 250; i++) await agent.attach({ ...member(`j${i}`, `10.250.9.${i + 1}`), agentId: 'j1' });
      await new Promise((r) => setTimeout(r, 20));
      const journal = (await readFile(join(dataDir, 'members.log'), 'utf8')).split('\n').filter(Boolean);
      assert.ok(journal.length < 256, `compacted: ${journal.length} lines since the last snapshot`);
      const all = agent
        .members()
        .map((m) => m.containerId)
        .sort();
      assert.deepEqual(await checkpointOf(dataDir), all);
      await agent.close();
      // A crash in the middle of an append leaves a torn line: ignored.
      const { appendFile } = await import('node:fs/promises');
      await appendFile(join(dataDir, 'members.log'), '{"set":{"agentId":"j1","contai');
      agent = make();
      await agent.start();
      assert.deepEqual(
        agent
          .members()
          .map((m) => m.containerId)
          .sort(),
        all,
      );
      assert.equal((await readFile(join(dataDir, 'members.log'), 'utf8')).length, 0, 'a fresh snapshot at start');
    } finally {
      await agent.close();
      client.close();
    }
  });

  it('the checkpoint is the truth: members someone else removes or adds at the service are put right', async () => {
    const a1 = agents.find((a) => a.agent.status().agentId === 'a1')!.agent;
    await admin.detach({ agentId: 'a1', containerId: 'c3', ifName: 'eth0' });
    await admin.attach(member('ghost', '10.250.1.99'));
    await until(() => serviceMembers().join() === 'c3,c4', 'the service back to the checkpoint');
    await admin.deregisterAgent('a1');
    await until(() => serviceMembers().join() === 'c3,c4', 'a1 registered again with its members');
    await a1.waitForSynced(5_000);
  });

  it('says where the time of each CNI ADD and DEL went: GET /timings per call and phase, and the phase histogram', async () => {
    const { agent } = await startAgent('t1', 7);
    const call = (method: string, path: string, headers: Record<string, string> = {}, body = '') =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ socketPath: agent.socketPath, method, path, headers, agent: false }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        });
        req.on('error', reject);
        req.end(body);
      });
    const config = JSON.stringify({
      cniVersion: '1.0.0',
      name: 'n',
      type: 'ippc-isolation',
      args: { 'org.apache.mesos': { network_info: { groups: ['web'] } } },
      prevResult: { cniVersion: '1.0.0', ips: [{ address: '10.250.7.2/24' }] },
    });
    const headers = (command: string) => ({ 'x-cni-command': command, 'x-cni-containerid': 't1c', 'x-cni-ifname': 'eth0', 'x-cni-netns': '/run/netns/x' });
    assert.equal((await call('POST', '/cni', headers('ADD'), config)).status, 200);
    assert.equal((await call('POST', '/cni', headers('DEL'), config)).status, 200);
    // A bad request is answered, and timed like any other.
    assert.equal((await call('POST', '/cni', headers('ADD'), '{')).status, 400);
    await until(async () => (JSON.parse((await call('GET', '/timings')).body) as unknown[]).length === 3, 'three timed calls');
    const timings = JSON.parse((await call('GET', '/timings')).body) as { command: string; phases: Record<string, number> }[];
    assert.deepEqual(
      timings.map((t) => t.command),
      ['ADD', 'DEL', 'ADD'],
    );
    for (const t of timings.slice(0, 2)) {
      assert.deepEqual(Object.keys(t.phases).sort(), ['answer', 'body', 'decode', 'enforce', 'enforce.compile', 'enforce.nft', 'record']);
      for (const ms of Object.values(t.phases)) assert.ok(ms >= 0 && ms < 2_000);
      // The enforcer's own account of the apply that covered the change.
      assert.equal(t.phases['enforce.nft'], 0.25);
      assert.equal(t.phases['enforce.compile'], 0.25);
    }
    assert.deepEqual(Object.keys(timings[2]!.phases).sort(), ['answer', 'body'], 'a call refused while decoding has no later phases');
    const metrics = (await call('GET', '/metrics')).body;
    assert.match(metrics, /ippc_isolation_cni_phase_seconds_count\{[^}]*command="ADD",phase="enforce"\} 1\n/);
    assert.match(metrics, /ippc_isolation_cni_phase_seconds_count\{[^}]*command="DEL",phase="record"\} 1\n/);
    assert.match(metrics, /ippc_isolation_apply_kernel_seconds_count\{[^}]*mode="delta"\} [1-9]/);
    await stopAgent(agent);
  });
  it('answers a CNI call in process as over its socket: enforced before ADD answers, removed before DEL answers, the same errors, timed alike', async () => {
    const { agent, enforcer } = await startAgent('p1', 8);
    const call = (command: string, containerId: string, body: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const headers = { 'x-cni-command': command, 'x-cni-containerid': containerId, 'x-cni-ifname': 'eth0', 'x-cni-netns': '/run/netns/x' };
        const req = request({ socketPath: agent.socketPath, method: 'POST', path: '/cni', headers, agent: false }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        });
        req.on('error', reject);
        req.end(body);
      });
    const plugin = createInProcessCniPlugin(agent);
    const env = (command: string, containerId: string) => ({
      CNI_COMMAND: command,
      CNI_CONTAINERID: containerId,
      CNI_IFNAME: 'eth0',
      CNI_NETNS: '/run/netns/x',
      CNI_PATH: '/opt/cni/bin',
    });
    const config = (address: string) =>
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'n',
        type: 'ippc-isolation',
        socket: agent.socketPath,
        args: { 'org.apache.mesos': { network_info: { groups: ['web'] } } },
        prevResult: { cniVersion: '1.0.0', ips: [{ address }] },
      });

    const viaSocket = await call('ADD', 's1', config('10.250.8.2/24'));
    const inProcess = await plugin({ env: env('ADD', 'i1'), stdin: config('10.250.8.3/24') });
    assert.ok(enforcer.has('i1'), 'in the kernel when the in-process ADD answers');
    assert.deepEqual(inProcess, { exitCode: 0, stdout: viaSocket.body.replace('10.250.8.2', '10.250.8.3'), stderr: '' });
    assert.deepEqual(
      agent
        .members()
        .map((m) => m.containerId)
        .sort(),
      ['i1', 's1'],
    );
    assert.deepEqual(await plugin({ env: env('DEL', 'i1'), stdin: config('10.250.8.3/24') }), { exitCode: 0, stdout: '', stderr: '' });
    assert.ok(!enforcer.has('i1'), 'out of the kernel when the in-process DEL answers');
    assert.equal((await call('DEL', 's1', config('10.250.8.2/24'))).status, 200);

    // Refusals carry the same CNI error JSON (exit 1 where the socket says 400).
    for (const [command, stdin] of [
      ['ADD', JSON.stringify({ cniVersion: '1.0.0', name: 'n', socket: agent.socketPath })],
      ['FROB', config('10.250.8.4/24')],
      ['ADD', JSON.stringify({ cniVersion: '0.1.0', name: 'n', socket: agent.socketPath })],
    ] as const) {
      const socket = await call(command, 'e1', stdin);
      const local = await plugin({ env: env(command, 'e1'), stdin });
      assert.equal(socket.status, 400);
      assert.deepEqual(local, { exitCode: 1, stdout: socket.body, stderr: '' }, `${command} ${stdin}`);
    }
    // Undecodable: the forwarder would send it to the default socket, not this agent's.
    assert.equal(await plugin({ env: env('ADD', 'e1'), stdin: '{' }), undefined);
    // The same bookkeeping: timed per phase (no body to read in process).
    const timings = await new Promise<{ command: string; phases: Record<string, number> }[]>((resolve, reject) => {
      request({ socketPath: agent.socketPath, path: '/timings', agent: false }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve(JSON.parse(text) as { command: string; phases: Record<string, number> }[]));
      })
        .on('error', reject)
        .end();
    });
    assert.deepEqual(Object.keys(timings[1]!.phases).sort(), ['answer', 'decode', 'enforce', 'enforce.compile', 'enforce.nft', 'record']);
    assert.ok(agent.serving);
    await stopAgent(agent);
    assert.equal(agent.serving, false);
    assert.equal(
      await plugin({ env: env('ADD', 'x1'), stdin: config('10.250.8.5/24') }),
      undefined,
      'a stopped agent declines: the forwarder reports that nobody answers',
    );
  });
});
