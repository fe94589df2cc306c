import { ContainerInfo, ContainerInfo_DockerInfo_Network, ContainerInfo_Type, type ContainerInfo as ContainerInfoT } from '@ippc/proto';
import type { TaskSpec } from '@ippc/scheduler';
import { shellExecutorInfo, type ExecutorPlan } from './executor-spec.js';
import { checkName, planNetworks, positiveNumber, usage, type NetworkFlags } from './flags.js';

// `ippc task run` flags → a scheduler TaskSpec (TaskInfo with ContainerInfo and NetworkInfo). Pure,
// so every flag combination is a unit test. Only the CLI's own syntax is checked here: combinations
// Mesos itself judges (a Docker USER task without a network, two networks in USER mode...) go to
// the cluster unchanged and fail there with Mesos's messages.

export type DockerNetworkMode = 'HOST' | 'BRIDGE' | 'NONE' | 'USER';

/** The flags of `ippc task run`, as commander hands them over. */
export interface TaskRunFlags extends NetworkFlags {
  cmd?: string;
  containerizer?: string;
  docker?: boolean;
  image?: string;
  dockerNetwork?: string;
  /** Run the task on the shell executor of this id (one container and address for all its tasks). */
  executor?: string;
  label?: string[];
  portMapping?: string[];
  port?: string;
  hostname?: string;
  cpus?: string;
  mem?: string;
}

/** What `task run` launches: the spec, plus a summary for output. */
export interface TaskRunPlan {
  spec: TaskSpec;
  containerizer: 'MESOS' | 'DOCKER';
  dockerNetwork?: DockerNetworkMode;
  networks: string[];
  groups: string[];
  /** Host ports that must come from the offer (port mappings' host side). */
  hostPorts: number[];
  /** With `--executor`: the executor; `networks` and `groups` are then its container's. */
  executor?: ExecutorPlan;
}

/** `HOST:CONTAINER[/PROTO]` → a mapping (Mesos's NetworkInfo/DockerInfo PortMapping). */
export function parsePortMapping(text: string): { hostPort: number; containerPort: number; protocol: string } {
  const m = /^(\d{1,5}):(\d{1,5})(?:\/(tcp|udp))?$/i.exec(text.trim());
  if (!m) throw usage(`--port-mapping '${text}' must look like HOST:CONTAINER or HOST:CONTAINER/udp (e.g. 35010:80)`);
  const hostPort = Number(m[1]);
  const containerPort = Number(m[2]);
  if (hostPort < 1 || hostPort > 65535 || containerPort < 1 || containerPort > 65535)
    throw usage(`--port-mapping '${text}': ports must be between 1 and 65535`);
  return { hostPort, containerPort, protocol: (m[3] ?? 'tcp').toLowerCase() };
}

/** `K=V` → a Mesos label (a value may be empty, a key may not). */
export function parseLabel(text: string): { key: string; value: string } {
  const eq = text.indexOf('=');
  if (eq <= 0) throw usage(`--label '${text}' must look like KEY=VALUE`);
  return { key: text.slice(0, eq), value: text.slice(eq + 1) };
}

/**
 * Builds the task. Flags:
 * - `--containerizer mesos|docker` (default mesos; `--docker`, `--image` and `--docker-network` imply docker);
 * - `--network NAME` (repeatable: one interface each, in order) opts the task into an address of its own;
 *   without it a Mesos task shares the agent's network (mixed mode);
 * - `--group G` (repeatable) goes to every network's `groups`; `--ip ADDR` (repeatable) requests
 *   addresses on the first network;
 * - `--docker-network host|bridge|none|user` (default: user with `--network`, else host);
 * - `--port-mapping HOST:CONTAINER[/PROTO]` (repeatable): the host ports are taken from the offer;
 * - `--port N`: take N host ports from the offer (the command sees PORT0..N-1);
 * - `--executor ID`: the task runs on the shell executor ID (see {@link planExecutorTask}).
 */
export function planTaskRun(name: string, command: string | undefined, flags: TaskRunFlags): TaskRunPlan {
  checkName('task name', name);
  const cmd = command ?? flags.cmd;
  if (!cmd || !cmd.trim()) throw usage("a command is required: 'ippc task run NAME --cmd \"...\"' or 'ippc task run NAME -- CMD ARGS...'");
  const given = flags.containerizer?.toLowerCase();
  if (given !== undefined && given !== 'mesos' && given !== 'docker') throw usage(`--containerizer '${flags.containerizer}' must be mesos or docker`);
  const wantsDocker = !!flags.docker || flags.image !== undefined || flags.dockerNetwork !== undefined;
  if (given === 'mesos' && wantsDocker) throw usage('--docker, --image and --docker-network need the Docker containerizer; drop --containerizer mesos');
  if (flags.executor !== undefined) return planExecutorTask(name, cmd, flags, given === 'docker' || wantsDocker);
  const docker = given === 'docker' || wantsDocker;
  if (docker && !flags.image) throw usage('a Docker task needs --image IMAGE (images are never pulled: use one on the Docker daemon, e.g. the node image)');
  const mappings = (flags.portMapping ?? []).map(parsePortMapping);
  // Port mappings of a Mesos task go on its (first) network; a Docker task's go in DockerInfo.
  const { networks, groups, networkInfos } = planNetworks(flags, 'a task', docker ? [] : mappings);
  const portCount = positiveNumber('--port', flags.port, true);
  if (portCount !== undefined && mappings.length > 0) throw usage('give either --port N (ports for the command) or --port-mapping HOST:CONTAINER, not both');
  let mode: DockerNetworkMode | undefined;
  if (docker) {
    const m = (flags.dockerNetwork ?? (networks.length > 0 ? 'USER' : 'HOST')).toUpperCase();
    if (!['HOST', 'BRIDGE', 'NONE', 'USER'].includes(m)) throw usage(`--docker-network '${flags.dockerNetwork}' must be host, bridge, none or user`);
    mode = m as DockerNetworkMode;
  }

  let container: ContainerInfoT | undefined;
  if (docker) {
    container = ContainerInfo.fromPartial({
      type: ContainerInfo_Type.DOCKER,
      docker: { image: flags.image!, network: ContainerInfo_DockerInfo_Network[mode!], portMappings: mappings },
      networkInfos,
      ...(flags.hostname ? { hostname: flags.hostname } : {}),
    });
  } else if (networkInfos.length > 0 || flags.hostname) {
    container = ContainerInfo.fromPartial({ type: ContainerInfo_Type.MESOS, networkInfos, ...(flags.hostname ? { hostname: flags.hostname } : {}) });
  }
  const hostPorts = mappings.map((m) => m.hostPort);
  const spec: TaskSpec = {
    ...resourcesAndLabels(name, flags),
    command: cmd,
    ...(hostPorts.length > 0 ? { ports: hostPorts } : portCount !== undefined ? { ports: portCount } : {}),
    ...(container ? { container } : {}),
  };
  return { spec, containerizer: docker ? 'DOCKER' : 'MESOS', ...(mode ? { dockerNetwork: mode } : {}), networks, groups, hostPorts };
}

/** The name, `--cpus`, `--mem` and `--label` part of a spec. */
function resourcesAndLabels(name: string, flags: { cpus?: string; mem?: string; label?: string[] }): TaskSpec {
  const cpus = positiveNumber('--cpus', flags.cpus, false);
  const mem = positiveNumber('--mem', flags.mem, false);
  const labels = (flags.label ?? []).map(parseLabel);
  return {
    name,
    ...(cpus !== undefined ? { cpus } : {}),
    ...(mem !== undefined ? { mem } : {}),
    ...(labels.length > 0 ? { labels: { labels } } : {}),
  };
}

/**
 * `--executor ID`: the command becomes the task's `data`, which the shell executor runs; `--network`,
 * `--group`, `--ip` and `--hostname` go to the executor's container (honoured only when the
 * executor starts: a running executor keeps its own, and Mesos refuses a task whose ExecutorInfo
 * differs). The executor runs in a Mesos container and passes no PORTn to its tasks, so Docker
 * flags, `--port` and `--port-mapping` are refused.
 */
function planExecutorTask(name: string, cmd: string, flags: TaskRunFlags, docker: boolean): TaskRunPlan {
  const id = flags.executor!;
  checkName('--executor', id);
  if (docker) throw usage('--executor runs the shell executor in a Mesos container: drop --docker, --image, --docker-network and --containerizer docker');
  if (flags.port !== undefined || (flags.portMapping ?? []).length > 0)
    throw usage(
      '--port and --port-mapping are not for a task of an executor (the shell executor sets no PORTn): give the executor an address of its own with --network',
    );
  const { networks, groups, networkInfos } = planNetworks(flags, 'an executor');
  const executor: ExecutorPlan = { id, networkInfos, ...(flags.hostname ? { hostname: flags.hostname } : {}) };
  const spec: TaskSpec = { ...resourcesAndLabels(name, flags), executor: shellExecutorInfo(executor), data: cmd };
  return { spec, containerizer: 'MESOS', networks, groups, hostPorts: [], executor };
}
