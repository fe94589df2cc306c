import { Option, type Command } from 'commander';
import { taskStateToJSON, type Offer, type TaskInfo, type TaskStatus } from '@ippc/proto';
import { rangesContain, rangesOf, rangesOfValues } from '@ippc/mesos';
import { taskFromOffer, type Scheduler, type TaskSpec } from '@ippc/scheduler';
import type { Cluster } from '@ippc/testbed';
import { clusterName, type Testbed } from '../../context.js';
import { closeCliFramework, connectCliFramework, launchTask } from '../../framework.js';
import { emit } from '../../output.js';
import { planTaskRun, type TaskRunFlags, type TaskRunPlan } from '../../task-spec.js';
import { parseWait } from '../cluster/up.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** Joins argv into one shell command, quoting what the shell would split or expand. */
export function shellJoin(args: string[]): string {
  return args.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** What a started task reports: where it runs and its addresses (from TaskStatus.container_status). */
export interface TaskRunResult {
  id: string;
  name: string;
  state: string;
  agentId: string;
  agent: string;
  containerizer: TaskRunPlan['containerizer'];
  dockerNetwork?: string;
  networks: string[];
  groups: string[];
  addresses: { network?: string; address: string }[];
  ports: string[];
}

export function resultOf(plan: TaskRunPlan, taskId: string, agent: string, agentId: string, status: TaskStatus | undefined, ports: string[]): TaskRunResult {
  const addresses = (status?.containerStatus?.networkInfos ?? [])
    .flatMap((n) => n.ipAddresses.map((a) => ({ ...(n.name ? { network: n.name } : {}), address: a.ipAddress ?? '' })))
    .filter((a) => a.address);
  return {
    id: taskId,
    name: plan.spec.name,
    state: status ? taskStateToJSON(status.state ?? 0) : 'LAUNCHED',
    agentId,
    agent,
    containerizer: plan.containerizer,
    ...(plan.dockerNetwork ? { dockerNetwork: plan.dockerNetwork } : {}),
    networks: plan.networks,
    groups: plan.groups,
    addresses,
    ports,
  };
}

export function resultText(r: TaskRunResult): string {
  const where = r.addresses.map((a) => `${a.address}${a.network ? ` (${a.network})` : ''}`).join(', ') || 'no address reported';
  return `task ${r.id} ${r.state} on agent ${r.agent}: ${where}${r.ports.length ? `; ports ${r.ports.join(',')}` : ''}`;
}

export interface RunTaskOptions {
  agent?: string;
  wait?: boolean;
  timeoutMs?: number;
}

/**
 * The task for an offer, judged only by what the CLI can know: cpus, mem and how many ports. Named
 * host ports (`--port-mapping`) go into the task's resources as named, whether or not the offer
 * holds them, so the master judges them and answers with Mesos's status and message (TASK_ERROR,
 * "... is more than available ...") instead of the CLI waiting for an offer that never comes.
 * Throws when the offer cannot hold cpus, mem or the count of ports.
 */
export function taskForOffer(offer: Offer, spec: TaskSpec): TaskInfo {
  const named = Array.isArray(spec.ports) && spec.ports.length > 0 ? spec.ports : undefined;
  if (!named || holdsNamedPorts(offer, spec)) return taskFromOffer(offer, spec);
  const task = taskFromOffer(offer, { ...spec, ports: named.length });
  for (const r of task.resources) if (r.name === 'ports') r.ranges = { range: named.map((p) => ({ begin: p, end: p })) };
  return task;
}

/** Whether the offer holds the spec's named host ports (then the task takes exactly those). */
function holdsNamedPorts(offer: Offer, spec: TaskSpec): boolean {
  return Array.isArray(spec.ports) && rangesContain(rangesOf(offer.resources, 'ports'), rangesOfValues(spec.ports));
}

/** Launches one task through an already connected CLI framework. */
export async function runTask(scheduler: Scheduler, cluster: Cluster, plan: TaskRunPlan, options: RunTaskOptions = {}): Promise<TaskRunResult> {
  const { task, offer, status } = await launchTask(scheduler, cluster, (o) => taskForOffer(o, plan.spec), {
    prefer: (o) => holdsNamedPorts(o, plan.spec),
    ...(options.agent !== undefined ? { agent: options.agent } : {}),
    ...(options.wait !== undefined ? { wait: options.wait } : {}),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });
  const ports = task.resources
    .filter((r) => r.name === 'ports')
    .flatMap((r) => (r.ranges?.range ?? []).map((x) => (x.begin === x.end ? `${x.begin}` : `${x.begin}-${x.end}`)));
  return resultOf(plan, task.taskId!.value!, offer.hostname ?? '', offer.agentId?.value ?? '', status, ports);
}

/** `ippc task run`: launches a task as the CLI framework and says where it runs and with which address. */
export function registerRun(task: Command, testbed: Testbed): void {
  task
    .command('run')
    .description('launch a task and wait until it runs; prints its agent and addresses')
    .argument('<name>', 'task name')
    .argument('[command...]', 'the command, after -- (or use --cmd)')
    .option('--cmd <command>', 'shell command to run (sh -c)')
    .addOption(new Option('--containerizer <kind>', 'mesos or docker (default mesos; --docker, --image, --docker-network imply docker)'))
    .option('--docker', 'run it as a Docker container (Docker containerizer)')
    .option('--image <image>', 'Docker image (never pulled: it must be on the Docker daemon)')
    .option('--network <name>', 'opt in: join this network with an address of its own (repeatable, one interface each)', collect)
    .option('--docker-network <mode>', 'Docker network mode: host, bridge, none or user (default: user with --network, else host)')
    .option('--group <group>', 'isolation group on its networks (repeatable)', collect)
    .option('--ip <address>', 'request this address on the first network (repeatable)', collect)
    .option('--label <key=value>', 'task label (repeatable)', collect)
    .option('--port-mapping <host:container[/proto]>', 'map an offered host port to a container port (repeatable)', collect)
    .option('--port <n>', 'take n ports from the offer; the command sees PORT0..PORTn-1')
    .option('--hostname <hostname>', 'the container’s hostname')
    .option('--cpus <n>', 'cpus (default 0.1)')
    .option('--mem <mb>', 'memory in MB (default 32)')
    .option('--agent <agent>', 'run on this agent: index (0, 1, ...), address or agent id')
    .option('--wait', 'wait for TASK_RUNNING (the default)')
    .option('--no-wait', 'return once launched instead of waiting for TASK_RUNNING')
    .option('--timeout <duration>', 'how long to wait for an offer and for TASK_RUNNING (default 30s)')
    .option('--cluster <name>', 'cluster name (default: IPPC_CLUSTER or ippc)')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        "  ippc task run web --network ippc-bridge --group web --cmd 'exec busybox httpd -f -p 80'",
        "  ippc task run plain --port 1 --cmd 'exec busybox httpd -f -p $PORT0'        # no network: the agent's address",
        '  ippc task run db --network ippc-bridge --group db --ip 10.100.0.50 -- sleep 3600',
        "  ippc task run dweb --image ippc/node:TAG --docker-network user --network ippc-user --cmd 'sleep 3600'",
        "  ippc task run dbr --image ippc/node:TAG --docker-network bridge --port-mapping 35010:80 --cmd 'exec busybox httpd -f -p 80'",
      ].join('\n'),
    )
    .action(
      async (name: string, command: string[], opts: TaskRunFlags & { agent?: string; wait?: boolean; timeout?: string; cluster?: string; json?: boolean }) => {
        const plan = planTaskRun(name, command.length > 0 ? shellJoin(command) : undefined, opts);
        const timeoutMs = opts.timeout ? parseWait(opts.timeout) : undefined;
        const cluster = await testbed.attachCluster(clusterName(opts.cluster));
        const scheduler = await connectCliFramework(cluster);
        try {
          const result = await runTask(scheduler, cluster, plan, {
            ...(opts.agent !== undefined ? { agent: opts.agent } : {}),
            wait: opts.wait !== false,
            ...(timeoutMs ? { timeoutMs } : {}),
          });
          emit(opts.json, result, () => resultText(result));
        } finally {
          await closeCliFramework(scheduler);
        }
      },
    );
}
