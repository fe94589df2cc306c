import type Docker from 'dockerode';
import {
  ContainerInfo_DockerInfo_Network as Network,
  Environment_Variable_Type,
  type CommandInfo,
  type ContainerInfo,
  type ContainerInfo_DockerInfo,
  type Resource,
  type Value_Range,
  type Value_Scalar,
} from '@ippc/proto';
import { runOptionsError } from './errors.js';
import { applyParameter, type CreateBody, type ParameterTarget } from './parameters.js';

// Mesos's `Docker::RunOptions::create` (src/docker/docker.cpp) as an Engine API create body. The
// checks, their order and their messages are Mesos's, so a task fails here exactly where and how
// it fails under Mesos's docker executor. Pure: no daemon, no file system.

/**
 * What Mesos's HOST network means on this agent. `'host'`: Docker's host network (the agent runs
 * on the machine). `{ container }`: the network namespace of the container the agent itself runs
 * in (`container:<id or name>`), so a HOST task shares the agent's address, not the machine's.
 */
export type HostNetwork = 'host' | { container: string };

/** Mesos's constants for resources → cgroup knobs (slave/containerizer/mesos/isolators/cgroups/constants.hpp). */
const CPU_SHARES_PER_CPU = 1024;
const MIN_CPU_SHARES = 2;
const MIN_MEMORY = 32 * 1024 * 1024;
const CPU_CFS_PERIOD_US = 100_000;
const MIN_CPU_CFS_QUOTA_US = 1_000;

export interface RunOptionsInput {
  /** The task's ContainerInfo (`type: DOCKER`, `docker` set). */
  containerInfo: ContainerInfo;
  /** The task's command; Mesos's `shell` defaults to true (`/bin/sh -c <value>`). */
  command?: CommandInfo;
  /** Container name, `mesos-<container id>`. */
  name: string;
  /** Task and executor resources together (Mesos adds both). */
  resources: Resource[];
  /** `TaskInfo.limits` (`cpus`, `mem`). */
  limits?: Record<string, Value_Scalar>;
  /** The agent's environment for the task (wins over `CommandInfo.environment`, as in Mesos). */
  environment?: Record<string, string>;
  /** Sandbox bind mount: the host path and where it appears inside (`MESOS_SANDBOX`). Omit to mount nothing. */
  sandbox?: { hostPath: string; containerPath: string };
  /** Labels the containerizer owns; they win over `--label` parameters. */
  labels?: Record<string, string>;
  /** What HOST means. Default `'host'`. */
  hostNetwork?: HostNetwork;
  /** Mesos's `--cgroups_enable_cfs`: also cap CPU at the requested `cpus`. Default false. */
  cgroupsEnableCfs?: boolean;
}

export interface DockerRunOptions {
  name: string;
  image: string;
  /** The network mode the container gets (`HostConfig.NetworkMode`), after any `net`/`network` override. */
  networkMode: string;
  /** The DockerInfo mode before any override (HOST when unset). */
  mode: Network;
  /** The body for `POST /containers/create` (`name` included). */
  body: CreateBody;
}

function hostNetworkMode(hostNetwork: HostNetwork): string {
  return hostNetwork === 'host' ? 'host' : `container:${hostNetwork.container}`;
}

function sumScalar(resources: Resource[], name: string): number | undefined {
  let total: number | undefined;
  for (const r of resources) if (r.name === name && r.scalar?.value !== undefined) total = (total ?? 0) + r.scalar.value;
  return total;
}

/** Mesos's `Resources::ports()`: all `ports` ranges, or undefined when there is no `ports` resource. */
export function portRanges(resources: Resource[]): Value_Range[] | undefined {
  const ports = resources.filter((r) => r.name === 'ports' && r.ranges);
  return ports.length === 0 ? undefined : ports.flatMap((r) => r.ranges!.range);
}

/**
 * Builds the Engine API create body for a task, or throws a {@link DockerContainerizerError} whose
 * message is Mesos's (`No network info found in container info`, `Port [31001] not included in
 * resources`, ...); the caller reports it as `Failed to create docker run options: <message>`.
 */
export function createRunOptions(input: RunOptionsInput): DockerRunOptions {
  const { containerInfo, name } = input;
  const docker = containerInfo.docker;
  if (!docker) throw runOptionsError("DockerInfo 'docker' is not set for DOCKER typed ContainerInfo");
  if (!docker.image) throw runOptionsError("DockerInfo 'image' is not set");
  const command = input.command ?? { uris: [], arguments: [] };

  const body: CreateBody = { name, Image: docker.image, HostConfig: {} };

  if (docker.privileged) body.HostConfig.Privileged = true;

  applyResources(body, input);
  const env = environment(input, command);

  if (input.sandbox) body.HostConfig.Binds = [`${input.sandbox.hostPath}:${input.sandbox.containerPath}`];

  const mode = docker.network ?? Network.HOST;
  let networkMode = dockerNetworkMode(mode, containerInfo, input.hostNetwork);

  if (containerInfo.hostname !== undefined) {
    if (mode === Network.HOST) throw runOptionsError('Unable to set hostname with host network mode');
    body.Hostname = containerInfo.hostname;
  }

  if (docker.portMappings.length > 0) applyPortMappings(body, docker, mode, input.resources);

  // Parameters: the first `net`/`network` overrides the network (after the checks above, as in
  // Mesos); every other one is translated as its `--key=value` docker run flag would be.
  const override = docker.parameters.find((p) => p.key === 'net' || p.key === 'network');
  if (override) networkMode = override.value ?? '';
  body.HostConfig.NetworkMode = networkMode;
  applyParameters(body, env, docker, networkMode, input.labels);

  applyCommand(body, command);

  body.Env = [...env.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${v}`);

  return { name, image: docker.image, networkMode, mode, body };
}

/** Resources → cgroup knobs, as Mesos does for `docker run` (requests, then limits). */
function applyResources(body: CreateBody, input: RunOptionsInput): void {
  const cpus = sumScalar(input.resources, 'cpus');
  const mem = sumScalar(input.resources, 'mem');
  const cpuLimit = input.limits?.cpus?.value;
  const memLimit = input.limits?.mem?.value;
  if (cpus !== undefined) body.HostConfig.CpuShares = Math.max(Math.floor(CPU_SHARES_PER_CPU * cpus), MIN_CPU_SHARES);
  if (cpuLimit !== undefined) {
    if (Number.isFinite(cpuLimit)) body.HostConfig.CpuQuota = Math.floor(Math.max(CPU_CFS_PERIOD_US * cpuLimit, MIN_CPU_CFS_QUOTA_US));
  } else if (input.cgroupsEnableCfs && cpus !== undefined) {
    body.HostConfig.CpuQuota = Math.floor(Math.max(CPU_CFS_PERIOD_US * cpus, MIN_CPU_CFS_QUOTA_US));
  }
  const mb = (v: number) => Math.floor(v) * 1024 * 1024;
  if (memLimit !== undefined) {
    if (Number.isFinite(memLimit)) body.HostConfig.Memory = Math.max(mb(memLimit), MIN_MEMORY);
    if (mem !== undefined) body.HostConfig.MemoryReservation = Math.max(mb(mem), MIN_MEMORY);
  } else if (mem !== undefined) {
    body.HostConfig.Memory = Math.max(mb(mem), MIN_MEMORY);
  }
}

/** Environment: the agent's first, then CommandInfo's for names the agent did not set, then Mesos's own. */
function environment(input: RunOptionsInput, command: CommandInfo): Map<string, string> {
  const env = new Map<string, string>();
  for (const [k, v] of Object.entries(input.environment ?? {})) env.set(k, v);
  for (const variable of command.environment?.variables ?? []) {
    if (!variable.name || env.has(variable.name)) continue;
    const type = variable.type ?? Environment_Variable_Type.VALUE;
    const value = type === Environment_Variable_Type.SECRET ? variable.secret?.value?.data?.toString('utf8') : variable.value;
    env.set(variable.name, value ?? '');
  }
  if (input.sandbox) env.set('MESOS_SANDBOX', input.sandbox.containerPath);
  env.set('MESOS_CONTAINER_NAME', input.name);
  if (input.resources.length > 0) env.set('MESOS_ALLOCATION_ROLE', input.resources[0]!.allocationInfo?.role ?? '');
  return env;
}

/** Network mode, with Mesos's USER rules. */
function dockerNetworkMode(mode: Network, containerInfo: ContainerInfo, hostNetwork: HostNetwork | undefined): string {
  switch (mode) {
    case Network.HOST:
      return hostNetworkMode(hostNetwork ?? 'host');
    case Network.BRIDGE:
      return 'bridge';
    case Network.NONE:
      return 'none';
    case Network.USER: {
      if (containerInfo.networkInfos.length === 0) throw runOptionsError('No network info found in container info');
      if (containerInfo.networkInfos.length > 1) throw runOptionsError('Only a single network can be defined in Docker run');
      const networkName = containerInfo.networkInfos[0]!.name;
      if (networkName === undefined) throw runOptionsError('No network name found in network info');
      return networkName;
    }
    default:
      throw runOptionsError(`Unsupported Network mode: ${mode}`);
  }
}

/** `DockerInfo.port_mappings` → port bindings on all host addresses; each host port must lie in the task's `ports`. */
function applyPortMappings(body: CreateBody, docker: ContainerInfo_DockerInfo, mode: Network, resources: Resource[]): void {
  if (mode === Network.HOST || mode === Network.NONE) {
    throw runOptionsError('Port mappings are only supported for bridge and user-defined networks');
  }
  if (resources.length === 0) throw runOptionsError('Port mappings require resources');
  const ranges = portRanges(resources);
  if (!ranges) throw runOptionsError('Port mappings require port resources');
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  const exposed: Record<string, object> = {};
  for (const mapping of docker.portMappings) {
    const hostPort = mapping.hostPort ?? 0;
    if (!ranges.some((r) => hostPort >= (r.begin ?? 0) && hostPort <= (r.end ?? 0))) {
      throw runOptionsError(`Port [${hostPort}] not included in resources`);
    }
    const key = `${mapping.containerPort ?? 0}/${(mapping.protocol ?? 'tcp').toLowerCase()}`;
    (bindings[key] ??= []).push({ HostIp: '', HostPort: String(hostPort) });
    exposed[key] = {};
  }
  body.HostConfig.PortBindings = bindings;
  body.ExposedPorts = exposed;
}

/** Every parameter but `net`/`network` into the body; then the labels, the containerizer's own winning. */
function applyParameters(
  body: CreateBody,
  env: Map<string, string>,
  docker: ContainerInfo_DockerInfo,
  networkMode: string,
  ownLabels: Record<string, string> | undefined,
): void {
  const labels: Record<string, string> = {};
  const target: ParameterTarget = {
    body,
    env,
    labels,
    endpoint: () => {
      body.NetworkingConfig ??= { EndpointsConfig: {} };
      const endpoints = (body.NetworkingConfig.EndpointsConfig ??= {});
      return (endpoints[networkMode] ??= {} as Docker.EndpointSettings);
    },
  };
  for (const p of docker.parameters) {
    if (p.key === 'net' || p.key === 'network') continue;
    applyParameter(p.key ?? '', p.value ?? '', target);
  }
  body.Labels = { ...labels, ...ownLabels };
}

function applyCommand(body: CreateBody, command: CommandInfo): void {
  // Command: with `shell` (the default) Mesos overrides the entrypoint with /bin/sh and passes
  // `-c <value>`; without it, value and arguments follow the image's own entrypoint.
  const shell = command.shell ?? true;
  if (shell) {
    if (command.value === undefined) throw runOptionsError('Shell specified but no command value provided');
    body.Entrypoint ??= ['/bin/sh'];
    body.Cmd = ['-c', command.value];
  } else {
    const args = [...(command.value !== undefined ? [command.value] : []), ...command.arguments];
    if (args.length > 0) body.Cmd = args;
  }
}
