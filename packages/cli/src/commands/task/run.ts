import { Option, type Command } from 'commander';
import { taskStateToJSON, type Offer, type TaskInfo, type TaskStatus } from '@ippc/proto';
import { rangesContain, rangesOf, rangesOfValues } from '@ippc/mesos';
import { taskFromOffer, type Scheduler, type TaskSpec } from '@ippc/scheduler';
import type { Cluster } from '@ippc/testbed';
import { clusterName, type Testbed } from '../../context.js';
import { CliError } from '../../errors.js';
import { checkSameExecutor, placeOnExecutor, withFrameworkId } from '../../executor-spec.js';
import { CLI_FRAMEWORK, closeCliFramework, connectCliFramework, launchTask } from '../../framework.js';
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
  /** With `--executor`: its id (the addresses are its container's). */
  executor?: string;
}

/** The addresses a status reports (`container_status.network_infos`), with their networks' names. */
export function addressesOf(status: TaskStatus | undefined): { network?: string; address: string }[] {
  return (status?.containerStatus?.networkInfos ?? [])
    .flatMap((n) => n.ipAddresses.map((a) => ({ ...(n.name ? { network: n.name } : {}), address: a.ipAddress ?? '' })))
    .filter((a) => a.address);
}

/** `10.100.0.2 (ippc-bridge), ...` */
export function addressesText(addresses: { network?: string; address: string }[]): string {
  return addresses.map((a) => `${a.address}${a.network ? ` (${a.network})` : ''}`).join(', ') || 'no address reported';
}

export function resultOf(plan: TaskRunPlan, taskId: string, agent: string, agentId: string, status: TaskStatus | undefined, ports: string[]): TaskRunResult {
  const addresses = addressesOf(status);
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
    ...(plan.executor ? { executor: plan.executor.id } : {}),
  };
}

export function resultText(r: TaskRunResult): string {
  const on = `on agent ${r.agent}${r.executor ? ` (executor ${r.executor})` : ''}`;
  return `task ${r.id} ${r.state} ${on}: ${addressesText(r.addresses)}${r.ports.length ? `; ports ${r.ports.join(',')}` : ''}`;
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

/**
 * Where a task goes and what it carries: a task of an executor goes to the agent its executor runs
 * on, if it runs (see {@link placeOnExecutor}), with the executor's `framework_id` set to this
 * framework's; any other task as it is, wherever `agent` says.
 */
export async function placeTask(
  scheduler: Scheduler,
  cluster: Cluster,
  plan: TaskRunPlan,
  agent: string | undefined,
): Promise<{ spec: TaskSpec; agent?: string; executorRunning?: boolean }> {
  if (!plan.executor) return { spec: plan.spec, ...(agent !== undefined ? { agent } : {}) };
  const state = await cluster.masterState();
  const place = placeOnExecutor(
    state,
    plan.executor.id,
    CLI_FRAMEWORK,
    agent,
    cluster.agents.map((a) => a.address),
  );
  if (place.running) checkSameExecutor(state, plan.executor.id, CLI_FRAMEWORK, plan);
  return {
    spec: withFrameworkId(plan.spec, scheduler.frameworkId),
    ...(place.agent !== undefined ? { agent: place.agent } : {}),
    executorRunning: place.running,
  };
}

/** Launches one task through an already connected CLI framework. */
export async function runTask(scheduler: Scheduler, cluster: Cluster, plan: TaskRunPlan, options: RunTaskOptions = {}): Promise<TaskRunResult> {
  const { spec, agent } = await placeTask(scheduler, cluster, plan, options.agent);
  let launched: Awaited<ReturnType<typeof launchTask>>;
  try {
    launched = await launchTask(scheduler, cluster, (o) => taskForOffer(o, spec), {
      prefer: (o) => holdsNamedPorts(o, spec),
      ...(agent !== undefined ? { agent } : {}),
      ...(options.wait !== undefined ? { wait: options.wait } : {}),
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    });
  } catch (err) {
    throw plan.executor ? explainExecutorRefusal(err, plan.executor.id) : err;
  }
  const { task, offer, status } = launched;
  const ports = task.resources
    .filter((r) => r.name === 'ports')
    .flatMap((r) => (r.ranges?.range ?? []).map((x) => (x.begin === x.end ? `${x.begin}` : `${x.begin}-${x.end}`)));
  return resultOf(plan, task.taskId!.value!, offer.hostname ?? '', offer.agentId?.value ?? '', status, ports);
}

/** Mesos's refusal of a second, different ExecutorInfo for a running executor, with what to do about it. */
export function explainExecutorRefusal(err: unknown, executorId: string): unknown {
  if (!(err instanceof CliError) || err.code !== 'CLI_TASK_FAILED' || !/ExecutorInfo is not compatible/.test(err.message)) return err;
  return new CliError(
    'CLI_TASK_FAILED',
    `${err.message.trimEnd()} (executor '${executorId}' runs already: give the --network, --group, --ip and --hostname it started with, or another --executor id)`,
    { ...(err.details ? { details: err.details } : {}), cause: err },
  );
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
    .option(
      '--executor <id>',
      "run it on the shell executor <id> (the command is the task's data): one container and address for all its tasks; " +
        '--network, --group, --ip and --hostname are then the executor’s, honoured only when the executor is new on its agent',
    )
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
        "  ippc task run ex-web --executor ex --network ippc-bridge --group web --cmd 'exec busybox httpd -f -p 80'",
        "  ippc task run ex-api --executor ex --network ippc-bridge --group web --cmd 'exec busybox httpd -f -p 8000'",
        '',
        'With --executor, a task of an executor that runs already goes to its agent and shares its address. Give the',
        'executor the same --network, --group, --ip and --hostname every time: they are honoured only when the executor',
        'is new on its agent, and Mesos refuses a task whose ExecutorInfo differs from the running executor’s.',
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
