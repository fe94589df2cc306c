import { NetworkInfo_Protocol, type ContainerID, type NetworkInfo } from '@ippc/proto';
import { MesosError } from './errors.js';

// The NetworkInfo that Mesos's network/cni isolator hands every plugin, under
// `args["org.apache.mesos"].network_info` of the network config: stout's JSON::protobuf of the
// NetworkInfo. Keys are the proto field names (snake_case); set fields only, plus non-repeated
// fields with an explicit default, which is why every IPAddress carries "protocol":"IPv4" even when
// the framework did not set it. Labels stay wrapped ({"labels":[...]}), unlike the state
// endpoints. stout's JSON::Object is a std::map, so Mesos writes keys in byte order; we build the
// objects in that order so the text is Mesos's byte for byte. The isolator writes it here; the
// IPAM and isolation plugins, and the isolator's own recovery, read it back here.

/** The key of `args` that Mesos reserves for itself in a CNI network config. */
export const MESOS_CNI_ARGS_KEY = 'org.apache.mesos';

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
    out.labels =
      info.labels.labels.length === 0
        ? {}
        : {
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

const WHERE = `args["${MESOS_CNI_ARGS_KEY}"].network_info`;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const invalid = (field: string, expected: string, proto: string): MesosError =>
  new MesosError('NETWORK_INFO_INVALID', `${WHERE}${field} must be ${expected} (${proto})`);

function optionalString(o: Record<string, unknown>, key: string, field: string, proto: string): string | undefined {
  const v = o[key];
  if (v !== undefined && typeof v !== 'string') throw invalid(field, 'a string', proto);
  return v;
}

function optionalList(o: Record<string, unknown>, key: string, field: string, expected: string, proto: string): unknown[] {
  const v = o[key];
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw invalid(field, expected, proto);
  return v;
}

function readIpAddresses(j: Record<string, unknown>): NetworkInfo['ipAddresses'] {
  const expected = 'a list of {"protocol": "IPv4" or "IPv6", "ip_address": string}';
  return optionalList(j, 'ip_addresses', '.ip_addresses', expected, 'NetworkInfo.ip_addresses').map((ip) => {
    if (!isObject(ip) || (ip.protocol !== undefined && ip.protocol !== 'IPv4' && ip.protocol !== 'IPv6'))
      throw invalid('.ip_addresses', expected, 'NetworkInfo.ip_addresses');
    const address = optionalString(ip, 'ip_address', '.ip_addresses[].ip_address', 'NetworkInfo.IPAddress.ip_address');
    return {
      protocol: ip.protocol === 'IPv6' ? NetworkInfo_Protocol.IPv6 : NetworkInfo_Protocol.IPv4,
      ...(address !== undefined ? { ipAddress: address } : {}),
    };
  });
}

function readLabels(j: Record<string, unknown>): NetworkInfo['labels'] {
  if (j.labels === undefined) return undefined;
  const expected = '{"labels": [{"key": string, "value": string}]}';
  if (!isObject(j.labels)) throw invalid('.labels', expected, 'NetworkInfo.labels');
  const entries = optionalList(j.labels, 'labels', '.labels', expected, 'NetworkInfo.labels');
  return {
    labels: entries.map((l) => {
      if (!isObject(l)) throw invalid('.labels', expected, 'NetworkInfo.labels');
      const key = optionalString(l, 'key', '.labels.labels[].key', 'Label.key');
      const value = optionalString(l, 'value', '.labels.labels[].value', 'Label.value');
      return { ...(key !== undefined ? { key } : {}), ...(value !== undefined ? { value } : {}) };
    }),
  };
}

function readPortMappings(j: Record<string, unknown>): NetworkInfo['portMappings'] {
  const expected = 'a list of {"host_port": number, "container_port": number, "protocol": string}';
  return optionalList(j, 'port_mappings', '.port_mappings', expected, 'NetworkInfo.port_mappings').map((pm) => {
    const port = (v: unknown) => v === undefined || (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65535);
    if (!isObject(pm) || !port(pm.host_port) || !port(pm.container_port)) throw invalid('.port_mappings', expected, 'NetworkInfo.port_mappings');
    const protocol = optionalString(pm, 'protocol', '.port_mappings[].protocol', 'PortMapping.protocol');
    return {
      ...(pm.host_port !== undefined ? { hostPort: pm.host_port as number } : {}),
      ...(pm.container_port !== undefined ? { containerPort: pm.container_port as number } : {}),
      ...(protocol !== undefined ? { protocol } : {}),
    };
  });
}

/**
 * Reads {@link networkInfoToMesosJson}'s output back into a NetworkInfo. Throws NETWORK_INFO_INVALID
 * naming the field that does not fit (a plugin answers it with CNI's "invalid network config").
 */
export function networkInfoFromMesosJson(json: unknown): NetworkInfo {
  if (!isObject(json)) throw invalid('', 'an object', 'NetworkInfo');
  const name = optionalString(json, 'name', '.name', 'NetworkInfo.name');
  const groups = optionalList(json, 'groups', '.groups', 'a list of strings', 'NetworkInfo.groups');
  if (groups.some((g) => typeof g !== 'string')) throw invalid('.groups', 'a list of strings', 'NetworkInfo.groups');
  const labels = readLabels(json);
  return {
    ...(name !== undefined ? { name } : {}),
    groups: groups as string[],
    ...(labels ? { labels } : {}),
    ipAddresses: readIpAddresses(json),
    portMappings: readPortMappings(json),
  };
}

/**
 * The NetworkInfo Mesos put in a CNI config's `args` (`args["org.apache.mesos"].network_info`), or
 * undefined when there is none (a config run outside Mesos). Throws NETWORK_INFO_INVALID.
 */
export function networkInfoOfCniArgs(args: unknown): NetworkInfo | undefined {
  if (!isObject(args)) return undefined;
  const mesos = args[MESOS_CNI_ARGS_KEY];
  if (!isObject(mesos) || mesos.network_info === undefined) return undefined;
  return networkInfoFromMesosJson(mesos.network_info);
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
