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
  CommandInfo,
  FrameworkInfo,
  Resource,
  type TaskInfo,
  taskStateToJSON,
  type ContainerStatus,
  type Labels,
  type NetworkInfo,
  type Task,
  type TaskStatus,
} from '@ippc/proto';
import { formatRanges } from '../resources/ranges.js';
import { resourcesJson } from '../resources/arithmetic.js';
import { convert, protobufJson, type Json, type JsonObject } from './protobuf-json.js';

// The Mesos JSON model of the state endpoints (src/common/http.cpp), shared by the master and
// the agent that write it and by anyone who reads it (DNS, the CLI, tests). Mesos writes Task,
// TaskStatus, ContainerStatus and NetworkInfo by hand (snake_case, labels as a bare array, only the
// fields Mesos shows) and embeds other messages through `JSON::Protobuf` (protobuf-json.ts).

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
  if (cs.cgroupInfo)
    out.cgroup_info = {
      ...(cs.cgroupInfo.netCls ? { net_cls: { ...(cs.cgroupInfo.netCls.classid !== undefined ? { classid: cs.cgroupInfo.netCls.classid } : {}) } } : {}),
    };
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
