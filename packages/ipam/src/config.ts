import { readFileSync } from 'node:fs';
import type { AuthConfig } from '@ippc/core';
import { IpamError } from './errors.js';
import type { PoolSpec } from './types.js';

/**
 * The service config file (JSON). Every field is optional; flags override the file, the
 * environment (`IPPC_TOKEN`) overrides the file's token.
 *
 * ```json
 * { "listen": "0.0.0.0:7460", "http": "0.0.0.0:7461",
 *   "store": { "type": "embedded", "path": "/var/lib/ippc/ipam" },
 *   "cooldownSeconds": 30,
 *   "pools": [{ "network": "blue", "node": "agent-1", "ranges": [{ "subnet": "10.210.1.0/24" }] }] }
 * ```
 */
export interface IpamServerConfig {
  /** gRPC address. Default "127.0.0.1:7460". */
  listen: string;
  /** HTTP address for /metrics and /health. Default "127.0.0.1:7461"; "" disables it. */
  http: string;
  store: { type: 'embedded'; path: string; sync?: boolean } | { type: 'etcd'; endpoints: string[]; prefix?: string };
  /** Default cool-down. Default 30. */
  cooldownSeconds: number;
  /** Pools ensured at start. Default none: pools then come from EnsurePool (the CNI config). */
  pools: PoolSpec[];
  auth: AuthConfig | undefined;
  /** Minimum time between the two GC observations. Default 0. */
  gcGraceSeconds: number;
}

export const DEFAULT_CONFIG: IpamServerConfig = {
  listen: '127.0.0.1:7460',
  http: '127.0.0.1:7461',
  store: { type: 'embedded', path: '/var/lib/ippc/ipam' },
  cooldownSeconds: 30,
  pools: [],
  auth: undefined,
  gcGraceSeconds: 0,
};

const KNOWN = new Set(['listen', 'http', 'store', 'cooldownSeconds', 'pools', 'auth', 'gcGraceSeconds']);

function bad(message: string): IpamError {
  return new IpamError('IPAM_BAD_REQUEST', `IPAM config: ${message}`);
}

/** Validates a parsed config object (unknown fields rejected) over the defaults. */
export function parseConfig(raw: unknown): IpamServerConfig {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw bad('the file must hold a JSON object');
  const obj = raw as Record<string, unknown>;
  for (const k of Object.keys(obj)) if (!KNOWN.has(k)) throw bad(`unknown field '${k}' (known: ${[...KNOWN].join(', ')})`);
  const cfg: IpamServerConfig = { ...DEFAULT_CONFIG, store: { ...DEFAULT_CONFIG.store } };
  if (obj.listen !== undefined) {
    if (typeof obj.listen !== 'string') throw bad('listen must be "host:port"');
    cfg.listen = obj.listen;
  }
  if (obj.http !== undefined) {
    if (typeof obj.http !== 'string') throw bad('http must be "host:port" or ""');
    cfg.http = obj.http;
  }
  if (obj.store !== undefined) {
    const s = obj.store as Record<string, unknown>;
    if (s?.type === 'embedded' && typeof s.path === 'string')
      cfg.store = { type: 'embedded', path: s.path, ...(typeof s.sync === 'boolean' ? { sync: s.sync } : {}) };
    else if (s?.type === 'etcd' && Array.isArray(s.endpoints) && s.endpoints.every((e) => typeof e === 'string') && s.endpoints.length > 0)
      cfg.store = { type: 'etcd', endpoints: s.endpoints as string[], ...(typeof s.prefix === 'string' ? { prefix: s.prefix } : {}) };
    else throw bad('store must be {"type": "embedded", "path": DIR} or {"type": "etcd", "endpoints": ["http://host:2379"], "prefix"?: "/ippc/ipam/"}');
  }
  for (const k of ['cooldownSeconds', 'gcGraceSeconds'] as const) {
    if (obj[k] !== undefined) {
      if (typeof obj[k] !== 'number' || !Number.isFinite(obj[k]) || (obj[k] as number) < 0) throw bad(`${k} must be a number >= 0`);
      cfg[k] = obj[k] as number;
    }
  }
  if (obj.pools !== undefined) {
    if (!Array.isArray(obj.pools)) throw bad('pools must be a list of {network, ranges: [{subnet, ...}], node?, exclude?, id?}');
    cfg.pools = obj.pools as PoolSpec[];
  }
  if (obj.auth !== undefined) {
    const a = obj.auth as Record<string, unknown>;
    if (a && typeof a.token === 'string' && a.token !== '') cfg.auth = { token: a.token };
    else if (a && a.disabled === true) cfg.auth = { disabled: true };
    else throw bad('auth must be {"token": "..."} or {"disabled": true}');
  }
  return cfg;
}

export function loadConfigFile(path: string): IpamServerConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw bad(`cannot read ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw bad(`${path} is not valid JSON: ${(err as Error).message}`);
  }
  return parseConfig(raw);
}
