import { agentInfo_Capability_TypeToJSON, frameworkInfo_Capability_TypeToJSON, type VersionInfo } from '@ippc/proto';
import {
  agentInfoJson,
  labelsJson,
  offerJson,
  resourcesFullJson,
  resourcesJson,
  taskJson,
  unallocateResources,
  type Json,
  type JsonObject,
  type MasterStateJson,
} from '@ippc/mesos';
import { type AgentEntry, type FrameworkEntry, type Master } from '../master.js';
import { AGENT_CAPABILITIES, frameworkExecutors, frameworkOffers, frameworkUsed } from './records.js';

// `GET /master/state` in the Mesos JSON model (src/master/readonly_handler.cpp): the top-level
// keys, `slaves[]` and `frameworks[]` with their tasks, unreachable and completed tasks and
// offers. Tasks use the shared writer of @ippc/scheduler, so statuses carry only state,
// timestamp, labels, container_status and healthy, and IPs sit at
// `frameworks[].tasks[].statuses[].container_status.network_infos[].ip_addresses[].ip_address`.

export const IPPC_VERSION = '0.1.0';

/** ippc's version as Mesos's VersionInfo (`/version`, GET_VERSION); the build details ippc does not record are empty. */
export function versionInfo(): VersionInfo {
  return { version: IPPC_VERSION, buildDate: '', buildTime: 0, buildUser: 'ippc', gitSha: '', gitBranch: '', gitTag: '' };
}

function agentJson(master: Master, a: AgentEntry): JsonObject {
  const used = master.used(a);
  const offered = master.offered(a);
  return {
    ...agentInfoJson(a.info),
    pid: a.pid,
    registered_time: a.registeredTime,
    ...(a.reregisteredTime !== undefined ? { reregistered_time: a.reregisteredTime } : {}),
    resources: resourcesJson(a.total),
    used_resources: resourcesJson(used),
    offered_resources: resourcesJson(offered),
    reserved_resources: {},
    unreserved_resources: resourcesJson(a.total),
    active: !!a.conn,
    deactivated: !a.conn,
    version: a.version,
    capabilities: AGENT_CAPABILITIES.map(agentInfo_Capability_TypeToJSON),
    reserved_resources_full: {},
    unreserved_resources_full: resourcesFullJson(a.total),
    used_resources_full: resourcesFullJson(used),
    offered_resources_full: resourcesFullJson(offered),
  };
}

function frameworkJson(master: Master, f: FrameworkEntry): JsonObject {
  const tasks = [...f.tasks.values()];
  const used = unallocateResources(frameworkUsed(f));
  const offers = frameworkOffers(master, f);
  const offered = unallocateResources(offers.flatMap((o) => o.resources ?? []));
  const role = f.info.roles?.[0] ?? f.info.role ?? '*';
  const out: JsonObject = {
    id: f.id,
    name: f.info.name ?? '',
    used_resources: resourcesJson(used),
    offered_resources: resourcesJson(offered),
    capabilities: (f.info.capabilities ?? []).filter((c) => c.type !== undefined).map((c) => frameworkInfo_Capability_TypeToJSON(c.type!)),
    hostname: f.info.hostname ?? '',
    webui_url: f.info.webuiUrl ?? '',
    active: !!f.conn && !f.suppressed,
    connected: !!f.conn,
    recovered: f.recovered,
    user: f.info.user ?? '',
    failover_timeout: f.info.failoverTimeout ?? 0,
    checkpoint: f.info.checkpoint ?? false,
    ...(f.info.roles?.length ? { roles: [...f.info.roles] } : { role }),
    registered_time: f.registeredTime,
    unregistered_time: f.unregisteredTime ?? 0,
    ...(f.reregisteredTime !== undefined ? { reregistered_time: f.reregisteredTime } : {}),
    ...(f.info.principal !== undefined ? { principal: f.info.principal } : {}),
    resources: resourcesJson(used),
    ...(f.info.labels ? { labels: labelsJson(f.info.labels) as unknown as Json } : {}),
    tasks: tasks.map((t) => taskJson(t) as unknown as Json),
    unreachable_tasks: [...f.unreachableTasks.values()].map((t) => taskJson(t) as unknown as Json),
    completed_tasks: f.completedTasks.map((t) => taskJson(t) as unknown as Json),
    offers: offers.map(offerJson),
    executors: frameworkExecutors(master, f).map(({ agentId, executor: e }) => ({
      executor_id: e.executorId?.value ?? '',
      name: e.name ?? '',
      framework_id: f.id,
      slave_id: agentId,
      resources: resourcesJson(e.resources ?? []),
    })),
  };
  return out;
}

/** The whole `/master/state` document. */
export function masterState(master: Master): MasterStateJson {
  const agents = master.agentEntries();
  const leaderInfo = {
    id: master.id,
    pid: master.pid,
    port: master.port,
    hostname: master.hostname,
    version: IPPC_VERSION,
    address: { hostname: master.hostname, ip: master.ip, port: master.port },
  };
  return {
    version: IPPC_VERSION,
    build_user: 'ippc',
    start_time: master.startTime,
    elected_time: master.startTime,
    id: master.id,
    pid: master.pid,
    hostname: master.hostname,
    activated_slaves: agents.filter((a) => !!a.conn).length,
    deactivated_slaves: agents.filter((a) => !a.conn).length,
    unreachable_slaves: master.unreachableAgents.size,
    leader: master.pid,
    leader_info: leaderInfo,
    flags: master.flags,
    slaves: agents.map((a) => agentJson(master, a)) as unknown as MasterStateJson['slaves'],
    recovered_slaves: [],
    frameworks: master.frameworkEntries().map((f) => frameworkJson(master, f)) as unknown as MasterStateJson['frameworks'],
    completed_frameworks: master.completedFrameworks.map((f) => frameworkJson(master, f)) as unknown as MasterStateJson['completed_frameworks'],
    unregistered_frameworks: [],
  };
}
