import assert from 'node:assert/strict';
import { cp, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createIpamClient, type IpamClient } from '@ippc/ipam';
import { createIsolationClient, type IsolationClient } from '@ippc/isolation';
import { TaskState } from '@ippc/proto';
import type { Scheduler } from '@ippc/scheduler';
import { recordFigure } from './figures.js';
import { startIpamProcess, startIsolationProcess, startMasterProcess, type ComponentProcess } from './processes.js';
import {
  addressesOf,
  agentTasks,
  createWorld,
  eventually,
  expectAgreement,
  expectUnchanged,
  holdings,
  killAndWait,
  launchMany,
  masterTasks,
  net,
  type Holdings,
  type World,
} from './world.js';

// Faults, injected into real processes: kill -9 of the agent mid-launch and mid-kill, of the IPAM
// service during a launch storm, of the isolation service, of the master; a CNI plugin that hangs
// past the agent's plugin timeout; a partition between agent and master (iptables DROP inside the
// node namespace). After each recovery: no address ever held twice, none leaked, live containers
// keep theirs, and the master's tasks are the agent's. The Docker daemon restart has a file of its
// own (docker-daemon.int.ts): it runs a private daemon so the machine's daemon is never stopped.

let w: World;
let s: Scheduler;
let ipam: ComponentProcess;
let isolation: ComponentProcess;
let master: ComponentProcess | undefined;
let ipamClient: IpamClient;
let isoClient: IsolationClient;
let baseline: Holdings;
let agentExtra: string[] = [];
let faults = 0;
let duplicates = 0;
let leaks = 0;
const SETTLED = ['TASK_RUNNING', 'TASK_FAILED', 'TASK_LOST', 'TASK_KILLED', 'TASK_ERROR', 'TASK_DROPPED', 'TASK_GONE'] as const;

/** Every address at the IPAM, checked for a second holder (counted as a duplicate). */
async function leaseAddresses(): Promise<string[]> {
  const all = (await ipamClient.listLeases()).flatMap((l) => l.addresses.map((a) => a.address));
  const dup = all.filter((a, i) => all.indexOf(a) !== i);
  duplicates += dup.length;
  assert.deepEqual(dup, [], 'no address held twice');
  return all;
}

/** Holdings with the leases of the IPAM process (the world's in-process IPAM is not used here). */
async function counts(): Promise<Holdings> {
  const h = await holdings(w);
  return { ...h, leases: (await ipamClient.listLeases()).length };
}

/** Waits until the counts are the baseline again; a failure is counted as a leak. */
async function expectBaseline(what: string): Promise<void> {
  try {
    await expectUnchanged(counts, baseline, what, 30_000);
  } catch (err) {
    leaks += 1;
    throw err;
  }
}

/** Running tasks' addresses (from their statuses) are unique and each is held at the IPAM. */
async function expectAddressesHeld(ids: string[]): Promise<Map<string, string[]>> {
  const held = new Set(await leaseAddresses());
  const out = new Map<string, string[]>();
  for (const id of ids) {
    const st = s.latestStatus(id);
    if (!st || st.state === undefined) continue;
    const addrs = addressesOf(s.statuses.get(id)?.findLast((x) => x.containerStatus?.networkInfos?.length));
    if (s.latestStatus(id)?.state !== TaskState.TASK_RUNNING) continue;
    for (const a of addrs) assert.ok(held.has(a), `${id}'s ${a} is held at the IPAM`);
    out.set(id, addrs);
  }
  const flat = [...out.values()].flat();
  const dup = flat.filter((a, i) => flat.indexOf(a) !== i);
  duplicates += dup.length;
  assert.deepEqual(dup, [], 'no two running tasks share an address');
  return out;
}

async function killAll(ids: string[]): Promise<void> {
  for (const id of ids) {
    const st = s.latestStatus(id);
    if (st && [TaskState.TASK_RUNNING, TaskState.TASK_STARTING, TaskState.TASK_STAGING, TaskState.TASK_KILLING].includes(st.state!))
      await killAndWait(s, id, 60_000).catch(() => undefined);
  }
}

async function settle(ids: string[], timeoutMs = 90_000): Promise<void> {
  await Promise.all(ids.map((id) => s.waitForState(id, [...SETTLED], timeoutMs)));
}

describe('faults: kill -9, hung plugins and a partition, with nothing lost', { timeout: 600_000 }, () => {
  before(async () => {
    w = await createWorld({});
    const ip = w.rootIp;
    ipam = await startIpamProcess({ listen: `${ip}:${37200 + w.n}`, dataDir: join(w.dir, 'ipam-proc'), token: w.token, logFile: join(w.dir, 'ipam-proc.log') });
    isolation = await startIsolationProcess({
      listen: `${ip}:${37300 + w.n}`,
      dataFile: join(w.dir, 'isolation.json'),
      token: w.token,
      logFile: join(w.dir, 'isolation-proc.log'),
    });
    ipamClient = createIpamClient({ address: ipam.address, auth: { token: w.token } });
    isoClient = createIsolationClient({ address: isolation.address, auth: { token: w.token } });
    await w.writePlugin('rl-hang', '#!/bin/sh\ncat >/dev/null\n[ "$CNI_COMMAND" = ADD ] && exec sleep 3600\nexit 0\n');
    await w.writeConfig('80-hang.conflist', {
      cniVersion: '1.0.0',
      name: 'rl-hang',
      plugins: [
        { type: 'ptp', ipMasq: false, ipam: { type: 'host-local', ranges: [[{ subnet: w.subnets.spare[0]! }]], dataDir: join(w.workDir, 'cni', 'networks') } },
        { type: 'rl-hang' },
      ],
    });
    // Every start of the agent (restarts too) points it at the processes above.
    agentExtra = [
      `--ipam_service=${ipam.address}`,
      `--isolation_service=${isolation.address}`,
      `--isolation_socket=${join(w.dir, 'isolation.sock')}`,
      `--isolation_agent_id=rl-node-${w.id}`,
      '--network_cni_plugin_timeout=8secs',
    ];
    await w.startAgent(agentExtra);
    await w.waitForAgents(1);
    s = await w.scheduler('rl-faults');
    baseline = await counts();
  });
  beforeEach(async () => {
    // Each fault is judged on its own: what an earlier one left is counted there, not again here.
    baseline = await counts();
  });
  after(async () => {
    recordFigure({ suite: 'faults', name: 'leaks and duplicates over all faults', leaks, duplicates, note: `${faults} faults injected` });
    // The logs of the processes outlive the world (whose folder goes) for a look after a failure.
    const keep = `/tmp/rl-logs/faults-${w?.id}`;
    await mkdir(keep, { recursive: true }).catch(() => undefined);
    for (const f of ['agent.log', 'master.log', 'ipam-proc.log', 'isolation-proc.log']) await cp(join(w.dir, f), join(keep, f)).catch(() => undefined);
    await w?.dispose();
    ipamClient?.close();
    isoClient?.close();
    await ipam?.kill();
    await isolation?.kill();
    await master?.kill();
  });

  it('a bridge whose last container left takes the next one (launch, kill, launch)', async () => {
    for (let round = 0; round < 2; round++) {
      const [id] = await launchMany(s, [{ name: `again-${round}`, networks: [net('ippc-bridge')] }]);
      const st = await s.waitForState(id!, ['TASK_RUNNING', 'TASK_FAILED'], 30_000);
      assert.equal(st.message ?? '', '', `round ${round}`);
      await killAndWait(s, id!);
    }
    await expectBaseline('launch, kill, launch');
  });

  // Two moments of a launch: a fixed delay (mostly during the CNI ADDs) and the instant the first
  // container's networks are attached (between isolate and TASK_RUNNING: the container is started
  // but no status of it may be on disk yet, so the restarted agent must report it itself).
  for (const moment of ['250 ms in', 'at the first attached container'] as const) {
    it(`kill -9 of the agent mid-launch (${moment}): after its restart every task is running or failed, none holds a stale address`, async () => {
      const logFile = join(w.dir, 'agent.log');
      const logStart = (await readFile(logFile, 'utf8').catch(() => '')).length;
      const ids = await launchMany(
        s,
        Array.from({ length: 6 }, (_, i) => ({ name: `mid-launch-${i}`, networks: [net(i % 2 ? 'ippc-ptp' : 'ippc-bridge', { groups: ['web'] })] })),
      );
      if (moment === '250 ms in') await new Promise((r) => setTimeout(r, 250));
      else {
        await eventually(
          async () => ((await readFile(logFile, 'utf8')).slice(logStart).includes('"msg":"isolated"') ? true : undefined),
          'a container isolated',
          30_000,
        );
      }
      await w.stopAgent('SIGKILL');
      faults += 1;
      const restarted = Date.now();
      await w.startAgent(agentExtra);
      await settle(ids);
      const recoveryMs = Date.now() - restarted;
      await expectAgreement(w);
      await expectAddressesHeld(ids);
      recordFigure({
        suite: 'faults',
        name: `kill -9 of the agent mid-launch (${moment})`,
        faults: 1,
        recoveryMs,
        note: `${ids.filter((id) => s.latestStatus(id)?.state === TaskState.TASK_RUNNING).length} of 6 running after it`,
      });
      await killAll(ids);
      await expectBaseline('kill -9 of the agent mid-launch');
    });
  }

  it('kill -9 of the agent mid-kill: the kills complete after its restart, nothing left', async () => {
    const ids = await launchMany(
      s,
      Array.from({ length: 4 }, (_, i) => ({ name: `mid-kill-${i}`, networks: [net('ippc-bridge')] })),
    );
    await Promise.all(ids.map((id) => s.waitForState(id, 'TASK_RUNNING', 30_000)));
    const before = await expectAddressesHeld(ids);
    assert.equal(before.size, 4);
    for (const id of ids) await s.kill(id);
    await new Promise((r) => setTimeout(r, 100));
    await w.stopAgent('SIGKILL');
    faults += 1;
    const restarted = Date.now();
    await w.startAgent(agentExtra);
    // Kills the agent never finished are sent again (Mesos: the framework retries; the master forwards).
    const deadline = Date.now() + 60_000;
    for (;;) {
      const open = ids.filter((id) => s.latestStatus(id)?.state !== TaskState.TASK_KILLED);
      if (open.length === 0) break;
      assert.ok(Date.now() < deadline, `still not killed: ${open.join(', ')}`);
      for (const id of open) await s.kill(id).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 1000));
    }
    recordFigure({ suite: 'faults', name: 'kill -9 of the agent mid-kill', faults: 1, recoveryMs: Date.now() - restarted });
    await expectAgreement(w);
    await expectBaseline('kill -9 of the agent mid-kill');
  });

  it('kill -9 of the IPAM service during a launch storm: launches fail or run, none twice on an address, none leaked', async () => {
    const live = await launchMany(s, [{ name: 'live-before-ipam-crash', networks: [net('ippc-bridge')] }]);
    const liveIp = addressesOf(await s.waitForState(live[0]!, 'TASK_RUNNING', 30_000));
    const ids = await launchMany(
      s,
      Array.from({ length: 12 }, (_, i) => ({ name: `storm-${i}`, networks: [net(i % 3 === 0 ? 'ippc-ptp' : 'ippc-bridge')] })),
    );
    await new Promise((r) => setTimeout(r, 150));
    await ipam.kill('SIGKILL');
    faults += 1;
    await new Promise((r) => setTimeout(r, 1000));
    const restarted = Date.now();
    ipam = await ipam.restart();
    await settle(ids);
    const recoveryMs = Date.now() - restarted;
    const running = await expectAddressesHeld([...live, ...ids]);
    assert.deepEqual(running.get(live[0]!), liveIp, 'the live container kept its address');
    recordFigure({
      suite: 'faults',
      name: 'kill -9 of the IPAM service during a launch storm',
      faults: 1,
      recoveryMs,
      note: `${[...running.keys()].length - 1} of 12 ran`,
    });
    // A launch after the restart gets an address nobody holds.
    const [after] = await launchMany(s, [{ name: 'after-ipam-restart', networks: [net('ippc-bridge')] }]);
    await s.waitForState(after!, 'TASK_RUNNING', 30_000);
    await expectAddressesHeld([...live, ...ids, after!]);
    await expectAgreement(w);
    await killAll([...live, ...ids, after!]);
    await expectBaseline('kill -9 of the IPAM service');
  });

  it('kill -9 of the isolation service: launches go on from the node daemon, membership catches up after its restart', async () => {
    const first = await launchMany(s, [{ name: 'iso-1', networks: [net('ippc-bridge', { groups: ['db'] })] }]);
    await s.waitForState(first[0]!, 'TASK_RUNNING', 30_000);
    await isolation.kill('SIGKILL');
    faults += 1;
    const during = await launchMany(s, [{ name: 'iso-2', networks: [net('ippc-bridge', { groups: ['db'] })] }]);
    const st = await s.waitForState(during[0]!, ['TASK_RUNNING', 'TASK_FAILED'], 30_000);
    const restarted = Date.now();
    isolation = await isolation.restart();
    const running = [...first, ...during].filter((id) => s.latestStatus(id)?.state === TaskState.TASK_RUNNING);
    const wanted = running.flatMap((id) => addressesOf(s.latestStatus(id)).filter((a) => !a.includes(':'))).sort();
    await eventually(
      async () => {
        const members = await isoClient.listMembers({ agentId: `rl-node-${w.id}` });
        const have = new Set(members.flatMap((m) => m.addresses.filter((a) => !a.includes(':'))));
        return wanted.every((a) => have.has(a)) ? true : undefined;
      },
      'the members re-announced to the restarted isolation service',
      60_000,
    );
    recordFigure({
      suite: 'faults',
      name: 'kill -9 of the isolation service',
      faults: 1,
      recoveryMs: Date.now() - restarted,
      note: `launch while it was down: ${st.state === TaskState.TASK_RUNNING ? 'ran' : `failed (${st.message})`}`,
    });
    await killAll([...first, ...during]);
    await eventually(async () => ((await isoClient.listMembers({ agentId: `rl-node-${w.id}` })).length === 0 ? true : undefined), 'members detached', 30_000);
    await expectBaseline('kill -9 of the isolation service');
  });

  it('kill -9 of the master: tasks keep running with their addresses; the restarted master learns them from the agent', async () => {
    const ids = await launchMany(
      s,
      Array.from({ length: 3 }, (_, i) => ({ name: `master-crash-${i}`, networks: [net('ippc-bridge')] })),
    );
    await Promise.all(ids.map((id) => s.waitForState(id, 'TASK_RUNNING', 30_000)));
    const before = await expectAddressesHeld(ids);
    const [ip, port] = w.masterAddress.split(':');
    w.master.proc.kill('SIGKILL');
    await w.master.exited;
    faults += 1;
    const restarted = Date.now();
    master = await startMasterProcess({ ip: ip!, port: Number(port), tokenFile: w.tokenFile, logFile: join(w.dir, 'master.log') });
    await w.waitForAgents(1);
    await eventually(
      async () => {
        const m = await masterTasks(w);
        return ids.every((id) => m.get(id) === 'TASK_RUNNING') ? true : undefined;
      },
      'the restarted master to know the running tasks',
      60_000,
    );
    recordFigure({ suite: 'faults', name: 'kill -9 of the master', faults: 1, recoveryMs: Date.now() - restarted });
    const st = await w.masterState();
    for (const id of ids) {
      const t = st.frameworks.flatMap((f) => f.tasks).find((x) => x.id === id)!;
      const ipNow = t.statuses
        .at(-1)
        ?.container_status?.network_infos?.[0]?.ip_addresses?.map((a) => a.ip_address)
        .filter((a) => !a?.includes(':'));
      assert.deepEqual(
        ipNow,
        before.get(id)!.filter((a) => !a.includes(':')),
        `${id} keeps its address in /master/state`,
      );
    }
    await expectAgreement(w);
    // The framework re-subscribes (same id) and can kill its tasks through the new master.
    await eventually(
      async () => {
        await s.reconcile();
        return true;
      },
      'the scheduler re-subscribed',
      60_000,
    );
    await killAll(ids);
    await expectBaseline('kill -9 of the master');
  });

  it('a CNI plugin that hangs: killed at --network_cni_plugin_timeout (8 s), the launch fails, DEL cleans up, the address is released', async () => {
    const started = Date.now();
    const [id] = await launchMany(s, [{ name: 'hang', networks: [net('rl-hang')] }]);
    const st = await s.waitForState(id!, 'TASK_FAILED', 60_000);
    faults += 1;
    assert.match(
      st.message ?? '',
      /^Failed to launch container: The CNI plugin '.*rl-hang' failed to attach container .*; the plugin was killed after running past the plugin timeout \(the agent's --network_cni_plugin_timeout\)$/s,
    );
    assert.ok(Date.now() - started < 30_000, `failed in ${Date.now() - started} ms, not after the 120 s default`);
    recordFigure({ suite: 'faults', name: 'a CNI plugin that hangs (8 s timeout)', faults: 1, recoveryMs: Date.now() - started });
    await expectBaseline('a hung plugin');
  });

  it('a partition between agent and master (iptables DROP in the node namespace): tasks survive, the master catches up after it heals', async () => {
    const ids = await launchMany(
      s,
      Array.from({ length: 2 }, (_, i) => ({ name: `partition-${i}`, networks: [net('ippc-bridge')] })),
    );
    await Promise.all(ids.map((id) => s.waitForState(id, 'TASK_RUNNING', 30_000)));
    const before = await expectAddressesHeld(ids);
    const [mip, mport] = w.masterAddress.split(':');
    const rule = ['OUTPUT', '-d', mip!, '-p', 'tcp', '--dport', mport!, '-j', 'DROP'];
    const input = ['INPUT', '-s', mip!, '-p', 'tcp', '--sport', mport!, '-j', 'DROP'];
    await w.inNode('iptables', ['-I', ...rule]);
    await w.inNode('iptables', ['-I', ...input]);
    faults += 1;
    try {
      // Long enough for keepalives to notice (10 s + 5 s), short of the master's re-registration timeout.
      await new Promise((r) => setTimeout(r, 16_000));
      // The tasks do not notice: their processes and addresses are the agent's business.
      const agentView = await agentTasks(w);
      for (const id of ids) assert.equal(agentView.get(id), 'TASK_RUNNING');
    } finally {
      await w.inNode('iptables', ['-D', ...rule]).catch(() => undefined);
      await w.inNode('iptables', ['-D', ...input]).catch(() => undefined);
    }
    const healed = Date.now();
    await w.waitForAgents(1);
    await expectAgreement(w);
    recordFigure({ suite: 'faults', name: 'a partition between agent and master (16 s)', faults: 1, recoveryMs: Date.now() - healed });
    const after = await expectAddressesHeld(ids);
    assert.deepEqual([...after], [...before], 'the same addresses after the partition');
    await killAll(ids);
    await expectBaseline('a partition');
  });
});
