import { parseIp } from '@ippc/core';
import {
  ContainerInfo,
  ContainerInfo_DockerInfo_Network,
  ContainerInfo_Type,
  NetworkInfo_Protocol,
  type ContainerInfo as ContainerInfoT,
  type NetworkInfo,
} from '@ippc/proto';
import type { TaskSpec } from '@ippc/scheduler';
import { CliError } from './errors.js';

// `ippc task run` flags → a scheduler TaskSpec (TaskInfo with ContainerInfo and NetworkInfo). Pure,
// so every flag combination is a unit test. Only the CLI's own syntax is checked here: combinations
// Mesos itself judges (a Docker USER task without a network, two networks in USER mode...) go to
// the cluster unchanged and fail there with Mesos's messages.

export type DockerNetworkMode = 'HOST' | 'BRIDGE' | 'NONE' | 'USER';

/** The flags of `ippc task run`, as commander hands them over. */
export interface TaskRunFlags {
  cmd?: string;
  containerizer?: string;
  docker?: boolean;
  image?: string;
  network?: string[];
  dockerNetwork?: string;
  ip?: string[];
  group?: string[];
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
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

function usage(message: string): CliError {
  return new CliError('CLI_USAGE', message);
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

function positiveNumber(flag: string, text: string | undefined, integer: boolean): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw usage(`${flag} '${text}' must be a positive ${integer ? 'integer' : 'number'}`);
  return n;
}

function ipOf(text: string): { protocol: NetworkInfo_Protocol; ipAddress: string } {
  const t = text.trim();
  const family = parseIp(t)?.family;
  if (!family) throw usage(`--ip '${text}' is not an IPv4 or IPv6 address`);
  return { protocol: family === 4 ? NetworkInfo_Protocol.IPv4 : NetworkInfo_Protocol.IPv6, ipAddress: t };
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
 * - `--port N`: take N host ports from the offer (the command sees PORT0..N-1).
 */
export function planTaskRun(name: string, command: string | undefined, flags: TaskRunFlags): TaskRunPlan {
  if (!NAME.test(name)) throw usage(`task name '${name}' must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  const cmd = command ?? flags.cmd;
  if (!cmd || !cmd.trim()) throw usage("a command is required: 'ippc task run NAME --cmd \"...\"' or 'ippc task run NAME -- CMD ARGS...'");
  const given = flags.containerizer?.toLowerCase();
  if (given !== undefined && given !== 'mesos' && given !== 'docker') throw usage(`--containerizer '${flags.containerizer}' must be mesos or docker`);
  const wantsDocker = !!flags.docker || flags.image !== undefined || flags.dockerNetwork !== undefined;
  if (given === 'mesos' && wantsDocker) throw usage('--docker, --image and --docker-network need the Docker containerizer; drop --containerizer mesos');
  const docker = given === 'docker' || wantsDocker;
  if (docker && !flags.image) throw usage('a Docker task needs --image IMAGE (images are never pulled: use one on the Docker daemon, e.g. the node image)');
  const networks = flags.network ?? [];
  for (const n of networks) if (!n.trim()) throw usage('--network needs a name');
  const groups = flags.group ?? [];
  for (const g of groups) if (!/^[A-Za-z0-9_.*-]+$/.test(g)) throw usage(`--group '${g}' must be letters, digits, '.', '_' or '-'`);
  const ips = (flags.ip ?? []).map(ipOf);
  if (ips.length > 0 && networks.length === 0) throw usage('--ip needs --network: a task without a network of its own uses the agent address');
  if (groups.length > 0 && networks.length === 0) throw usage('--group needs --network: groups isolate containers on a network of their own');
  const mappings = (flags.portMapping ?? []).map(parsePortMapping);
  const portCount = positiveNumber('--port', flags.port, true);
  if (portCount !== undefined && mappings.length > 0) throw usage('give either --port N (ports for the command) or --port-mapping HOST:CONTAINER, not both');
  const labels = (flags.label ?? []).map(parseLabel);
  let mode: DockerNetworkMode | undefined;
  if (docker) {
    const m = (flags.dockerNetwork ?? (networks.length > 0 ? 'USER' : 'HOST')).toUpperCase();
    if (!['HOST', 'BRIDGE', 'NONE', 'USER'].includes(m)) throw usage(`--docker-network '${flags.dockerNetwork}' must be host, bridge, none or user`);
    mode = m as DockerNetworkMode;
  }

  const networkInfos: NetworkInfo[] = networks.map((n, i) => ({
    name: n,
    groups: [...groups],
    ipAddresses: i === 0 ? ips : [],
    // Port mappings of a Mesos task go on its (first) network; a Docker task's go in DockerInfo.
    portMappings: !docker && i === 0 ? mappings : [],
  }));
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
    name,
    command: cmd,
    ...(positiveNumber('--cpus', flags.cpus, false) !== undefined ? { cpus: Number(flags.cpus) } : {}),
    ...(positiveNumber('--mem', flags.mem, false) !== undefined ? { mem: Number(flags.mem) } : {}),
    ...(hostPorts.length > 0 ? { ports: hostPorts } : portCount !== undefined ? { ports: portCount } : {}),
    ...(container ? { container } : {}),
    ...(labels.length > 0 ? { labels: { labels } } : {}),
  };
  return { spec, containerizer: docker ? 'DOCKER' : 'MESOS', ...(mode ? { dockerNetwork: mode } : {}), networks, groups, hostPorts };
}
