import { parseIp } from '@ippc/core';
import { NetworkInfo_Protocol, type NetworkInfo } from '@ippc/proto';
import { CliError } from './errors.js';

// What `task run` and `task group` read alike: names, numbers, and the networks a container joins
// (`--network`, `--group`, `--ip`). Pure; only the CLI's own syntax is checked.

/** A task (or pod) name: what Mesos-DNS can put in a label. */
export const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export function usage(message: string): CliError {
  return new CliError('CLI_USAGE', message);
}

/** Throws CLI_USAGE unless `name` is 1-63 letters, digits, '.', '_' or '-' (`what`: "task name", ...). */
export function checkName(what: string, name: string): void {
  if (!NAME.test(name)) throw usage(`${what} '${name}' must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit`);
}

export function positiveNumber(flag: string, text: string | undefined, integer: boolean): number | undefined {
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

/** The flags that opt a container in to addresses of its own. */
export interface NetworkFlags {
  network?: string[];
  group?: string[];
  ip?: string[];
}

/**
 * `--network` (one interface each, in order), `--group` (on every network) and `--ip` (on the
 * first) → NetworkInfos; `portMappings` go on the first network. `subject` names what joins them
 * in the messages ("a task", "a pod").
 */
export function planNetworks(
  flags: NetworkFlags,
  subject: string,
  portMappings: NetworkInfo['portMappings'] = [],
): { networks: string[]; groups: string[]; networkInfos: NetworkInfo[] } {
  const networks = flags.network ?? [];
  for (const n of networks) if (!n.trim()) throw usage('--network needs a name');
  const groups = flags.group ?? [];
  for (const g of groups) if (!/^[A-Za-z0-9_.*-]+$/.test(g)) throw usage(`--group '${g}' must be letters, digits, '.', '_' or '-'`);
  const ips = (flags.ip ?? []).map(ipOf);
  if (ips.length > 0 && networks.length === 0) throw usage(`--ip needs --network: ${subject} without a network of its own uses the agent address`);
  if (groups.length > 0 && networks.length === 0) throw usage('--group needs --network: groups isolate containers on a network of their own');
  const networkInfos: NetworkInfo[] = networks.map((n, i) => ({
    name: n,
    groups: [...groups],
    ipAddresses: i === 0 ? ips : [],
    portMappings: i === 0 ? portMappings : [],
  }));
  return { networks, groups, networkInfos };
}
