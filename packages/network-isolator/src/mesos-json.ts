import { NetworkInfo_Protocol, type ContainerID, type NetworkInfo } from '@ippc/proto';

// The JSON Mesos puts under args["org.apache.mesos"].network_info: stout's JSON::protobuf of the
// NetworkInfo. Keys are the proto field names (snake_case); set fields only, plus non-repeated
// fields with an explicit default, which is why every IPAddress carries "protocol":"IPv4" even when
// the framework did not set it. Labels stay wrapped ({"labels":[...]}), unlike the state
// endpoints. stout's JSON::Object is a std::map, so Mesos writes keys in byte order; we build the
// objects in that order so the text is Mesos's byte for byte.

/** Mesos's JSON for a NetworkInfo, as the network/cni isolator passes it to plugins. */
export function networkInfoToMesosJson(info: NetworkInfo): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (info.groups.length > 0) out.groups = [...info.groups];
  if (info.ipAddresses.length > 0) {
    out.ip_addresses = info.ipAddresses.map((ip) => ({
      ...(ip.ipAddress !== undefined ? { ip_address: ip.ipAddress } : {}),
      protocol: (ip.protocol ?? NetworkInfo_Protocol.IPv4) === NetworkInfo_Protocol.IPv6 ? 'IPv6' : 'IPv4',
    }));
  }
  if (info.labels) {
    // A Labels message with no entries is an empty object: stout skips empty repeated fields.
    out.labels = info.labels.labels.length === 0 ? {} : {
      labels: info.labels.labels.map((l) => ({ ...(l.key !== undefined ? { key: l.key } : {}), ...(l.value !== undefined ? { value: l.value } : {}) })),
    };
  }
  if (info.name !== undefined) out.name = info.name;
  if (info.portMappings.length > 0) {
    out.port_mappings = info.portMappings.map((pm) => ({
      ...(pm.containerPort !== undefined ? { container_port: pm.containerPort } : {}),
      ...(pm.hostPort !== undefined ? { host_port: pm.hostPort } : {}),
      ...(pm.protocol !== undefined ? { protocol: pm.protocol } : {}),
    }));
  }
  return out;
}

/** Reads {@link networkInfoToMesosJson}'s output back (used to rebuild a NetworkInfo from a checkpointed config). */
export function networkInfoFromMesosJson(json: unknown): NetworkInfo {
  const j = (json ?? {}) as Record<string, unknown>;
  const info: NetworkInfo = { ipAddresses: [], groups: [], portMappings: [] };
  if (typeof j.name === 'string') info.name = j.name;
  if (Array.isArray(j.groups)) info.groups = j.groups.filter((g): g is string => typeof g === 'string');
  const labels = (j.labels as { labels?: unknown } | undefined)?.labels;
  if (Array.isArray(labels)) {
    info.labels = { labels: labels.map((l: { key?: string; value?: string }) => ({ ...(l.key !== undefined ? { key: l.key } : {}), ...(l.value !== undefined ? { value: l.value } : {}) })) };
  }
  if (Array.isArray(j.ip_addresses)) {
    info.ipAddresses = j.ip_addresses.map((ip: { protocol?: string; ip_address?: string }) => ({
      protocol: ip.protocol === 'IPv6' ? NetworkInfo_Protocol.IPv6 : NetworkInfo_Protocol.IPv4,
      ...(ip.ip_address !== undefined ? { ipAddress: ip.ip_address } : {}),
    }));
  }
  if (Array.isArray(j.port_mappings)) {
    info.portMappings = j.port_mappings.map((pm: { host_port?: number; container_port?: number; protocol?: string }) => ({
      ...(pm.host_port !== undefined ? { hostPort: pm.host_port } : {}),
      ...(pm.container_port !== undefined ? { containerPort: pm.container_port } : {}),
      ...(pm.protocol !== undefined ? { protocol: pm.protocol } : {}),
    }));
  }
  return info;
}

/** Mesos's string form of a ContainerID: `value`, or `parent.value` for a nested one. */
export function containerIdToString(id: ContainerID): string {
  const value = id.value ?? '';
  return id.parent ? `${containerIdToString(id.parent)}.${value}` : value;
}

/** The inverse of {@link containerIdToString}: `a.b` → `{value: 'b', parent: {value: 'a'}}`. */
export function containerIdFromString(text: string): ContainerID {
  const parts = text.split('.');
  let id: ContainerID = { value: parts[0] };
  for (const part of parts.slice(1)) id = { value: part, parent: id };
  return id;
}
