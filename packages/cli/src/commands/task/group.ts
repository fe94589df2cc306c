import type { Command } from 'commander';
import { taskStateToJSON, type TaskStatus } from '@ippc/proto';
import type { Scheduler } from '@ippc/scheduler';
import type { Cluster } from '@ippc/testbed';
import { clusterName, type Testbed } from '../../context.js';
import { closeCliFramework, connectCliFramework, launchTaskGroup, type LaunchOptions } from '../../framework.js';
import { planTaskGroup, type TaskGroupFlags, type TaskGroupPlan } from '../../group-spec.js';
import { emit } from '../../output.js';
import { parseWait } from '../cluster/up.js';
import { addressesOf, addressesText } from './run.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** What a started task group reports: its executor, agent, the pod's addresses and each task. */
export interface TaskGroupResult {
  name: string;
  executor: string;
  agentId: string;
  agent: string;
  networks: string[];
  groups: string[];
  /** The pod's addresses (every task reports them). */
  addresses: { network?: string; address: string }[];
  tasks: { id: string; name: string; state: string }[];
}

export function groupResultOf(
  plan: TaskGroupPlan,
  agent: string,
  agentId: string,
  tasks: { id: string; name: string }[],
  statuses: (TaskStatus | undefined)[],
): TaskGroupResult {
  return {
    name: plan.name,
    executor: plan.executor.id,
    agentId,
    agent,
    networks: plan.networks,
    groups: plan.groups,
    addresses: addressesOf(statuses.find((s) => s?.containerStatus?.networkInfos.length)),
    tasks: tasks.map((t, i) => ({ ...t, state: statuses[i] ? taskStateToJSON(statuses[i].state ?? 0) : 'LAUNCHED' })),
  };
}

export function groupResultText(r: TaskGroupResult): string {
  const head = `pod ${r.name} (executor ${r.executor}) on agent ${r.agent}: ${r.addresses.length ? addressesText(r.addresses) : 'no address reported yet'}`;
  return [head, ...r.tasks.map((t) => `  task ${t.id} ${t.state}`)].join('\n');
}

/** Launches a task group (one LAUNCH_GROUP on the default executor) through an already connected CLI framework. */
export async function runTaskGroup(
  scheduler: Scheduler,
  cluster: Cluster,
  plan: TaskGroupPlan,
  options: Pick<LaunchOptions, 'agent' | 'wait' | 'timeoutMs'> = {},
): Promise<TaskGroupResult> {
  const { tasks, offer, statuses } = await launchTaskGroup(
    scheduler,
    cluster,
    (o) => scheduler.groupFromOffer(o, { executor: plan.executor, tasks: plan.tasks }),
    options,
  );
  return groupResultOf(
    plan,
    offer.hostname ?? '',
    offer.agentId?.value ?? '',
    tasks.map((t) => ({ id: t.taskId!.value!, name: t.name ?? '' })),
    statuses ?? [],
  );
}

/** `ippc task group`: launches a pod (a task group on the default executor) and says where it runs and with which address. */
export function registerGroup(task: Command, testbed: Testbed): void {
  task
    .command('group')
    .description('launch a task group (a pod: one address, tasks reach each other on 127.0.0.1) and wait until every task runs')
    .argument('<name>', 'the pod’s name')
    .option('--task <name=command>', 'a task of the group and its shell command (repeatable, at least one)', collect)
    .option('--network <name>', 'the pod joins this network with an address of its own (repeatable, one interface each)', collect)
    .option('--group <group>', 'isolation group on the pod’s networks (repeatable)', collect)
    .option('--ip <address>', 'request this address on the first network (repeatable)', collect)
    .option('--label <key=value>', 'label on every task (repeatable)', collect)
    .option('--cpus <n>', 'cpus of each task (default 0.1; the executor takes 0.1 more)')
    .option('--mem <mb>', 'memory of each task in MB (default 32; the executor takes 32 more, and 32 disk)')
    .option('--agent <agent>', 'run on this agent: index (0, 1, ...), address or agent id')
    .option('--wait', 'wait for every task’s TASK_RUNNING (the default)')
    .option('--no-wait', 'return once launched')
    .option('--timeout <duration>', 'how long to wait for an offer and for TASK_RUNNING (default 30s)')
    .option('--cluster <name>', 'cluster name (default: IPPC_CLUSTER or ippc)')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      [
        '',
        'The tasks start together or not at all (Mesos LAUNCH_GROUP on the default executor); each is a nested container',
        'in the pod. A task that ends other than TASK_FINISHED, or is killed, ends the whole group, as in Mesos.',
        '',
        'Examples:',
        "  ippc task group pod --network ippc-bridge --group web --task back='exec busybox httpd -f -p 127.0.0.1:9000' \\",
        "      --task front='until curl -sfo index.html http://127.0.0.1:9000/; do sleep 0.2; done; exec busybox httpd -f -p 80'",
        "  ippc task group pair --task a='sleep 600' --task b='sleep 600' --agent 1 --json",
      ].join('\n'),
    )
    .action(async (name: string, opts: TaskGroupFlags & { agent?: string; wait?: boolean; timeout?: string; cluster?: string; json?: boolean }) => {
      const plan = planTaskGroup(name, opts);
      const timeoutMs = opts.timeout ? parseWait(opts.timeout) : undefined;
      const cluster = await testbed.attachCluster(clusterName(opts.cluster));
      const scheduler = await connectCliFramework(cluster);
      try {
        const result = await runTaskGroup(scheduler, cluster, plan, {
          ...(opts.agent !== undefined ? { agent: opts.agent } : {}),
          wait: opts.wait !== false,
          ...(timeoutMs ? { timeoutMs } : {}),
        });
        emit(opts.json, result, () => groupResultText(result));
      } finally {
        await closeCliFramework(scheduler);
      }
    });
}
