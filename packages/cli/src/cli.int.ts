// The real `ippc` binary against the real Docker daemon: cluster up → status → task run (plain and
// opt-in, in groups, on two agents) → task list → net check (passes, then fails once enforcement is
// removed on one agent) → task kill → cluster down, which leaves no container, network or volume.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { packageBin } from '@ippc/core/testing';
import Docker from 'dockerode';
import { planBootstrap } from '@ippc/host';
import { LABEL, OWNER, removeCluster } from '@ippc/testbed';

const bin = packageBin('@ippc/cli', 'ippc');
const docker = new Docker();
const run = randomBytes(3).toString('hex');
const name = `cli-${run}`;
const dir = await mkdtemp(join(tmpdir(), 'ippc-cli-int-'));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `ippc ARGS` as a process; never rejects (the exit code is part of the result). */
function ippc(...args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', bin, ...args], { timeout: 180_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function json<T>(r: Result): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}

async function leftovers(cluster: string): Promise<string[]> {
  const filters = JSON.stringify({ label: [`${LABEL.owner}=${OWNER}`, `${LABEL.cluster}=${cluster}`] });
  const [containers, networks, volumes] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listNetworks({ filters }),
    docker.listVolumes({ filters }),
  ]);
  return [
    ...containers.map((c) => `container ${c.Names[0]}`),
    ...networks.map((n) => `network ${n.Name}`),
    ...(volumes.Volumes ?? []).map((v) => `volume ${v.Name}`),
  ];
}

describe('ippc against a real cluster', () => {
  after(async () => {
    // Whatever happened, nothing of this test stays.
    await removeCluster(name, { docker });
    await removeCluster(`${name}-bad`, { docker });
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a cluster file with an unknown field, naming it, and creates nothing', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, `apiVersion: ippc.dev/v1alpha1\nkind: Cluster\nname: ${name}-bad\nagent:\n  portz: 36400-36499\n`);
    const r = await ippc('cluster', 'up', '-f', bad, '--json');
    assert.equal(r.code, 1);
    const body = json<{ error: { code: string; message: string } }>(r);
    assert.equal(body.error.code, 'CONFIG_INVALID');
    assert.match(body.error.message, /agent.*portz/);
    assert.deepEqual(await leftovers(`${name}-bad`), []);
  });

  it('up, status, task run/list/kill, net check, down', async () => {
    const file = join(dir, 'cluster.yaml');
    await writeFile(
      file,
      [
        'apiVersion: ippc.dev/v1alpha1',
        'kind: Cluster',
        `name: ${name}`,
        'agents: 2',
        'network: {subnet: 10.99.242.0/24}',
        'agent: {ports: 36400-36499}',
        `dockerNetworks: [{name: ${name}-user, subnet: 10.103.242.0/24}]`,
        '',
      ].join('\n'),
    );
    const up = await ippc('cluster', 'up', '-f', file, '--json');
    assert.equal(up.code, 0, up.stderr);
    const cluster = json<{ name: string; readyAfterMs: number; agents: { address: string }[] }>(up);
    assert.equal(cluster.name, name);
    assert.equal(cluster.agents.length, 2);
    // Progress on stderr, one line per phase end, and the readiness time.
    assert.equal((up.stderr.match(/: done in \d+ ms/g) ?? []).length, 5, up.stderr);
    assert.match(up.stderr, new RegExp(`cluster ${name}: ready after \\d+\\.\\d s`));
    const [a0, a1] = cluster.agents.map((a) => a.address) as [string, string];

    // `cluster env`: its exports, evaluated by a shell outside the repository, reach the master
    // with the token (the scheduler HTTP API's door), and --json says the same.
    const env = await ippc('cluster', 'env', '--name', name);
    assert.equal(env.code, 0, env.stderr);
    const reader = `fetch(process.env.IPPC_MASTER_URL + '/api/v1/scheduler', { method: 'POST', headers: { authorization: 'Bearer ' + process.env.IPPC_TOKEN, 'content-type': 'application/json' }, body: '{}' })
      .then(async (r) => console.log(r.status + ' ' + (await r.text()) + ' ' + process.env.MESOS_MASTER))`;
    const fromOutside = await new Promise<string>((resolve, reject) =>
      execFile('sh', ['-c', 'eval "$1" && node -e "$2"', 'sh', env.stdout, reader], { cwd: dir, timeout: 30_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout.trim()),
      ),
    );
    const envJson = json<{ IPPC_MASTER_URL: string; MESOS_MASTER: string; IPPC_TOKEN: string }>(await ippc('cluster', 'env', '--name', name, '--json'));
    assert.equal(
      fromOutside,
      `400 Failed to validate scheduler::Call: Expecting 'type' to be present ${envJson.MESOS_MASTER}`,
      'authorized, and judged by the master',
    );
    assert.match(envJson.IPPC_MASTER_URL, /^http:\/\/10\.99\.242\.\d+:5050$/);

    // The cluster outlived `cluster up`: found again by name.
    const status = await ippc('cluster', 'status', '--name', name, '--json');
    assert.equal(status.code, 0, status.stderr);
    const st = json<{ masterAgents: { active: boolean }[]; services: { health: string }[] }>(status);
    assert.deepEqual(
      st.masterAgents.map((a) => a.active),
      [true, true],
    );
    assert.ok(
      st.services.every((s) => s.health === 'ok'),
      JSON.stringify(st.services),
    );

    // A plain task shares its agent's address; opt-in tasks get their own, in groups, on two agents.
    const plain = await ippc(
      'task',
      'run',
      'plain',
      '--cluster',
      name,
      '--agent',
      '0',
      '--port',
      '1',
      '--json',
      '--',
      'sh',
      '-c',
      'exec busybox httpd -f -p $PORT0',
    );
    assert.equal(plain.code, 0, plain.stderr);
    const p = json<{ state: string; agent: string; addresses: { address: string }[]; ports: string[] }>(plain);
    assert.equal(p.state, 'TASK_RUNNING');
    assert.deepEqual(
      p.addresses.map((a) => a.address),
      [a0],
    );
    assert.equal(p.ports.length, 1);
    const web = json<{ id: string; state: string; addresses: { network: string; address: string }[] }>(
      await ippc(
        'task',
        'run',
        'web',
        '--cluster',
        name,
        '--agent',
        '0',
        '--network',
        'ippc-bridge',
        '--group',
        'web',
        '--cmd',
        'exec busybox httpd -f -p 80',
        '--json',
      ),
    );
    assert.equal(web.state, 'TASK_RUNNING');
    assert.equal(web.addresses[0]?.network, 'ippc-bridge');
    assert.match(web.addresses[0]!.address, /^10\.100\.0\.\d+$/);
    const db = json<{ state: string; addresses: { address: string }[] }>(
      await ippc(
        'task',
        'run',
        'db',
        '--cluster',
        name,
        '--agent',
        a1,
        '--network',
        'ippc-bridge',
        '--group',
        'db',
        '--cmd',
        'exec busybox httpd -f -p 80',
        '--json',
      ),
    );
    assert.equal(db.state, 'TASK_RUNNING');
    assert.match(db.addresses[0]!.address, /^10\.100\.1\.\d+$/);
    const text = await ippc('task', 'run', 'web2', '--cluster', name, '--agent', '1', '--network', 'ippc-bridge', '--group', 'web', '--cmd', 'sleep 600');
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^task web2-\\w+ TASK_RUNNING on agent ${a1.replace(/\./g, '\\.')}: 10\\.100\\.1\\.\\d+ \\(ippc-bridge\\)`));

    // What Mesos refuses comes back with Mesos's reason and message; the CLI exits 1.
    const unknown = await ippc('task', 'run', 'bad', '--cluster', name, '--network', 'nope', '--cmd', 'sleep 1', '--json');
    assert.equal(unknown.code, 1);
    const err = json<{ error: { code: string; message: string } }>(unknown).error;
    assert.equal(err.code, 'CLI_TASK_FAILED');
    assert.match(err.message, /TASK_FAILED.*Unknown CNI network 'nope'/);
    // A host port no agent offers is sent anyway and judged by the master (Mesos's TASK_ERROR and
    // message), not waited for until --timeout.
    const image = (await planBootstrap()).images.node;
    const outside = await ippc(
      'task',
      'run',
      'dbr',
      '--cluster',
      name,
      '--image',
      image,
      '--docker-network',
      'bridge',
      '--port-mapping',
      '40000:80',
      '--timeout',
      '60s',
      '--json',
      '--',
      'sleep',
      '60',
    );
    assert.equal(outside.code, 1, outside.stderr);
    const refused = json<{ error: { code: string; message: string; details: { state: string; reason: string; message: string } } }>(outside).error;
    assert.equal(refused.code, 'CLI_TASK_FAILED', refused.message);
    assert.deepEqual([refused.details.state, refused.details.reason], ['TASK_ERROR', 'REASON_TASK_INVALID']);
    assert.match(refused.details.message, /ports\(allocated: \*\):\[40000-40000\] required by task and its executor is more than available/);
    const usage = await ippc('task', 'run', 'bad2', '--cluster', name, '--group', 'web', '--cmd', 'sleep 1');
    assert.equal(usage.code, 1);
    assert.match(usage.stderr, /CLI_USAGE: --group needs --network/);

    const list = json<{ tasks: { name: string; state: string; containerizer: string; networks: string[]; groups: string[]; addresses: string[] }[] }>(
      await ippc('task', 'list', '--cluster', name, '--json'),
    );
    const running = list.tasks.filter((t) => t.state === 'TASK_RUNNING');
    assert.deepEqual(running.map((t) => t.name).sort(), ['db', 'plain', 'web', 'web2']);
    assert.deepEqual(list.tasks.find((t) => t.name === 'web')?.groups, ['web']);

    // The matrix: agents, the host-network task and the three containers; it agrees with the policy.
    const svg = join(dir, 'matrix.svg');
    const check = await ippc('net', 'check', '--cluster', name, '--json', '--svg', svg);
    const report = json<{
      status: string;
      endpoints: { id: string; kind: string }[];
      expected: Record<string, Record<string, boolean | null>>;
      observed: Record<string, Record<string, boolean | null>>;
      mismatches: unknown[];
      svg: string;
    }>(check);
    assert.equal(report.status, 'pass', check.stdout);
    assert.equal(check.code, 0);
    assert.deepEqual(report.endpoints.map((e) => e.id).sort(), ['a0', 'a0/plain', 'a0/web', 'a1', 'a1/db', 'a1/web2']);
    assert.equal(report.expected['a0/web']!['a1/db'], false, 'web may not reach db');
    assert.equal(report.observed['a0/web']!['a1/db'], false);
    assert.equal(report.observed['a0/web']!['a1/web2'], true, 'web reaches web across agents');
    assert.equal(report.observed['a0/plain']!['a1/db'], false, 'a host-network task of another agent may not reach db');
    assert.equal(report.observed['a1']!['a1/db'], true, 'its own agent reaches db');
    assert.equal(report.svg, svg);
    assert.match(await readFile(svg, 'utf8'), /^<svg [^>]*>[\s\S]*ippc net check: PASS/);

    // An operator rule (ippc isolation) changes what the policy expects, and what the probes see.
    const added = await ippc('isolation', 'rules', 'add', '--cluster', name, '--from', 'web', '--to', 'db', '--port', '8080', '--wait', '5000', '--json');
    assert.equal(added.code, 0, added.stderr);
    const rule = json<{ rule: { id: string }; applied: { allApplied: boolean } }>(added);
    assert.equal(rule.applied.allApplied, true);
    const allowed = json<{
      status: string;
      expected: Record<string, Record<string, boolean | null>>;
      observed: Record<string, Record<string, boolean | null>>;
    }>(await ippc('net', 'check', '--cluster', name, '--json', '--svg', svg));
    assert.equal(allowed.status, 'pass');
    assert.equal(allowed.expected['a0/web']!['a1/db'], true, 'the rule lets web reach db');
    assert.equal(allowed.observed['a0/web']!['a1/db'], true);
    assert.equal(allowed.observed['a0/plain']!['a1/db'], false, 'but not a host-network task of another agent');
    const groups = json<{ groups: { name: string; ruleIds: string[] }[] }>(await ippc('isolation', 'groups', '--cluster', name, '--json'));
    assert.deepEqual(groups.groups.find((g) => g.name === 'db')?.ruleIds, [rule.rule.id]);
    assert.equal((await ippc('isolation', 'rules', 'remove', rule.rule.id, '--cluster', name, '--wait', '5000')).code, 0);

    // Without enforcement on db's agent, the check sees the difference and exits 1.
    const agent1 = (
      await docker.listContainers({ filters: JSON.stringify({ label: [`${LABEL.cluster}=${name}`, `${LABEL.role}=agent`, `${LABEL.index}=1`] }) })
    )[0]!;
    const exec = await docker
      .getContainer(agent1.Id)
      .exec({ Cmd: ['nft', 'delete', 'table', 'inet', 'ippc_isolation'], AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({});
    await new Promise((r) => stream.on('end', r).resume());
    assert.equal((await exec.inspect()).ExitCode, 0);
    const broken = await ippc('net', 'check', '--cluster', name, '--json', '--svg', svg);
    assert.equal(broken.code, 1);
    const bad = json<{ status: string; mismatches: { from: string; to: string; expected: boolean; observed: boolean }[] }>(broken);
    assert.equal(bad.status, 'fail');
    assert.ok(
      bad.mismatches.some((m) => m.from === 'a0/web' && m.to === 'a1/db' && !m.expected && m.observed),
      JSON.stringify(bad.mismatches),
    );
    const brokenText = await ippc('net', 'check', '--cluster', name, '--svg', svg);
    assert.equal(brokenText.code, 1);
    assert.match(brokenText.stdout, /a0\/web -> a1\/db: expected blocked/);
    assert.match(brokenText.stdout, /result: FAIL/);

    const killed = json<{ id: string; state: string }>(await ippc('task', 'kill', 'web', '--cluster', name, '--json'));
    assert.equal(killed.id, web.id);
    assert.equal(killed.state, 'TASK_KILLED');
    const missing = await ippc('task', 'kill', 'nope', '--cluster', name);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /CLI_TASK_NOT_FOUND/);

    const logs = await ippc('cluster', 'logs', '--name', name, '--node', 'agent-0', '--tail', '5');
    assert.equal(logs.code, 0);
    assert.match(logs.stdout, new RegExp(`^==> ippc-${name}-agent-0 <==`));

    const down = await ippc('cluster', 'down', '--name', name, '--json');
    assert.equal(down.code, 0, down.stderr);
    const removed = json<{ containers: number; networks: number; volumes: number; errors: string[] }>(down);
    assert.deepEqual(removed.errors, []);
    assert.ok(removed.containers >= 4 + 0, `containers removed: ${removed.containers}`);
    assert.deepEqual(await leftovers(name), [], 'no container, network or volume of the cluster is left');
    const again = await ippc('cluster', 'status', '--name', name);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /TESTBED_CLUSTER_NOT_FOUND/);
  });
});
