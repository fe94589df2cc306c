// An unmodified third-party Mesos framework library from npm, mesos-framework 0.5.3 (pinned in
// e2e/package.json), on a testbed cluster of its own, through the master's scheduler HTTP API only
// (`POST /api/v1/scheduler`, JSON, RecordIO): it subscribes, accepts offers, launches an opt-in
// task on ippc-bridge and a plain task, reads the opt-in task's address from the UPDATE event's
// `container_status`, sends the plain task's executor a MESSAGE, and kills both. Every assertion
// is on what the library reports; the tasks are reached from an agent. Issue #15, item 6
// (scheduler half).
//
// The library sends no credentials (it has no option for them): the cluster runs with
// authentication disabled, as a Mesos master without `--authenticate_http_frameworks` (Mesos's
// default) takes unauthenticated scheduler calls.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cidrContains, parseCidr, parseIp } from '@ippc/core';
import { planBootstrap } from '@ippc/host';
import type { ContainerStatusJson } from '@ippc/mesos';
import { startCluster, type AgentNode, type StartedCluster } from '@ippc/testbed';
import { FrameworkProcess } from './http-framework/framework-process.js';
import { E2E, eventually, serve } from './support.js';

/** An UPDATE event's `update` as the library emits it (Mesos's v1 JSON). */
interface UpdateJson {
  status: { task_id: { value: string }; agent_id: { value: string }; state: string; container_status?: ContainerStatusJson };
}

const NAME = 'http-fw';

let cluster: StartedCluster;
let framework: FrameworkProcess | undefined;

before(async () => {
  cluster = await startCluster({
    name: E2E.http.name,
    agents: 2,
    image: (await planBootstrap()).images.node,
    config: {
      network: { subnet: E2E.http.subnet },
      agent: { ports: E2E.http.ports, resources: 'cpus:4;mem:4096' },
      containerNetworks: [{ name: 'ippc-bridge', type: 'bridge', ipam: 'ippc-ipam', cidr: '10.100.0.0/16' }],
      dockerNetworks: [],
      auth: { disabled: true },
    },
  });
  console.log(`# http-framework cluster ready after ${cluster.readyAfterMs} ms`);
});

after(async () => {
  await framework?.stop();
  await cluster?.stop();
});

/** The update the library reported when task `name` (its id: `<framework>.<name>.<uuid>`) reached `state`. */
const updateOf = (fw: FrameworkProcess, name: string, state: string) =>
  fw.next<UpdateJson>('update', (u) => u.status.task_id.value.startsWith(`${NAME}.${name}.`) && u.status.state === state, 60_000);

const addressesIn = (u: UpdateJson) => (u.status.container_status?.network_infos ?? []).flatMap((n) => (n.ip_addresses ?? []).map((a) => a.ip_address ?? ''));

async function agentById(id: string): Promise<AgentNode> {
  for (const agent of cluster.agents) if ((await agent.agentId()) === id) return agent;
  throw new Error(`no agent of the cluster has id ${id}`);
}

/** `curl` from `from` until `url` answers with `expect` (bounded). */
const reach = (from: AgentNode, url: string, expect: string) =>
  eventually(
    async () => {
      const r = await from.exec(['curl', '-sf', '--max-time', '2', url], { timeoutMs: 10_000 });
      return r.exitCode === 0 && r.stdout.includes(expect) ? r.stdout : undefined;
    },
    `${url} to answer ${expect} on agent ${from.index}`,
    30_000,
  );

describe('a third-party Mesos framework library (mesos-framework 0.5.3) over the scheduler HTTP API', () => {
  it('subscribes, launches an opt-in task on ippc-bridge and a plain task, reads the address from UPDATE, reaches it, kills both', async () => {
    const plainAgent = cluster.agents[0]!;
    const plainPort = plainAgent.ports.first;
    const master = new URL(cluster.master.url);
    const fw = (framework = FrameworkProcess.start({
      masterHost: master.hostname,
      masterPort: Number(master.port),
      name: NAME,
      web: { command: serve(80), network: 'ippc-bridge' },
      plain: { command: serve(plainPort), port: plainPort },
    }));

    const subscribed = await fw.next<{ frameworkId: string; mesosStreamId: string }>('subscribed');
    assert.match(subscribed.mesosStreamId, /^[0-9a-f-]{36}$/, 'the Mesos-Stream-Id the library keeps');
    const state = await cluster.masterState();
    assert.equal(state.frameworks.find((f) => f.id === subscribed.frameworkId)?.name, NAME, 'the master knows the framework by the id the library got');

    // The library matched its tasks to offers, sent ACCEPT and reports TASK_RUNNING for both. (Its
    // `task_launched` event is not waited for: the library emits it only for STAGING -> RUNNING, and
    // the command executor sends TASK_STARTING in between, as Mesos's does: src/launcher/executor.cpp.)
    const web = await updateOf(fw, 'web-1', 'TASK_RUNNING');
    const plain = await updateOf(fw, 'plain-1', 'TASK_RUNNING');

    // The opt-in task's address, read from the UPDATE's container_status as the library emitted it.
    const webAgent = await agentById(web.status.agent_id.value);
    const [webNetwork] = web.status.container_status?.network_infos ?? [];
    assert.equal(webNetwork?.name, 'ippc-bridge', JSON.stringify(web.status.container_status));
    const [webIp] = addressesIn(web);
    assert.ok(
      webIp && cidrContains(parseCidr(webAgent.subnets['ippc-bridge']!.ipv4)!, parseIp(webIp)!),
      `${webIp} is in ippc-bridge's subnet on agent ${webAgent.index} (${webAgent.subnets['ippc-bridge']!.ipv4})`,
    );
    // The plain task runs on its agent's network: its status reports the agent's address (Mesos's default).
    assert.equal(await plainAgent.agentId(), plain.status.agent_id.value, 'the plain task went to the agent that offers its port');
    assert.deepEqual(addressesIn(plain), [plainAgent.address]);

    // Reach both from the other agent: the opt-in task at its own address, port 80; the plain one at its agent's address.
    const webProbe = cluster.agents.find((a) => a !== webAgent)!;
    await reach(webProbe, `http://${webIp}/`, `hello-${web.status.task_id.value}`);
    await reach(cluster.agents[1]!, `http://${plainAgent.address}:${plainPort}/`, `hello-${plain.status.task_id.value}`);

    // MESSAGE for the plain task's executor (a command executor has its task's id, as in Mesos):
    // accepted, forwarded to the agent, and ignored there by the command executor, as Mesos's is.
    fw.message(plain.status.agent_id.value, plain.status.task_id.value, 'hello, executor');
    await fw.next('sent_message');
    const snapshot = (await (await fetch(`${cluster.master.url}/metrics/snapshot`)).json()) as Record<string, number>;
    assert.equal(snapshot['master/valid_framework_to_executor_messages'], 1, JSON.stringify(snapshot));

    fw.kill(web.status.task_id.value, web.status.agent_id.value);
    fw.kill(plain.status.task_id.value, plain.status.agent_id.value);
    await updateOf(fw, 'web-1', 'TASK_KILLED');
    await updateOf(fw, 'plain-1', 'TASK_KILLED');
    const errors = fw.events.filter((e) => e.event === 'error');
    assert.deepEqual(errors, [], 'the library reported no error');

    assert.equal(await fw.teardown(), 0, 'the framework exits once its TEARDOWN is accepted');
    await eventually(
      async () => ((await cluster.masterState()).frameworks.some((f) => f.id === subscribed.frameworkId) ? undefined : true),
      'the framework to be removed',
    );
  });
});
