import type Docker from 'dockerode';
import { DockerContainerizerError, runOptionsError } from './errors.js';

// `DockerInfo.parameters` are `docker run --key=value` flags (Mesos appends them to its `docker run`
// command line). We talk to the Engine API instead, so each supported flag is translated into the
// create body, the way the docker CLI would; a flag we do not translate fails the task clearly
// instead of being silently dropped.

/** The create body under construction; `HostConfig` always present. */
export type CreateBody = Docker.ContainerCreateOptions & { HostConfig: Docker.HostConfig };

/** What a parameter may change besides the create body. */
export interface ParameterTarget {
  body: CreateBody;
  /** Environment, merged by name (a later value wins, as with repeated `-e`). */
  env: Map<string, string>;
  /** Labels from `--label`; the containerizer's own `org.ippc.*` labels always win over them. */
  labels: Record<string, string>;
  /** Endpoint settings for the container's network (for `--ip`, `--ip6`, `--network-alias`). */
  endpoint(): Docker.EndpointSettings;
}

type Apply = (value: string, target: ParameterTarget, flag: string) => void;

interface ParameterSpec {
  /** Other spellings of the same flag (`e` for `env`). */
  aliases?: string[];
  /** Where it goes in the Engine API, for the README table and error hints. */
  maps: string;
  apply: Apply;
}

const BOOLS: Record<string, boolean> = {
  '1': true,
  t: true,
  T: true,
  TRUE: true,
  true: true,
  True: true,
  '0': false,
  f: false,
  F: false,
  FALSE: false,
  false: false,
  False: false,
};

function bool(value: string, flag: string): boolean {
  const b = BOOLS[value];
  if (b === undefined) throw invalid(flag, value, 'true or false');
  return b;
}

function int(value: string, flag: string): number {
  if (!/^-?\d+$/.test(value)) throw invalid(flag, value, 'an integer');
  return Number(value);
}

function float(value: string, flag: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw invalid(flag, value, 'a number');
  return n;
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** Docker's `RAMInBytes`: `512m`, `1g`, `1.5GiB`, plain bytes; binary units. */
export function parseBytes(value: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(value);
  if (!m) throw invalid(flag, value, 'a size such as 64m or 1g');
  return Math.floor(Number(m[1]) * UNITS[(m[2] ?? '').toLowerCase()]!);
}

function keyValue(value: string, flag: string): [string, string] {
  const i = value.indexOf('=');
  if (i <= 0) throw invalid(flag, value, 'KEY=VALUE');
  return [value.slice(0, i), value.slice(i + 1)];
}

function invalid(flag: string, value: string, expected: string): DockerContainerizerError {
  return runOptionsError(`Invalid value '${value}' for docker parameter '--${flag}': expected ${expected}`, { flag, value });
}

function push<T>(list: T[] | undefined, item: T): T[] {
  return [...(list ?? []), item];
}

function hostConfig<K extends keyof Docker.HostConfig>(key: K, parse: (value: string, flag: string) => Docker.HostConfig[K]): Apply {
  return (value, t, flag) => {
    t.body.HostConfig[key] = parse(value, flag);
  };
}

function hostList(key: 'Dns' | 'DnsSearch' | 'DnsOptions' | 'CapAdd' | 'CapDrop' | 'ExtraHosts' | 'SecurityOpt' | 'GroupAdd' | 'Binds'): Apply {
  return (value, t) => {
    t.body.HostConfig[key] = push(t.body.HostConfig[key] as string[] | undefined, value);
  };
}

function portKey(spec: string, flag: string, value: string): string {
  const m = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/i.exec(spec);
  if (!m) throw invalid(flag, value, 'PORT[/PROTOCOL]');
  return `${m[1]}/${(m[2] ?? 'tcp').toLowerCase()}`;
}

const SPECS: Record<string, ParameterSpec> = {
  env: {
    aliases: ['e'],
    maps: 'Env',
    apply: (value, t, flag) => {
      const [k, v] = keyValue(value, flag);
      t.env.set(k, v);
    },
  },
  label: {
    aliases: ['l'],
    maps: 'Labels',
    apply: (value, t) => {
      const i = value.indexOf('=');
      if (i < 0) t.labels[value] = '';
      else t.labels[value.slice(0, i)] = value.slice(i + 1);
    },
  },
  user: { aliases: ['u'], maps: 'User', apply: (value, t) => void (t.body.User = value) },
  workdir: { aliases: ['w'], maps: 'WorkingDir', apply: (value, t) => void (t.body.WorkingDir = value) },
  entrypoint: { maps: 'Entrypoint', apply: (value, t) => void (t.body.Entrypoint = value === '' ? [''] : [value]) },
  hostname: { aliases: ['h'], maps: 'Hostname', apply: (value, t) => void (t.body.Hostname = value) },
  domainname: { maps: 'Domainname', apply: (value, t) => void (t.body.Domainname = value) },
  'mac-address': { maps: 'MacAddress', apply: (value, t) => void (t.body.MacAddress = value) },
  'stop-signal': { maps: 'StopSignal', apply: (value, t) => void (t.body.StopSignal = value) },
  'stop-timeout': { maps: 'StopTimeout', apply: (value, t, flag) => void (t.body.StopTimeout = int(value, flag)) },
  expose: {
    maps: 'ExposedPorts',
    apply: (value, t, flag) => {
      t.body.ExposedPorts = { ...t.body.ExposedPorts, [portKey(value, flag, value)]: {} };
    },
  },
  publish: {
    aliases: ['p'],
    maps: 'HostConfig.PortBindings, ExposedPorts',
    apply: (value, t, flag) => {
      // [ip:]hostPort:containerPort[/protocol]; a port range or an ephemeral host port is not translated.
      const m = /^(?:(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):)?(\d{1,5}):(\d{1,5}(?:\/\w+)?)$/.exec(value);
      if (!m) throw invalid(flag, value, '[IP:]HOST_PORT:CONTAINER_PORT[/PROTOCOL]');
      const key = portKey(m[3]!, flag, value);
      const bindings = (t.body.HostConfig.PortBindings ?? {}) as Record<string, Array<{ HostIp: string; HostPort: string }>>;
      bindings[key] = push(bindings[key], { HostIp: (m[1] ?? '').replace(/^\[|\]$/g, ''), HostPort: m[2]! });
      t.body.HostConfig.PortBindings = bindings;
      t.body.ExposedPorts = { ...t.body.ExposedPorts, [key]: {} };
    },
  },
  'publish-all': { aliases: ['P'], maps: 'HostConfig.PublishAllPorts', apply: hostConfig('PublishAllPorts', bool) },
  'add-host': { maps: 'HostConfig.ExtraHosts', apply: hostList('ExtraHosts') },
  dns: { maps: 'HostConfig.Dns', apply: hostList('Dns') },
  'dns-search': { maps: 'HostConfig.DnsSearch', apply: hostList('DnsSearch') },
  'dns-option': { aliases: ['dns-opt'], maps: 'HostConfig.DnsOptions', apply: hostList('DnsOptions') },
  'cap-add': { maps: 'HostConfig.CapAdd', apply: hostList('CapAdd') },
  'cap-drop': { maps: 'HostConfig.CapDrop', apply: hostList('CapDrop') },
  'security-opt': { maps: 'HostConfig.SecurityOpt', apply: hostList('SecurityOpt') },
  'group-add': { maps: 'HostConfig.GroupAdd', apply: hostList('GroupAdd') },
  volume: { aliases: ['v'], maps: 'HostConfig.Binds', apply: hostList('Binds') },
  'volume-driver': { maps: 'HostConfig.VolumeDriver', apply: hostConfig('VolumeDriver', (v) => v) },
  privileged: { maps: 'HostConfig.Privileged', apply: hostConfig('Privileged', bool) },
  'read-only': { maps: 'HostConfig.ReadonlyRootfs', apply: hostConfig('ReadonlyRootfs', bool) },
  init: { maps: 'HostConfig.Init', apply: hostConfig('Init', bool) },
  'oom-kill-disable': { maps: 'HostConfig.OomKillDisable', apply: hostConfig('OomKillDisable', bool) },
  'oom-score-adj': { maps: 'HostConfig.OomScoreAdj', apply: hostConfig('OomScoreAdj', int) },
  memory: { aliases: ['m'], maps: 'HostConfig.Memory', apply: hostConfig('Memory', parseBytes) },
  'memory-reservation': { maps: 'HostConfig.MemoryReservation', apply: hostConfig('MemoryReservation', parseBytes) },
  'memory-swap': {
    maps: 'HostConfig.MemorySwap',
    apply: hostConfig('MemorySwap', (v, flag) => (v === '-1' ? -1 : parseBytes(v, flag))),
  },
  'memory-swappiness': { maps: 'HostConfig.MemorySwappiness', apply: hostConfig('MemorySwappiness', int) },
  'shm-size': { maps: 'HostConfig.ShmSize', apply: hostConfig('ShmSize', parseBytes) },
  'cpu-shares': { aliases: ['c'], maps: 'HostConfig.CpuShares', apply: hostConfig('CpuShares', int) },
  cpus: { maps: 'HostConfig.NanoCpus', apply: hostConfig('NanoCpus', (v, flag) => Math.round(float(v, flag) * 1e9)) },
  'cpu-quota': { maps: 'HostConfig.CpuQuota', apply: hostConfig('CpuQuota', int) },
  'cpu-period': { maps: 'HostConfig.CpuPeriod', apply: hostConfig('CpuPeriod', int) },
  'cpuset-cpus': { maps: 'HostConfig.CpusetCpus', apply: hostConfig('CpusetCpus', (v) => v) },
  'cpuset-mems': { maps: 'HostConfig.CpusetMems', apply: hostConfig('CpusetMems', (v) => v) },
  'pids-limit': { maps: 'HostConfig.PidsLimit', apply: hostConfig('PidsLimit', int) },
  'cgroup-parent': { maps: 'HostConfig.CgroupParent', apply: hostConfig('CgroupParent', (v) => v) },
  ipc: { maps: 'HostConfig.IpcMode', apply: hostConfig('IpcMode', (v) => v) },
  pid: { maps: 'HostConfig.PidMode', apply: hostConfig('PidMode', (v) => v) },
  uts: { maps: 'HostConfig.UTSMode', apply: hostConfig('UTSMode', (v) => v) },
  userns: { maps: 'HostConfig.UsernsMode', apply: hostConfig('UsernsMode', (v) => v) },
  runtime: { maps: 'HostConfig.Runtime', apply: hostConfig('Runtime', (v) => v) },
  ulimit: {
    maps: 'HostConfig.Ulimits',
    apply: (value, t, flag) => {
      const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(value);
      if (!m) throw invalid(flag, value, 'NAME=SOFT[:HARD]');
      const soft = Number(m[2]);
      t.body.HostConfig.Ulimits = push(t.body.HostConfig.Ulimits, { Name: m[1]!, Soft: soft, Hard: m[3] === undefined ? soft : Number(m[3]) });
    },
  },
  sysctl: {
    maps: 'HostConfig.Sysctls',
    apply: (value, t, flag) => {
      const [k, v] = keyValue(value, flag);
      t.body.HostConfig.Sysctls = { ...t.body.HostConfig.Sysctls, [k]: v };
    },
  },
  tmpfs: {
    maps: 'HostConfig.Tmpfs',
    apply: (value, t, flag) => {
      const i = value.indexOf(':');
      const path = i < 0 ? value : value.slice(0, i);
      if (!path.startsWith('/')) throw invalid(flag, value, 'an absolute PATH[:OPTIONS]');
      t.body.HostConfig.Tmpfs = { ...t.body.HostConfig.Tmpfs, [path]: i < 0 ? '' : value.slice(i + 1) };
    },
  },
  device: {
    maps: 'HostConfig.Devices',
    apply: (value, t, flag) => {
      const [host, container, perms] = value.split(':');
      if (!host?.startsWith('/')) throw invalid(flag, value, 'HOST_PATH[:CONTAINER_PATH[:PERMISSIONS]]');
      const device = { PathOnHost: host, PathInContainer: container || host, CgroupPermissions: perms || 'rwm' };
      t.body.HostConfig.Devices = push(t.body.HostConfig.Devices as unknown[] | undefined, device);
    },
  },
  'log-driver': {
    maps: 'HostConfig.LogConfig.Type',
    apply: (value, t) => void (t.body.HostConfig.LogConfig = { Type: value, Config: t.body.HostConfig.LogConfig?.Config ?? {} }),
  },
  'log-opt': {
    maps: 'HostConfig.LogConfig.Config',
    apply: (value, t, flag) => {
      const [k, v] = keyValue(value, flag);
      const current = t.body.HostConfig.LogConfig ?? { Type: '', Config: {} };
      t.body.HostConfig.LogConfig = { Type: current.Type, Config: { ...current.Config, [k]: v } };
    },
  },
  ip: {
    maps: 'NetworkingConfig.EndpointsConfig.<network>.IPAMConfig.IPv4Address',
    apply: (value, t) => {
      const e = t.endpoint();
      e.IPAMConfig = { ...e.IPAMConfig, IPv4Address: value };
    },
  },
  ip6: {
    maps: 'NetworkingConfig.EndpointsConfig.<network>.IPAMConfig.IPv6Address',
    apply: (value, t) => {
      const e = t.endpoint();
      e.IPAMConfig = { ...e.IPAMConfig, IPv6Address: value };
    },
  },
  'network-alias': {
    aliases: ['net-alias'],
    maps: 'NetworkingConfig.EndpointsConfig.<network>.Aliases',
    apply: (value, t) => {
      const e = t.endpoint();
      e.Aliases = push(e.Aliases, value);
    },
  },
};

/** Flags that would take the container out of the containerizer's hands, and why. */
const REFUSED: Record<string, string> = {
  name: "the container name is always mesos-<container id> (Mesos: Parameter in DockerInfo must not be 'name')",
  rm: 'the containerizer removes the container itself once its logs are read',
  restart: 'a task that ends is over in Mesos; its framework decides whether to launch it again',
  detach: 'the Engine API never attaches the client',
  d: 'the Engine API never attaches the client',
  tty: 'a TTY would merge stdout and stderr in the sandbox',
  t: 'a TTY would merge stdout and stderr in the sandbox',
  interactive: 'tasks have no stdin',
  i: 'tasks have no stdin',
};

const BY_FLAG = new Map<string, [string, ParameterSpec]>();
for (const [name, spec] of Object.entries(SPECS)) {
  BY_FLAG.set(name, [name, spec]);
  for (const alias of spec.aliases ?? []) BY_FLAG.set(alias, [name, spec]);
}

/** The flags `DockerInfo.parameters` may use (besides `net`/`network`), with where each goes. */
export const SUPPORTED_DOCKER_PARAMETERS: ReadonlyArray<{ key: string; aliases: string[]; maps: string }> = Object.entries(SPECS).map(([key, spec]) => ({
  key,
  aliases: spec.aliases ?? [],
  maps: spec.maps,
}));

/** Applies one `--key=value` parameter; throws a clear error for a flag it does not translate. */
export function applyParameter(key: string, value: string, target: ParameterTarget): void {
  const flag = key.replace(/^-+/, '');
  const refused = REFUSED[flag];
  if (refused !== undefined) {
    throw new DockerContainerizerError('DOCKER_PARAMETER_UNSUPPORTED', `Unsupported docker parameter '--${flag}=${value}': ${refused}`, {
      details: { key, value },
    });
  }
  const found = BY_FLAG.get(flag);
  if (!found) {
    throw new DockerContainerizerError(
      'DOCKER_PARAMETER_UNSUPPORTED',
      `Unsupported docker parameter '--${flag}=${value}': ippc translates only these docker run flags to the Engine API: net, network, ${SUPPORTED_DOCKER_PARAMETERS.map((p) => p.key).join(', ')}`,
      { details: { key, value } },
    );
  }
  found[1].apply(value, target, found[0]);
}
