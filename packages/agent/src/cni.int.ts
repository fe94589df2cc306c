import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NetworkInfo_Protocol, TaskState, TaskStatus_Reason, TaskStatus_Source, type NetworkInfo, type Offer, type TaskStatus } from '@ippc/proto';
import type { AgentStateJson, Scheduler, TaskSpec } from '@ippc/scheduler';
import { createNodeWorld, eventually, getJson, INSPECT_AND_SERVE, type Census, type NodeWorld } from './testing/node-world.js';

// IP-per-container through the real agent: a real master and a real ippc-agent process (in a
// scratch node namespace) with the built-in network/cni isolator, real CNI plugins (Debian's
// bridge, ptp, host-local, portmap; ippc's ippc-ipam installed by the agent) and the real central
// IPAM service. Everything goes through the framework API and /master/state. Needs root.

const net = (name: string, extra: Partial<NetworkInfo> = {}): NetworkInfo => ({ name, groups: [], ipAddresses: [], portMappings: [], ...extra });

let w: NodeWorld;
let s: Scheduler;
let baseline: Census;

async function offer(): Promise<Offer> {
  const [o] = await s.awaitOffers({ timeoutMs: 20_000 });
  return o!;
}

async function launch(spec: Omit<TaskSpec, 'command'> & { command?: string }): Promise<{ id: string; offer: Offer }> {
  const o = await offer();
  const task = s.taskFromOffer(o, { cpus: 0.1, mem: 32, command: INSPECT_AND_SERVE, ...spec });
  await s.launch(o, [task], { refuseSeconds: 0 });
  return { id: task.taskId!.value!, offer: o };
}

async function kill(id: string): Promise<void> {
  await s.kill(id);
  await s.waitForState(id, 'TASK_KILLED', 30_000);
}

const addresses = (st: TaskStatus) => (st.containerStatus?.networkInfos ?? []).flatMap((n) => n.ipAddresses.map((a) => a.ipAddress!));

/** The JSON line the task printed (what the container sees). */
async function inspect(id: string): Promise<{ hostname: string; hosts: string; resolv: string; libprocessIp: string | null; interfaces: Record<string, string[]> }> {
  const sandbox = await eventually(async () => {
    const st = await getJson<AgentStateJson>(`${w.agent!.url}/state`);
    for (const f of st.frameworks) for (const e of [...f.executors, ...f.completed_executors]) if (e.id === id) return e.directory;
    return undefined;
  }, `the sandbox of ${id}`);
  const line = await eventually(async () => (await readFile(join(sandbox, 'stdout'), 'utf8')).split('\n').find((l) => l.startsWith('{')), `output of ${id}`);
  return JSON.parse(line) as never;
}

/** `hello <task>` from the container's server, fetched from inside the node namespace. */
async function hello(ip: string, port = 8080): Promise<string> {
  return (await w.inNode('timeout', ['5', 'bash', '-c', `cat < /dev/tcp/${ip}/${port}`], { timeoutMs: 10_000 }).catch((e: Error) => `unreachable: ${e.message}`)).trim();
}

/** A TCP read from this process (the root namespace: another machine, as far as the node is concerned). */
function readFrom(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port, timeout: 5000 });
    let data = '';
    sock.on('data', (d) => (data += d.toString()));
    sock.on('end', () => resolve(data.trim()));
    sock.on('timeout', () => sock.destroy(new Error(`timeout connecting to ${host}:${port}`)));
    sock.on('error', reject);
  });
}

async function expectClean(what: string): Promise<void> {
  const now = await eventually(async () => {
    const c = await w.census();
    return JSON.stringify(c) === JSON.stringify(baseline) ? c : undefined;
  }, `nothing left behind after ${what}: ${JSON.stringify(baseline)}`, 20_000).catch(async (err: Error) => {
    throw new Error(`${err.message}; now ${JSON.stringify(await w.census())}`);
  });
  assert.deepEqual(now, baseline);
}

describe('IP-per-container through the agent (network/cni, real plugins, real IPAM)', { timeout: 600_000 }, () => {
  before(async () => {
    w = await createNodeWorld();
    await w.startAgent();
    await w.waitForAgents(1);
    s = await w.scheduler('cni-tests');
    baseline = await w.census();
  });

  after(async () => {
    await w?.dispose();
  });

  it('one network: a unique address from the IPAM service, in TASK_RUNNING and /master/state, reachable, released on kill', async () => {
    const { id } = await launch({ name: 'one', networks: [net('ippc-bridge', { groups: ['web'] })] });
    const running = await s.waitForState(id, 'TASK_RUNNING', 30_000);
    const infos = running.containerStatus!.networkInfos;
    assert.equal(infos.length, 1);
    assert.equal(infos[0]!.name, 'ippc-bridge');
    assert.deepEqual(infos[0]!.groups, ['web']);
    const v4 = infos[0]!.ipAddresses.find((a) => a.protocol !== NetworkInfo_Protocol.IPv6)!.ipAddress!;
    const v6 = infos[0]!.ipAddresses.find((a) => a.protocol === NetworkInfo_Protocol.IPv6)?.ipAddress;
    assert.match(v4, new RegExp(`^10\\.236\\.${3 * w.n + 1}\\.`));
    assert.ok(v6 && v6.startsWith(`fd10:236:${w.n.toString(16)}:1:`), `IPv6 from the second range: ${v6}`);
    const leases = await w.ipam.client.listLeases({ network: 'ippc-bridge' });
    assert.equal(leases.length, 1);
    assert.deepEqual(leases[0]!.addresses.map((a) => a.address).sort(), [v4, v6!.split('/')[0]].sort());
    assert.deepEqual(leases[0]!.groups, ['web']);
    const st = await w.masterState();
    const task = st.frameworks.flatMap((f) => f.tasks).find((t) => t.id === id)!;
    const reported = task.statuses.at(-1)!.container_status!.network_infos![0]!;
    assert.equal(reported.name, 'ippc-bridge');
    assert.ok(reported.ip_addresses!.some((a) => a.ip_address === v4 && a.protocol === 'IPv4'));
    const seen = await inspect(id);
    assert.equal(seen.libprocessIp, '0.0.0.0');
    assert.ok(seen.interfaces.eth0?.includes(v4), JSON.stringify(seen.interfaces));
    assert.equal(await hello(v4), `hello ${id}`);
    await kill(id);
    // TASK_KILLED comes when the task ended; the DEL (and the release) follows as the container is destroyed.
    await eventually(async () => ((await w.ipam.client.listLeases({ network: 'ippc-bridge' })).length === 0 ? true : undefined), 'the address to be released');
    await expectClean('a kill');
  });
});
