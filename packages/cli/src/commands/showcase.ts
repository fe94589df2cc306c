import { Resolver } from 'node:dns/promises';
import type { Command } from 'commander';
import Docker from 'dockerode';
import { isIppcError } from '@ippc/core';
import { taskStateToJSON } from '@ippc/proto';
import type { Scheduler } from '@ippc/scheduler';
import type { Cluster } from '@ippc/testbed';
import { realTestbed, stderrProgress, type Progress, type Testbed } from '../context.js';
import { closeCliFramework, connectCliFramework, launchTask } from '../framework.js';
import { emit, table } from '../output.js';
import { planTaskRun, type TaskRunFlags, type TaskRunPlan } from '../task-spec.js';
import { containerizerText, networksText, taskViews } from '../tasks-view.js';
import { clusterUp, readClusterFile } from './cluster.js';
import { netCheck, netCheckText } from './net.js';

// `ippc showcase`: the tour. A cluster (started, or the running one of that name), then opt-in and
// plain tasks side by side on every agent, in both containerizers and all Docker network modes,
// in isolation groups; a table of where everything runs and with which address; the measured
// reachability matrix against the policy, with its picture; and how to tear it all down.

/** Label that marks showcase tasks (a second run replaces them). */
export const SHOWCASE_LABEL = 'org.ippc.showcase';

export interface ShowcaseTask {
  name: string;
  /** Agent index, modulo the number of agents. */
  agent: number;
  flags: TaskRunFlags;
  /** What it shows. */
  why: string;
}

/**
 * The showcase's tasks. Opt-in tasks serve HTTP on port 80 in their own namespace; plain tasks on
 * an offered host port. `image` is the node image (on the daemon already: nothing is pulled).
 */
export function showcaseTasks(options: { bridge: string; ptp?: string; userNetwork?: string; image: string }): ShowcaseTask[] {
  const httpd = 'exec busybox httpd -f -p 80';
  const tasks: ShowcaseTask[] = [
    { name: 'web-1', agent: 0, flags: { network: [options.bridge], group: ['web'], cmd: httpd }, why: 'opt-in, group web' },
    { name: 'web-2', agent: 1, flags: { network: [options.bridge], group: ['web'], cmd: httpd }, why: 'opt-in, group web, another agent' },
    { name: 'db-1', agent: 2, flags: { network: [options.bridge], group: ['db'], cmd: httpd }, why: 'opt-in, group db: web cannot reach it' },
    { name: 'api-1', agent: 0, flags: { network: [options.bridge], group: ['web', 'db'], cmd: httpd }, why: 'opt-in, groups web+db (the union)' },
    { name: 'pub-1', agent: 1, flags: { network: [options.bridge], group: ['public'], cmd: httpd }, why: 'opt-in, group public: open to all' },
    { name: 'free-1', agent: 2, flags: { network: [options.bridge], cmd: httpd }, why: 'opt-in, no group: not isolated' },
    ...(options.ptp ? [{ name: 'ptp-1', agent: 1, flags: { network: [options.ptp], group: ['db'], cmd: httpd }, why: 'opt-in on a ptp network, group db' }] : []),
    { name: 'plain-1', agent: 0, flags: { port: '1', cmd: 'exec busybox httpd -f -p $PORT0' }, why: 'no network: the agent address, an offered port' },
    { name: 'plain-2', agent: 1, flags: { port: '1', cmd: 'exec busybox httpd -f -p $PORT0' }, why: 'no network, beside opt-in tasks (mixed mode)' },
    { name: 'd-host', agent: 0, flags: { image: options.image, dockerNetwork: 'host', cmd: 'exec sleep 86400' }, why: 'Docker HOST: the agent address' },
    { name: 'd-bridge', agent: 1, flags: { image: options.image, dockerNetwork: 'bridge', portMapping: [], cmd: httpd }, why: 'Docker BRIDGE: the Docker bridge address' },
    { name: 'd-none', agent: 2, flags: { image: options.image, dockerNetwork: 'none', cmd: 'exec sleep 86400' }, why: 'Docker NONE: no network, the agent address reported' },
  ];
  if (options.userNetwork) tasks.push({ name: 'd-user', agent: 2, flags: { image: options.image, dockerNetwork: 'user', network: [options.userNetwork], cmd: httpd }, why: 'Docker USER: a user network made with the cluster' });
  return tasks;
}

export interface ShowcaseOptions {
  /** A cluster file for a new cluster (as `cluster up -f`). */
  config?: string;
  name?: string;
  agents?: string;
  svg?: string;
  json?: boolean;
}

interface Outcome {
  name: string;
  why: string;
  id?: string;
  state: string;
  message?: string;
}

/**
 * Discovery: each running task's Mesos-DNS name (`<task>.<framework>.<domain>`) asked of the
 * cluster's DNS, a few times while the DNS catches up with the master's state (it reads it every
 * 500 ms). Returns the answer per task id (`error: CODE` when none came).
 */
async function resolveNames(cluster: Cluster, tasks: { id: string; name: string; framework: string; address?: string }[]): Promise<Map<string, { name: string; answer: string }>> {
  const resolver = new Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([cluster.dns.address]);
  const out = new Map<string, { name: string; answer: string }>();
  await Promise.all(
    tasks.map(async (t) => {
      const name = `${t.name}.${t.framework}.${cluster.config.dns.domain}`;
      let answer = '';
      for (let attempt = 0; attempt < 6; attempt++) {
        try {
          answer = (await resolver.resolve4(name)).join(',');
          if (!t.address || answer.split(',').includes(t.address)) break;
        } catch (err) {
          answer = `error: ${(err as { code?: string }).code ?? (err as Error).message}`;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      out.set(t.id, { name, answer });
    }),
  );
  return out;
}

/** Kills the running tasks a previous showcase left (by label), so a second run starts clean. */
async function clearPrevious(scheduler: Scheduler, cluster: Cluster, progress: Progress): Promise<void> {
  const state = await cluster.masterState();
  const previous = state.frameworks.flatMap((f) => f.tasks.filter((t) => (t.labels ?? []).some((l) => l.key === SHOWCASE_LABEL)).map((t) => ({ id: t.id, agentId: t.slave_id })));
  if (previous.length === 0) return;
  progress(`removing ${previous.length} tasks of a previous showcase`);
  await Promise.all(
    previous.map(async (t) => {
      await scheduler.kill(t.id, { agentId: t.agentId });
      await scheduler.waitForState(t.id, ['TASK_KILLED', 'TASK_FINISHED', 'TASK_FAILED', 'TASK_LOST', 'TASK_GONE', 'TASK_ERROR', 'TASK_DROPPED'], 30_000).catch(() => undefined);
    }),
  );
}

export async function runShowcase(opts: ShowcaseOptions, deps: { testbed?: Testbed; progress?: Progress } = {}): Promise<{ ok: boolean; report: Record<string, unknown>; text: string }> {
  const testbed = deps.testbed ?? realTestbed;
  const progress = deps.progress ?? stderrProgress;
  const file = opts.config ? await readClusterFile(opts.config) : undefined;
  const name = opts.name ?? process.env.IPPC_CLUSTER ?? file?.name ?? 'ippc';
  const existing = (await testbed.listClusters()).find((c) => c.name === name);
  let cluster: Cluster;
  let readyAfterMs: number | undefined;
  if (existing) {
    progress(`cluster ${name} is already running: using it (ippc cluster down${name === 'ippc' ? '' : ` --name ${name}`} first for a fresh one)`);
    cluster = await testbed.attachCluster(name);
  } else {
    const up = await clusterUp({ name, ...(opts.config ? { config: opts.config } : {}), ...(opts.agents || !file ? { agents: opts.agents ?? '3' } : {}) }, { testbed, progress });
    cluster = up.cluster;
    readyAfterMs = up.readyAfterMs;
  }
  // Docker tasks run the image the cluster's nodes run: it is on the daemon (nothing is pulled).
  const image = (await new Docker().getContainer(cluster.agents[0]!.containerId).inspect()).Config.Image;
  const nets = cluster.config.containerNetworks;
  const specs = showcaseTasks({
    bridge: nets.find((n) => n.type === 'bridge')?.name ?? nets[0]?.name ?? 'ippc-bridge',
    ...(nets.find((n) => n.type === 'ptp') ? { ptp: nets.find((n) => n.type === 'ptp')!.name } : {}),
    ...(cluster.dockerNetworks[0] ? { userNetwork: cluster.dockerNetworks[0].name } : {}),
    image,
  });

  const scheduler = await connectCliFramework(cluster);
  const outcomes: Outcome[] = [];
  try {
    await clearPrevious(scheduler, cluster, progress);
    progress(`launching ${specs.length} tasks on ${cluster.agents.length} agents`);
    // Launched one after the other (each takes from a fresh offer), then awaited together.
    const launched: { spec: ShowcaseTask; plan: TaskRunPlan; id?: string; error?: string }[] = [];
    for (const spec of specs) {
      const plan = planTaskRun(spec.name, undefined, { ...spec.flags, label: [`${SHOWCASE_LABEL}=true`] });
      try {
        const { task } = await launchTask(scheduler, cluster, (o) => scheduler.taskFromOffer(o, plan.spec), { agent: String(spec.agent % cluster.agents.length), wait: false, timeoutMs: 20_000 });
        launched.push({ spec, plan, id: task.taskId!.value! });
      } catch (err) {
        launched.push({ spec, plan, error: isIppcError(err) ? `${err.code}: ${err.message}` : (err as Error).message });
      }
    }
    await Promise.all(
      launched.map(async (l) => {
        if (!l.id) {
          outcomes.push({ name: l.spec.name, why: l.spec.why, state: 'NOT LAUNCHED', message: l.error! });
          return;
        }
        try {
          await scheduler.waitForState(l.id, 'TASK_RUNNING', 60_000);
          outcomes.push({ name: l.spec.name, why: l.spec.why, id: l.id, state: 'TASK_RUNNING' });
        } catch {
          const last = scheduler.latestStatus(l.id);
          outcomes.push({ name: l.spec.name, why: l.spec.why, id: l.id, state: last ? taskStateToJSON(last.state ?? 0) : 'NO UPDATE', ...(last?.message ? { message: last.message } : {}) });
        }
        progress(`  ${l.spec.name}: ${outcomes.at(-1)!.state}`);
      }),
    );
  } finally {
    await closeCliFramework(scheduler);
  }
  outcomes.sort((a, b) => specs.findIndex((s) => s.name === a.name) - specs.findIndex((s) => s.name === b.name));

  const views = taskViews(await cluster.masterState()).filter((t) => outcomes.some((o) => o.id === t.id));
  const dns = await resolveNames(
    cluster,
    views.filter((v) => v.state === 'TASK_RUNNING').map((v) => ({ id: v.id, name: v.name, framework: v.framework, ...(v.addresses[0] ? { address: v.addresses[0] } : {}) })),
  );
  const dnsText = (id: string, address: string | undefined) => {
    const d = dns.get(id);
    if (!d) return '-';
    return d.answer === address ? d.name : `${d.name} -> ${d.answer || 'nothing'}`;
  };
  const rows = [
    ['TASK', 'STATE', 'AGENT', 'CONTAINERIZER', 'NETWORKS', 'GROUPS', 'ADDRESSES', 'DNS NAME', 'SHOWS'],
    ...outcomes.map((o) => {
      const v = views.find((t) => t.id === o.id);
      return [o.name, o.state.replace(/^TASK_/, ''), v?.agent ?? '-', v ? containerizerText(v) : '-', v ? networksText(v) : '-', v?.groups.join(',') || '-', v?.addresses.join(',') || '-', dnsText(o.id ?? '', v?.addresses[0]), o.why];
    }),
  ];
  const failed = outcomes.filter((o) => o.state !== 'TASK_RUNNING');

  progress('checking reachability between every pair (net check)');
  const check = await netCheck(cluster, { ...(opts.svg ? { svg: opts.svg } : {}) }, progress);
  const down = `ippc cluster down${name === 'ippc' ? '' : ` --name ${name}`}`;
  const text = [
    `cluster ${cluster.name}: ${cluster.agents.length} agents, master ${cluster.master.url}${readyAfterMs !== undefined ? `, ready after ${(readyAfterMs / 1000).toFixed(1)} s` : ''}`,
    '',
    'tasks (DNS NAME: <task>.<framework>.<domain>, asked of the cluster DNS, answers the address shown; otherwise "-> answer")',
    table(rows),
    ...(failed.length ? ['', 'tasks that did not run:', ...failed.map((o) => `  ${o.name}: ${o.state}${o.message ? `: ${o.message}` : ''}`)] : []),
    '',
    netCheckText(check),
    '',
    `tear down: ${down}   (from the repository: npm run -s ippc -- cluster down)`,
  ].join('\n');
  const report = {
    cluster: { name: cluster.name, agents: cluster.agents.map((a) => a.address), master: cluster.master.url, ...(readyAfterMs !== undefined ? { readyAfterMs } : {}) },
    tasks: outcomes.map((o) => ({ ...o, view: views.find((t) => t.id === o.id), dns: dns.get(o.id ?? '') })),
    netCheck: { status: check.report.status, mismatches: check.report.mismatches, counts: check.report.counts, endpoints: check.endpoints.map(({ netns: _n, ...e }) => e), skipped: check.skipped },
    svg: check.svgPath,
    teardown: down,
  };
  return { ok: failed.length === 0 && check.report.status === 'pass', report, text };
}

export function registerShowcase(program: Command, deps: { testbed?: Testbed } = {}): void {
  program
    .command('showcase')
    .description('bring up a cluster and show opt-in and plain tasks side by side, Docker modes, groups, and the reachability matrix')
    .option('--name <name>', 'cluster name (default: IPPC_CLUSTER, the file’s name, or ippc); a running cluster of that name is reused')
    .option('-f, --config <file>', 'cluster file for a new cluster (as cluster up -f)')
    .option('--agents <n>', 'agents of a new cluster (default: the file’s, or 3)')
    .option('--svg <file>', 'where to write the matrix picture (default $TMPDIR/ippc-net-check-<cluster>.svg)')
    .option('--json', 'print the report as JSON')
    .addHelpText('after', '\nExits 1 when a task did not run or the matrix differs from the policy.\n\nExamples:\n  ippc showcase\n  ippc showcase --name demo --agents 2 --svg /tmp/demo.svg')
    .action(async (opts: ShowcaseOptions) => {
      const { ok, report, text } = await runShowcase(opts, deps);
      emit(opts.json, { ok, ...report }, () => text);
      if (!ok) process.exitCode = 1;
    });
}
