// `ippc showcase` as the real binary on a real cluster: every showcase task runs (opt-in and plain,
// both containerizers, every Docker mode, groups, two tasks of a custom executor on its one address,
// a pod of two on its one address), DNS answers each task's address, the matrix
// agrees with the policy, the picture is written; a second run reuses the cluster and replaces the
// tasks; removing the cluster leaves nothing.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { packageBin } from '@ippc/core/testing';
import Docker from 'dockerode';
import { LABEL, OWNER, removeCluster } from '@ippc/testbed';

const bin = packageBin('@ippc/cli', 'ippc');
const docker = new Docker();
const name = `cli-${randomBytes(3).toString('hex')}-sc`;
const dir = await mkdtemp(join(tmpdir(), 'ippc-showcase-int-'));

function ippc(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', bin, ...args], { timeout: 300_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

interface ShowcaseJson {
  ok: boolean;
  tasks: {
    name: string;
    state: string;
    view?: { containerizer: string; dockerNetwork?: string; groups: string[]; addresses: string[]; optedIn: boolean; executor?: string };
    dns?: { name: string; answer: string };
  }[];
  netCheck: { status: string; mismatches: unknown[]; endpoints: { id: string; kind: string }[]; skipped: { name: string }[] };
  svg: string;
  teardown: string;
}

describe('ippc showcase', () => {
  after(async () => {
    await removeCluster(name, { docker });
    await rm(dir, { recursive: true, force: true });
  });

  it('brings up a cluster, runs every kind of task, checks the matrix, and runs again on the same cluster', async () => {
    const file = join(dir, 'cluster.yaml');
    await writeFile(
      file,
      [
        'apiVersion: ippc.dev/v1alpha1',
        'kind: Cluster',
        `name: ${name}`,
        'agents: 3',
        'network: {subnet: 10.99.243.0/24}',
        'agent: {ports: 36500-36799}',
        `dockerNetworks: [{name: ${name}-user, subnet: 10.103.243.0/24}]`,
        '',
      ].join('\n'),
    );
    const svg = join(dir, 'matrix.svg');
    const first = await ippc('showcase', '-f', file, '--svg', svg, '--json');
    assert.equal(first.code, 0, `${first.stdout}\n${first.stderr}`);
    const report = JSON.parse(first.stdout) as ShowcaseJson;
    assert.equal(report.ok, true);
    assert.deepEqual(
      report.tasks.filter((t) => t.state !== 'TASK_RUNNING'),
      [],
    );
    const modes = new Set(report.tasks.filter((t) => t.view?.containerizer === 'DOCKER').map((t) => t.view!.dockerNetwork));
    assert.deepEqual([...modes].sort(), ['BRIDGE', 'HOST', 'NONE', 'USER']);
    assert.ok(
      report.tasks.some((t) => t.view?.containerizer === 'MESOS' && !t.view.optedIn),
      'a plain task',
    );
    assert.ok(report.tasks.filter((t) => t.view?.optedIn && t.view.containerizer === 'MESOS').length >= 6, 'opt-in tasks');
    for (const t of report.tasks) assert.equal(t.dns?.answer, t.view?.addresses[0], `${t.name}: DNS ${t.dns?.name} answers ${t.dns?.answer}`);
    // Two tasks of one custom executor, and the two tasks of a pod: one address each, one endpoint each in the matrix.
    const task = (n: string) => report.tasks.find((t) => t.name === n)?.view;
    assert.equal(task('ex-web')?.executor, 'showcase-ex');
    assert.ok(task('ex-web')?.addresses[0], 'the executor has an address');
    assert.equal(task('ex-api')?.addresses[0], task('ex-web')?.addresses[0], "ex-api reports the executor's address");
    assert.ok(task('pod-back')?.executor, 'pod tasks name their executor');
    assert.equal(task('pod-front')?.executor, task('pod-back')?.executor);
    assert.ok(task('pod-back')?.addresses[0], 'the pod has an address');
    assert.equal(task('pod-front')?.addresses[0], task('pod-back')?.addresses[0], "pod-front reports the pod's address");
    assert.notEqual(task('pod-back')?.addresses[0], task('ex-web')?.addresses[0]);
    for (const pair of [/ex-(web|api)\+ex-(web|api)$/, /pod-(back|front)\+pod-(back|front)$/])
      assert.equal(report.netCheck.endpoints.filter((e) => pair.test(e.id)).length, 1, `one endpoint for ${pair}`);
    assert.equal(report.netCheck.status, 'pass');
    assert.deepEqual(report.netCheck.mismatches, []);
    assert.equal(report.netCheck.endpoints.filter((e) => e.kind === 'agent').length, 3);
    assert.ok(report.netCheck.endpoints.filter((e) => e.kind === 'container').length >= 6);
    assert.equal(report.svg, svg);
    assert.match(await readFile(svg, 'utf8'), /ippc net check: PASS/);
    assert.equal(report.teardown, `ippc cluster down --name ${name}`);
    assert.match(first.stderr, /ready after \d+\.\d s/);

    // Again: the running cluster is reused and the previous showcase's tasks replaced.
    const second = await ippc('showcase', '--name', name, '--svg', svg);
    assert.equal(second.code, 0, `${second.stdout}\n${second.stderr}`);
    assert.match(second.stderr, new RegExp(`cluster ${name} is already running: using it`));
    assert.match(second.stderr, /removing 17 tasks of a previous showcase/);
    assert.match(second.stdout, /result: PASS/);
    assert.match(second.stdout, new RegExp(`picture \\(matrix and topology\\): ${svg.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    assert.match(second.stdout, new RegExp(`tear down: ippc cluster down --name ${name}`));
    const list = JSON.parse((await ippc('task', 'list', '--cluster', name, '--json')).stdout) as { tasks: { state: string }[] };
    assert.equal(list.tasks.filter((t) => t.state === 'TASK_RUNNING').length, 17, 'only the second showcase runs');

    const down = await ippc('cluster', 'down', '--name', name);
    assert.equal(down.code, 0);
    const filters = JSON.stringify({ label: [`${LABEL.owner}=${OWNER}`, `${LABEL.cluster}=${name}`] });
    const [containers, networks, volumes] = await Promise.all([
      docker.listContainers({ all: true, filters }),
      docker.listNetworks({ filters }),
      docker.listVolumes({ filters }),
    ]);
    assert.deepEqual([containers.length, networks.length, (volumes.Volumes ?? []).length], [0, 0, 0]);
  });
});
