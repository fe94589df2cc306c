import {
  Attribute,
  type AgentInfo,
  DomainInfo,
  Environment,
  type ExecutorInfo,
  executorInfo_TypeToJSON,
  frameworkInfo_Capability_TypeToJSON,
  type Offer,
  Value_Type,
  CheckInfo,
  CommandInfo,
  ContainerID,
  ContainerInfo,
  DiscoveryInfo,
  FrameworkInfo,
  HealthCheck,
  KillPolicy,
  Resource,
  type TaskInfo,
  taskStateToJSON,
  type ContainerStatus,
  type Labels,
  type NetworkInfo,
  type Task,
  type TaskStatus,
} from '@ippc/proto';
import { formatRanges, resourcesJson } from './resources.js';

// The Mesos JSON model of the state endpoints (src/common/http.cpp), shared by the master and
// the agent that write it and by anyone who reads it (DNS, the CLI, tests). Two flavours exist in
// Mesos and both are reproduced: hand-written writers for Task / TaskStatus / ContainerStatus /
// NetworkInfo (snake_case, labels as a bare array, only the fields Mesos shows), and
// `JSON::Protobuf` (stout) for embedded messages such as `task.container`: snake_case field names,
// set fields plus fields with a non-deprecated default, enums by name, empty repeated fields left out.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

interface FieldRule {
  /** Message kind of the field's value (object or array of objects). */
  kind?: string;
  /** proto2 default, emitted when the field is not set (stout behaviour). */
  def?: Json;
}
interface Schema {
  /** Declaration order (JSON names) for the keys that matter; others keep their order after. */
  order?: string[];
  fields: Record<string, FieldRule>;
}

// Only messages with defaults, or on the way to one, need a schema.
const SCHEMAS: Record<string, Schema> = {
  ContainerInfo: { fields: { docker: { kind: 'DockerInfo' }, mesos: { kind: 'MesosInfo' }, networkInfos: { kind: 'NetworkInfo' } } },
  DockerInfo: {
    order: ['image', 'network', 'portMappings', 'privileged', 'parameters', 'forcePullImage', 'volumeDriver'],
    fields: { network: { def: 'HOST' }, privileged: { def: false } },
  },
  MesosInfo: { fields: { image: { kind: 'Image' } } },
  Image: { order: ['type', 'appc', 'docker', 'cached'], fields: { cached: { def: true } } },
  NetworkInfo: { fields: { ipAddresses: { kind: 'IPAddress' } } },
  IPAddress: { order: ['protocol', 'ipAddress'], fields: { protocol: { def: 'IPv4' } } },
  CommandInfo: {
    order: ['uris', 'environment', 'shell', 'value', 'arguments', 'user'],
    fields: { uris: { kind: 'URI' }, environment: { kind: 'Environment' }, shell: { def: true } },
  },
  URI: { order: ['value', 'executable', 'extract', 'cache', 'outputFile'], fields: { extract: { def: true } } },
  Environment: { fields: { variables: { kind: 'Variable' } } },
  Variable: { order: ['name', 'type', 'value', 'secret'], fields: { type: { def: 'VALUE' } } },
  HealthCheck: {
    order: ['delaySeconds', 'intervalSeconds', 'timeoutSeconds', 'consecutiveFailures', 'gracePeriodSeconds', 'type', 'command', 'http', 'tcp'],
    fields: {
      delaySeconds: { def: 15 },
      intervalSeconds: { def: 10 },
      timeoutSeconds: { def: 20 },
      consecutiveFailures: { def: 3 },
      gracePeriodSeconds: { def: 10 },
      command: { kind: 'CommandInfo' },
      http: { kind: 'HTTPCheckInfo' },
      tcp: { kind: 'TCPCheckInfo' },
    },
  },
  HTTPCheckInfo: { order: ['protocol', 'scheme', 'port', 'path', 'statuses'], fields: { protocol: { def: 'IPv4' } } },
  TCPCheckInfo: { order: ['protocol', 'port'], fields: { protocol: { def: 'IPv4' } } },
  CheckInfo: {
    order: ['type', 'command', 'http', 'tcp', 'delaySeconds', 'intervalSeconds', 'timeoutSeconds'],
    fields: { delaySeconds: { def: 15 }, intervalSeconds: { def: 10 }, timeoutSeconds: { def: 20 }, command: { kind: 'CheckCommand' } },
  },
  CheckCommand: { fields: { command: { kind: 'CommandInfo' } } },
  FrameworkInfo: { fields: { failoverTimeout: { def: 0 }, checkpoint: { def: false } } },
};

const snake = (camel: string): string => camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function convert(kind: string | undefined, value: Json): Json {
  if (Array.isArray(value)) return value.map((v) => convert(kind, v));
  if (value === null || typeof value !== 'object') return value;
  const schema = kind ? SCHEMAS[kind] : undefined;
  const keys = [...(schema?.order ?? []).filter((k) => k in value || schema?.fields[k]?.def !== undefined)];
  for (const k of Object.keys(value)) if (!keys.includes(k)) keys.push(k);
  for (const [k, rule] of Object.entries(schema?.fields ?? {})) if (rule.def !== undefined && !keys.includes(k)) keys.push(k);
  const out: { [key: string]: Json } = {};
  for (const k of keys) {
    const rule = schema?.fields[k];
    const v = k in value ? value[k]! : rule?.def;
    if (v === undefined) continue;
    out[snake(k)] = convert(rule?.kind, v);
  }
  return out;
}

interface ToJson<T> {
  toJSON(message: T): unknown;
}
const MESSAGES = { ContainerInfo, DiscoveryInfo, HealthCheck, CheckInfo, CommandInfo, ContainerID, KillPolicy, FrameworkInfo, Resource } satisfies Record<string, ToJson<never>>;

/**
 * stout's `JSON::Protobuf(message)` for the messages the state endpoints embed: snake_case keys,
 * defaults of unset fields (`docker.network: "HOST"`, `ip_addresses[].protocol: "IPv4"`, ...).
 */
export function protobufJson<K extends keyof typeof MESSAGES>(kind: K, message: Parameters<(typeof MESSAGES)[K]['toJSON']>[0]): Json {
  const camel = (MESSAGES[kind] as ToJson<typeof message>).toJSON(message) as Json;
  return convert(kind, camel);
}

/** `{key, value}` entries as the state endpoints show labels (a bare array). */
export interface LabelJson {
  key: string;
  value?: string;
}

/** Labels as a bare array (Mesos `model(Labels)`). */
export function labelsJson(labels: Labels | undefined): LabelJson[] {
  return (labels?.labels ?? []).map((l) => ({ key: l.key ?? '', ...(l.value !== undefined ? { value: l.value } : {}) }));
}

export interface IpAddressJson {
  protocol: 'IPv4' | 'IPv6';
  ip_address?: string;
}

export interface PortMappingJson {
  host_port: number;
  container_port: number;
  protocol?: string;
}

/** A NetworkInfo inside `statuses[].container_status` (http.cpp:970-1000). */
export interface NetworkInfoJson {
  groups?: string[];
  labels?: LabelJson[];
  ip_addresses?: IpAddressJson[];
  name?: string;
  port_mappings?: PortMappingJson[];
}

/** Mesos's NetworkInfo writer: keys in order, each only if non-empty; `protocol` defaults to IPv4. */
export function networkInfoJson(n: NetworkInfo): NetworkInfoJson {
  const out: NetworkInfoJson = {};
  if ((n.groups ?? []).length > 0) out.groups = [...n.groups];
  if ((n.labels?.labels ?? []).length > 0) out.labels = labelsJson(n.labels);
  if ((n.ipAddresses ?? []).length > 0) {
    out.ip_addresses = n.ipAddresses.map((ip) => ({
      protocol: ip.protocol === 2 ? 'IPv6' : 'IPv4',
      ...(ip.ipAddress !== undefined ? { ip_address: ip.ipAddress } : {}),
    }));
  }
  if (n.name !== undefined) out.name = n.name;
  if ((n.portMappings ?? []).length > 0) {
    out.port_mappings = n.portMappings.map((p) => ({
      host_port: p.hostPort ?? 0,
      container_port: p.containerPort ?? 0,
      ...(p.protocol !== undefined ? { protocol: p.protocol } : {}),
    }));
  }
  return out;
}

export interface ContainerStatusJson {
  container_id?: { value: string; parent?: ContainerStatusJson['container_id'] };
  network_infos?: NetworkInfoJson[];
  cgroup_info?: { net_cls?: { classid?: number } };
}

/** http.cpp:857-870: `container_id`, `network_infos` (if any), `cgroup_info`; never `executor_pid`. */
export function containerStatusJson(cs: ContainerStatus): ContainerStatusJson {
  const out: ContainerStatusJson = {};
  if (cs.containerId) out.container_id = protobufJson('ContainerID', cs.containerId) as ContainerStatusJson['container_id'];
  if ((cs.networkInfos ?? []).length > 0) out.network_infos = cs.networkInfos.map(networkInfoJson);
  if (cs.cgroupInfo) out.cgroup_info = { ...(cs.cgroupInfo.netCls ? { net_cls: { ...(cs.cgroupInfo.netCls.classid !== undefined ? { classid: cs.cgroupInfo.netCls.classid } : {}) } } : {}) };
  return out;
}

/** A status as the state endpoints show it: no message, reason, source, data or uuid. */
export interface TaskStatusJson {
  state: string;
  timestamp: number;
  labels?: LabelJson[];
  container_status?: ContainerStatusJson;
  healthy?: boolean;
}

export function taskStatusJson(s: TaskStatus): TaskStatusJson {
  const out: TaskStatusJson = { state: taskStateToJSON(s.state ?? 0), timestamp: s.timestamp ?? 0 };
  if (s.labels) out.labels = labelsJson(s.labels);
  if (s.containerStatus) out.container_status = containerStatusJson(s.containerStatus);
  if (s.healthy !== undefined) out.healthy = s.healthy;
  return out;
}

/** A task on the state endpoints (http.cpp:1112-1151). */
export interface TaskJson {
  id: string;
  name: string;
  framework_id: string;
  executor_id: string;
  slave_id: string;
  state: string;
  resources: Record<string, number | string>;
  limits?: Record<string, number>;
  role: string;
  statuses: TaskStatusJson[];
  user?: string;
  labels?: LabelJson[];
  discovery?: Json;
  container?: Json;
  health_check?: Json;
}

function roleOf(resources: readonly Resource[]): string {
  return resources[0]?.allocationInfo?.role ?? resources[0]?.role ?? '*';
}

function limitsJson(limits: Record<string, { value?: number }> | undefined): Record<string, number> | undefined {
  const entries = Object.entries(limits ?? {});
  if (entries.length === 0) return undefined;
  return Object.fromEntries(entries.map(([k, v]) => [k, v.value ?? 0]));
}

export function taskJson(task: Task): TaskJson {
  const limits = limitsJson(task.limits);
  const out: TaskJson = {
    id: task.taskId?.value ?? '',
    name: task.name ?? '',
    framework_id: task.frameworkId?.value ?? '',
    executor_id: task.executorId?.value ?? '',
    slave_id: task.agentId?.value ?? '',
    state: taskStateToJSON(task.state ?? 6),
    resources: resourcesJson(task.resources ?? []),
    ...(limits ? { limits } : {}),
    role: roleOf(task.resources ?? []),
    statuses: (task.statuses ?? []).map(taskStatusJson),
  };
  if (task.user !== undefined) out.user = task.user;
  if (task.labels) out.labels = labelsJson(task.labels);
  if (task.discovery) out.discovery = protobufJson('DiscoveryInfo', task.discovery);
  if (task.container) out.container = protobufJson('ContainerInfo', task.container);
  if (task.healthCheck) out.health_check = protobufJson('HealthCheck', task.healthCheck);
  return out;
}

/** A queued task on the agent's `/state` (Mesos's TaskInfo writer). */
export interface TaskInfoJson {
  id: string;
  name: string;
  slave_id: string;
  resources: Record<string, number | string>;
  role: string;
  command?: Json;
  executor_id?: string;
  discovery?: Json;
}

export function taskInfoJson(task: TaskInfo): TaskInfoJson {
  const out: TaskInfoJson = {
    id: task.taskId?.value ?? '',
    name: task.name ?? '',
    slave_id: task.agentId?.value ?? '',
    resources: resourcesJson(task.resources ?? []),
    role: roleOf(task.resources ?? []),
  };
  if (task.command) out.command = protobufJson('CommandInfo', task.command);
  if (task.executor) out.executor_id = task.executor.executorId?.value ?? '';
  if (task.discovery) out.discovery = protobufJson('DiscoveryInfo', task.discovery);
  return out;
}


/** Full protobuf JSON of each resource (the `*_full` fields). */
export function resourcesFullJson(resources: readonly Resource[]): Json[] {
  return resources.map((r) => protobufJson('Resource', r));
}

/** Mesos's `json(ObjectWriter*, const CommandInfo&)`: `argv` and `uris` always present. */
export function commandInfoJson(command: CommandInfo | undefined): JsonObject {
  const out: JsonObject = {};
  if (!command) return { argv: [], uris: [] };
  if (command.shell !== undefined) out.shell = command.shell;
  if (command.value !== undefined) out.value = command.value;
  out.argv = [...(command.arguments ?? [])];
  if (command.environment) {
    out.environment = convert('Environment', Environment.toJSON(command.environment) as Json);
  }
  out.uris = (command.uris ?? []).map((u) => ({ value: u.value ?? '', executable: u.executable ?? false }));
  return out;
}

/** An executor in the master's `frameworks[].executors[]` (plus `slave_id`, added by the caller). */
export function executorInfoJson(executor: ExecutorInfo): JsonObject {
  const out: JsonObject = {
    executor_id: executor.executorId?.value ?? '',
    name: executor.name ?? '',
    framework_id: executor.frameworkId?.value ?? '',
    command: commandInfoJson(executor.command),
    resources: resourcesJson(executor.resources ?? []),
  };
  if (executor.resources?.length) out.role = executor.resources[0]?.allocationInfo?.role ?? '*';
  if (executor.labels) out.labels = labelsJson(executor.labels) as unknown as Json;
  if (executor.type !== undefined) out.type = executorInfo_TypeToJSON(executor.type);
  return out;
}

export function offerJson(offer: Offer): JsonObject {
  return {
    id: offer.id?.value ?? '',
    framework_id: offer.frameworkId?.value ?? '',
    allocation_info: { role: offer.allocationInfo?.role ?? '*' },
    slave_id: offer.agentId?.value ?? '',
    resources: resourcesJson(offer.resources ?? []),
  };
}

export function attributesJson(attributes: readonly Attribute[]): JsonObject {
  const out: JsonObject = {};
  for (const a of attributes) {
    const name = a.name ?? '';
    switch (a.type ?? Value_Type.SCALAR) {
      case Value_Type.SCALAR:
        out[name] = a.scalar?.value ?? 0;
        break;
      case Value_Type.RANGES:
        out[name] = formatRanges((a.ranges?.range ?? []).map((x) => ({ begin: Number(x.begin ?? 0), end: Number(x.end ?? 0) })));
        break;
      case Value_Type.SET:
        out[name] = `{${(a.set?.item ?? []).join(', ')}}`;
        break;
      case Value_Type.TEXT:
        out[name] = a.text?.value ?? '';
        break;
    }
  }
  return out;
}

/** The first keys of an agent in `slaves[]` (Mesos's `json(ObjectWriter*, const SlaveInfo&)`). */
export function agentInfoJson(info: AgentInfo): JsonObject {
  const out: JsonObject = {
    id: info.id?.value ?? '',
    hostname: info.hostname ?? '',
    port: info.port ?? 5051,
    attributes: attributesJson(info.attributes ?? []),
  };
  if (info.domain) out.domain = convert(undefined, DomainInfo.toJSON(info.domain) as Json);
  return out;
}

export function frameworkCapabilitiesJson(info: FrameworkInfo): Json[] {
  return (info.capabilities ?? []).filter((c) => c.type !== undefined).map((c) => frameworkInfo_Capability_TypeToJSON(c.type as number));
}

// Shapes of the documents, for readers (DNS, tests, tools). Only the keys that readers use are
// spelled out; every document has more.

export interface FrameworkJson {
  id: string;
  name: string;
  active: boolean;
  connected: boolean;
  tasks: TaskJson[];
  unreachable_tasks: TaskJson[];
  completed_tasks: TaskJson[];
  offers: { id: string; slave_id: string; resources: Record<string, number | string> }[];
  [key: string]: unknown;
}
export interface AgentJson {
  id: string;
  hostname: string;
  port: number;
  pid: string;
  active: boolean;
  resources: Record<string, number | string>;
  used_resources: Record<string, number | string>;
  offered_resources: Record<string, number | string>;
  unreserved_resources: Record<string, number | string>;
  [key: string]: unknown;
}
/** `GET /master/state`. */
export interface MasterStateJson {
  id: string;
  pid: string;
  hostname: string;
  leader?: string;
  activated_slaves: number;
  slaves: AgentJson[];
  frameworks: FrameworkJson[];
  completed_frameworks: FrameworkJson[];
  [key: string]: unknown;
}
export interface ExecutorJson {
  id: string;
  name: string;
  source: string;
  container: string;
  directory: string;
  tasks: TaskJson[];
  queued_tasks: unknown[];
  completed_tasks: TaskJson[];
  [key: string]: unknown;
}
/** `GET /state` of an agent. */
export interface AgentStateJson {
  id: string;
  pid: string;
  hostname: string;
  resources: Record<string, number | string>;
  frameworks: { id: string; name: string; executors: ExecutorJson[]; completed_executors: ExecutorJson[]; [key: string]: unknown }[];
  completed_frameworks: unknown[];
  [key: string]: unknown;
}
