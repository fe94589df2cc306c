import { CheckInfo, CommandInfo, ContainerID, ContainerInfo, DiscoveryInfo, FrameworkInfo, HealthCheck, KillPolicy, Resource } from '@ippc/proto';

// stout's `JSON::Protobuf`, as Mesos's state endpoints embed whole messages (`task.container`,
// `health_check`, the `*_full` resources): snake_case field names, set fields plus fields with a
// non-deprecated default, enums by name, empty repeated fields left out.

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

/** ts-proto's camelCase JSON of a message, rewritten in stout's form (schema `kind`). */
export function convert(kind: string | undefined, value: Json): Json {
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
const MESSAGES = { ContainerInfo, DiscoveryInfo, HealthCheck, CheckInfo, CommandInfo, ContainerID, KillPolicy, FrameworkInfo, Resource } satisfies Record<
  string,
  ToJson<never>
>;

/**
 * stout's `JSON::Protobuf(message)` for the messages the state endpoints embed: snake_case keys,
 * defaults of unset fields (`docker.network: "HOST"`, `ip_addresses[].protocol: "IPv4"`, ...).
 */
export function protobufJson<K extends keyof typeof MESSAGES>(kind: K, message: Parameters<(typeof MESSAGES)[K]['toJSON']>[0]): Json {
  const camel = (MESSAGES[kind] as ToJson<typeof message>).toJSON(message) as Json;
  return convert(kind, camel);
}
