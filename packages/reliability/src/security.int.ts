import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { INSPECT_AND_SERVE } from '@ippc/node/testing';
import { TaskState, type TaskStatus } from '@ippc/proto';
import type { Scheduler } from '@ippc/scheduler';
import { recordFigure } from './figures.js';
import { grpcCall } from './probe.js';
import { addressesOf, createWorld, eventually, expectClean, holdings, killAndWait, launchMany, masterTasks, net, type Holdings, type World } from './world.js';

// Security: every gRPC API refuses a peer without the cluster token or with a wrong one; the node
// daemons' sockets are root's alone; a framework can neither kill nor read another framework's
// tasks; the IPAM refuses to release an address held by another handle; and group isolation holds
// while containers come and go (the reachability truth table re-checked after every change).

let w: World;
let a: Scheduler;
let b: Scheduler;
let baseline: Holdings;
let cases = 0;

describe('security', { timeout: 300_000 }, () => {
  before(async () => {
    w = await createWorld({ isolation: true });
    await w.startAgent();
    await w.waitForAgents(1);
    a = await w.scheduler('rl-sec-a');
    b = await w.scheduler('rl-sec-b');
    baseline = await holdings(w);
  });
  after(async () => {
    recordFigure({ suite: 'security', name: 'authentication, tenancy, handles, isolation under churn', cases });
    await w?.dispose();
  });

  describe('unauthenticated peers are refused at every gRPC API', () => {
    const apis: Array<[string, () => string, string, 'unary' | 'server-stream' | 'bidi']> = [
      ['master Scheduler/Subscribe', () => w.masterAddress, '/ippc.master.v1.Scheduler/Subscribe', 'server-stream'],
      ['master Scheduler/Send', () => w.masterAddress, '/ippc.master.v1.Scheduler/Send', 'unary'],
      ['master Agents/Connect', () => w.masterAddress, '/ippc.master.v1.Agents/Connect', 'bidi'],
      ['IPAM ListLeases', () => w.ipam.address, '/ippc.ipam.v1.Ipam/ListLeases', 'unary'],
      ['IPAM Allocate', () => w.ipam.address, '/ippc.ipam.v1.Ipam/Allocate', 'unary'],
      ['IPAM ReleaseAddress', () => w.ipam.address, '/ippc.ipam.v1.Ipam/ReleaseAddress', 'unary'],
      ['isolation ListMembers', () => w.isolation!.address, '/ippc.isolation.v1.Isolation/ListMembers', 'unary'],
      ['isolation Attach', () => w.isolation!.address, '/ippc.isolation.v1.Isolation/Attach', 'unary'],
      ['isolation AddRule', () => w.isolation!.address, '/ippc.isolation.v1.Isolation/AddRule', 'unary'],
      ['isolation Watch', () => w.isolation!.address, '/ippc.isolation.v1.Isolation/Watch', 'server-stream'],
    ];
    for (const [name, address, path, kind] of apis) {
      for (const [label, token] of [
        ['no token', undefined],
        ['a wrong token', 'not-the-cluster-token'],
        ['an empty token', ''],
      ] as const) {
        it(`${name} with ${label}: UNAUTHENTICATED`, async () => {
          cases += 1;
          const out = await grpcCall(address(), path, Buffer.alloc(0), { token, kind });
          assert.equal(grpc.status[out.code], 'UNAUTHENTICATED', out.details);
          assert.match(out.details, /pass the cluster token/);
        });
      }
    }

    it('with the token the same calls pass authentication (the refusals above are not about the bytes)', async () => {
      const out = await grpcCall(w.ipam.address, '/ippc.ipam.v1.Ipam/ListLeases', Buffer.alloc(0), { token: w.token });
      assert.equal(grpc.status[out.code], 'OK', out.details);
      const iso = await grpcCall(w.isolation!.address, '/ippc.isolation.v1.Isolation/ListMembers', Buffer.alloc(0), { token: w.token });
      assert.equal(grpc.status[iso.code], 'OK', iso.details);
    });

    it("the node daemons' sockets (CNI's way in) are root's alone", async () => {
      for (const socket of [w.ipamSocket, w.isolation!.socket]) {
        cases += 1;
        const st = await stat(socket);
        assert.ok(st.isSocket(), socket);
        assert.equal(st.mode & 0o777, 0o600, `${socket} mode ${(st.mode & 0o777).toString(8)}`);
        assert.equal(st.uid, 0);
      }
    });
  });

  it("a framework can neither kill nor read another framework's task", async () => {
    cases += 3;
    const [id] = await launchMany(a, [{ name: 'a-task', networks: [net('ippc-bridge')] }]);
    const running = await a.waitForState(id!, 'TASK_RUNNING', 30_000);
    const seenByB: TaskStatus[] = [];
    const off = b.on((e) => e.type === 'UPDATE' && e.status.taskId?.value === id && seenByB.push(e.status));
    // B kills A's task (by id, and by id with A's agent): A's task runs on.
    await b.kill(id!).catch(() => undefined);
    await b.kill(id!, { agentId: running.agentId!.value! }).catch(() => undefined);
    // B reconciles A's task: whatever B hears, it is not A's status and carries no address of A's.
    await b.reconcile([{ taskId: id!, agentId: running.agentId!.value! }]);
    await new Promise((r) => setTimeout(r, 1500));
    off();
    assert.equal(a.latestStatus(id!)?.state, TaskState.TASK_RUNNING, "A's task still running");
    assert.equal((await masterTasks(w)).get(id!), 'TASK_RUNNING');
    for (const st of seenByB) {
      assert.notEqual(st.state, TaskState.TASK_RUNNING, `B hears nothing of A's running task: ${JSON.stringify(st)}`);
      assert.deepEqual(addressesOf(st), [], "no address of A's task reaches B");
    }
    // A can still kill its own task.
    await killAndWait(a, id!);
    await expectClean(w, baseline, 'the tenancy checks');
  });

  it('the IPAM refuses to release an address held by another handle', async () => {
    cases += 4;
    const ipam = w.ipam.client;
    await ipam.ensurePool({ network: 'rl-sec', ranges: [{ subnet: w.subnets.spare[2]! }] });
    const h1 = { network: 'rl-sec', containerId: 'rl-owner', ifName: 'eth0' };
    const h2 = { network: 'rl-sec', containerId: 'rl-thief', ifName: 'eth0' };
    const { lease } = await ipam.allocate({ handle: h1, node: 'rl' });
    const address = lease.addresses[0]!.address;
    // Another handle's release frees nothing of h1's.
    const r1 = await ipam.release(h2).catch(() => ({ released: [], stale: false }));
    assert.deepEqual(r1.released, []);
    // Releasing the address with a fencing token other than h1's: stale, nothing freed.
    const r2 = await ipam.releaseAddress('rl-sec', address, lease.epoch + 1000).catch(() => ({ released: [], stale: true }));
    assert.deepEqual(r2.released, []);
    // h1 itself with a wrong epoch: stale.
    const r3 = await ipam.release(h1, lease.epoch + 1).catch(() => ({ released: [], stale: true }));
    assert.deepEqual(r3.released, []);
    // Another handle cannot take the address either.
    await assert.rejects(ipam.allocate({ handle: h2, node: 'rl', requests: [{ address }] }), /already assigned|taken/i);
    assert.equal((await ipam.getLease(h1)).addresses[0]!.address, address, 'h1 still holds it');
    const mine = await ipam.release(h1, lease.epoch);
    assert.equal(mine.released.length, 1);
  });

  it('isolation holds under churn: the truth table re-checked while containers come and go', async () => {
    // Framework B steps aside so A is offered the whole agent.
    await b.decline([...b.offers.keys()], 3600);
    await b.suppress();
    await a.revive();
    await new Promise((r) => setTimeout(r, 500));
    const from = (st: TaskStatus, ip: string) =>
      w
        .inNode('nsenter', [`--net=/proc/${st.containerStatus!.executorPid}/ns/net`, 'timeout', '1.5', 'bash', '-c', `cat < /dev/tcp/${ip}/8080`], {
          timeoutMs: 10_000,
        })
        .then(
          (out) => (out.includes('hello') ? 'open' : 'closed'),
          () => 'closed',
        );
    const live = new Map<string, { group: string; st: TaskStatus; ip: string }>();
    const start = async (names: string[]) => {
      const ids = await launchMany(
        a,
        names.map((n) => ({ name: n, command: INSPECT_AND_SERVE, networks: [net('ippc-bridge', { groups: [n.split('-')[0]!] })] })),
      );
      for (const [i, id] of ids.entries()) {
        const st = await a.waitForState(id, 'TASK_RUNNING', 30_000);
        live.set(id, { group: names[i]!.split('-')[0]!, st, ip: addressesOf(st).find((x) => !x.includes(':'))! });
      }
      // Serving: the container's own port answers from inside itself.
      for (const id of ids)
        await eventually(async () => ((await from(live.get(id)!.st, live.get(id)!.ip)) === 'open' ? true : undefined), `${id} serving`, 20_000);
    };
    const stop = async (id: string) => {
      await killAndWait(a, id);
      live.delete(id);
    };
    let checks = 0;
    let violations = 0;
    const table = async (round: number) => {
      const entries = [...live.values()];
      // Every ordered pair at once: a blocked probe waits out its timeout, in parallel.
      const pairs = entries.flatMap((src) => entries.filter((dst) => dst !== src).map((dst) => ({ src, dst })));
      const results = await Promise.all(pairs.map(async ({ src, dst }) => ({ src, dst, got: await from(src.st, dst.ip) })));
      for (const { src, dst, got } of results) {
        const want = src.group === dst.group ? 'open' : 'closed';
        checks += 1;
        if (got !== want) violations += 1;
        assert.equal(got, want, `round ${round}: ${src.group}@${src.ip} → ${dst.group}@${dst.ip}`);
      }
    };
    await start(['web-1', 'db-1']);
    await table(0);
    const rounds = 3;
    for (let round = 1; round <= rounds; round++) {
      await start([`web-${round + 1}`, `db-${round + 1}`]);
      await table(round);
      // The oldest of each group leaves; its address may be reused by the next round's newcomers.
      const leaving = [...live.entries()].filter(([, v], i) => i < 2 && v).map(([id]) => id);
      for (const id of leaving) await stop(id);
      await table(round);
    }
    for (const id of [...live.keys()]) await stop(id);
    cases += checks;
    recordFigure({
      suite: 'security',
      name: 'isolation truth table under churn',
      note: `${rounds} rounds, ${checks} reachability checks, ${violations} violations`,
    });
    await expectClean(w, baseline, 'isolation under churn');
  });
});
