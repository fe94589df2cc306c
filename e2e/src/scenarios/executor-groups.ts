// Isolation groups per executor on the shared e2e cluster (cluster.e2e.ts runs this scenario): a
// pod whose executor joins ippc-bridge in group "a" (ExecutorInfo.container.network_infos[].groups;
// its tasks ask for nothing themselves), a task in group "a" on another agent and one in group "b"
// on a third. By the isolation provider's rule (a member accepts its own groups), every task of the
// pod reaches the "a" task and is reached by it, and neither direction works with the "b" task;
// probes run from each task's own network namespace. Then `ippc net check` (the CLI, as an operator
// runs it) probes the pod's two tasks as one endpoint, in group "a", and finds the policy holds.
// Issue #16, item 4.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import type { TaskStatus } from '@ippc/proto';
import type { AgentNode, StartedCluster } from '@ippc/testbed';
import { E2E, eventually, ipOf, launchOn, net, serve, withFramework } from '../support.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** `curl` from inside the network namespace of process `pid` on `agent`: whether `url` answered. */
async function reaches(agent: AgentNode, pid: number, url: string): Promise<boolean> {
  const r = await agent.exec(['nsenter', `--net=/proc/${pid}/ns/net`, 'curl', '-s', '-o', '/dev/null', '--max-time', '3', url], { timeoutMs: 15_000 });
  return r.exitCode === 0;
}

/** The pid of the process listening on `port` in the namespace of the container whose status is `st` (a pod task's own server). */
async function listener(agent: AgentNode, st: TaskStatus, port: number): Promise<number> {
  const out = await agent.execOrThrow(['nsenter', `--net=/proc/${st.containerStatus!.executorPid}/ns/net`, 'ss', '-Htlnp', `sport = :${port}`]);
  const pid = Number(/pid=(\d+)/.exec(out)?.[1]);
  assert.ok(pid > 0, `a process listens on port ${port}: ${out}`);
  return pid;
}

/** `ippc net check --json` on this cluster, as an operator runs it (exit 1 is a failed check: its report is still printed). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function ippcNetCheck(): Promise<Record<string, any>> {
  const args = ['--import', 'tsx', join(root, 'packages/cli/src/bin/ippc.ts'), 'net', 'check', '--cluster', E2E.name, '--json'];
  // The picture it always draws goes to a scratch folder, removed after.
  const dir = await mkdtemp(join(tmpdir(), 'ippc-e2e-net-check-'));
  try {
    const run = await promisify(execFile)(process.execPath, [...args, '--svg', join(dir, 'matrix.svg')], {
      cwd: root,
      timeout: 120_000,
      maxBuffer: 16 << 20,
    }).catch((err: { code?: number; stdout?: string; stderr?: string }) => {
      if (err.code === 1 && err.stdout) return { stdout: err.stdout };
      throw new Error(`ippc net check failed (${err.code}): ${err.stderr}`);
    });
    return JSON.parse(run.stdout) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function executorGroupsScenarios(cluster: () => StartedCluster): void {
  describe("isolation groups per executor: the executor's NetworkInfo.groups", () => {
    it('every task of a pod in group "a" reaches and is reached by an "a" task on another agent, not a "b" one; net check sees the pod as one endpoint', async () => {
      const c = cluster();
      await withFramework(c, 'e2e-exgroups', async (s) => {
        // The pod on agent 1 (its tasks serve on 80 and 81: net check's own probe listens on 8080 in every container).
        const address = c.agents[1]!.address;
        const [offer] = await s.awaitOffers({ filter: (o) => o.hostname === address, timeoutMs: 20_000 });
        const { executor, tasks } = s.groupFromOffer(offer!, {
          executor: { id: 'pod-a', networks: [net('ippc-bridge', { groups: ['a'] })] },
          tasks: [
            { name: 'pa', command: serve(80) },
            { name: 'pb', command: serve(81) },
          ],
        });
        await s.launchGroup(offer!, executor, tasks, { refuseSeconds: 0 });
        const ga = await launchOn(s, c, 0, { name: 'ga', command: serve(80), networks: [net('ippc-bridge', { groups: ['a'] })] });
        const gb = await launchOn(s, c, 2, { name: 'gb', command: serve(80), networks: [net('ippc-bridge', { groups: ['b'] })] });
        const pod = await Promise.all(tasks.map((t) => s.waitForState(t.taskId!.value!, 'TASK_RUNNING', 60_000)));
        const [gaSt, gbSt] = [await s.waitForState(ga.id, 'TASK_RUNNING', 30_000), await s.waitForState(gb.id, 'TASK_RUNNING', 30_000)];
        const ip = ipOf(pod[0]);
        assert.ok(ip.startsWith('10.100.1.'), JSON.stringify(pod[0]!.containerStatus));
        assert.equal(ipOf(pod[1]), ip, "both tasks on the pod's one address");
        for (const st of pod) assert.deepEqual(st.containerStatus!.networkInfos[0]!.groups, ['a'], "the executor's groups in every task's status");

        // From "a": both of the pod's ports (one per task) answer; from "b": neither. Served at all
        // first (from the pod's own agent, which always reaches its members), so a block means the policy.
        const urls = [`http://${ip}:80/`, `http://${ip}:81/`];
        for (const url of urls)
          await eventually(async () => ((await c.agents[1]!.exec(['curl', '-sf', '--max-time', '2', url])).exitCode === 0 ? true : undefined), `${url} served`);
        const pidOf = (st: TaskStatus) => st.containerStatus!.executorPid!;
        for (const url of urls) {
          assert.equal(await reaches(c.agents[0]!, pidOf(gaSt), url), true, `ga (group a) reaches ${url}`);
          assert.equal(await reaches(c.agents[2]!, pidOf(gbSt), url), false, `gb (group b) does not reach ${url}`);
        }
        // From every task of the pod, each from its own server process's namespace: "a" answers, "b" does not.
        for (const [k, port] of [80, 81].entries()) {
          const pid = await listener(c.agents[1]!, pod[k]!, port);
          assert.equal(await reaches(c.agents[1]!, pid, `http://${ipOf(gaSt)}/`), true, `pod task ${k} (pid ${pid}) reaches ga`);
          assert.equal(await reaches(c.agents[1]!, pid, `http://${ipOf(gbSt)}/`), false, `pod task ${k} (pid ${pid}) does not reach gb`);
        }

        // `ippc net check`: the pod's tasks are one endpoint in group "a", and the observed matrix is the policy's.
        const report = await ippcNetCheck();
        const endpoints = report.endpoints as { id: string; kind: string; address: string; groups: string[] }[];
        const mine = endpoints.filter((e) => e.address === ip);
        assert.equal(mine.length, 1, `one endpoint for the pod: ${JSON.stringify(endpoints)}`);
        const podId = mine[0]!.id;
        assert.match(podId, /^a1\/(pa\+pb|pb\+pa)$/);
        assert.deepEqual([mine[0]!.kind, mine[0]!.groups], ['container', ['a']]);
        assert.equal(report.status, 'pass', JSON.stringify(report.mismatches, null, 2));
        for (const [from, to, want] of [
          ['a0/ga', podId, true],
          [podId, 'a0/ga', true],
          ['a2/gb', podId, false],
          [podId, 'a2/gb', false],
        ] as const) {
          assert.equal(report.expected[from][to], want, `policy ${from} -> ${to}`);
          assert.equal(report.observed[from][to], want, `observed ${from} -> ${to}`);
        }
      });
    });
  });
}
