import {
  CNI_SPEC_ERROR_CODES,
  CniError,
  IppcError,
  containerAddresses,
  type CniRequest,
  type CniResponse,
  type CniResultAddresses,
  messageOf,
} from '@ippc/core';
import { networkInfoOfCniArgs } from '@ippc/mesos';
import { cniCodeOf } from '../errors.js';
import { stripPrefix } from '../ip.js';
import { normalizeMember, type Member, type MemberKey } from '../model.js';

// The CNI side of the node daemon. The `ippc-isolation` executable is a thin forwarder (@ippc/core's
// CNI forwarder: static C, or sh + curl, over a unix socket) and the daemon serves it with
// @ippc/core's CNI daemon; this is where a request is understood and answered.

/** CNI spec versions the plugin speaks (it passes `prevResult` through, whatever its shape). */
export const SUPPORTED_CNI_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

/** The default path of the node daemon's socket (the plugin config's `socket` overrides it). */
export const DEFAULT_NODE_DAEMON_SOCKET = '/run/ippc/isolation.sock';

/** The node daemon's CNI endpoint (the plugin's `urlPath`). */
export const CNI_URL_PATH = '/cni';

/** Marks the end of one phase of a CNI call (where the daemon's time goes); phases follow each other. */
export interface CniTrace {
  mark(phase: string): void;
  /** A share of a phase, recorded apart (e.g. the nft round trip within `enforce`). */
  note?(part: string, ms: number): void;
}

/** What the handler needs from the daemon. */
export interface CniBackend {
  /** Records the member and resolves once the local enforcer applied it (the service may learn it later). */
  attach(member: Member, trace?: CniTrace): Promise<void>;
  /** Forgets the member (removed locally first); succeeds for an unknown member. */
  detach(key: MemberKey, trace?: CniTrace): Promise<void>;
  /** Throws unless the member is registered as given and enforced here. */
  check(member: Member): Promise<void>;
  /** Detaches every local member of `network` not in `valid`. */
  gc(network: string, valid: { containerId: string; ifName: string }[]): Promise<void>;
  /** Throws when ADDs cannot be served now (not connected to the service). */
  status(): Promise<void>;
}

/** The plugin's own configuration keys (besides the standard ones). */
export interface IsolationPluginConfig {
  cniVersion: string;
  name: string;
  type: string;
  /** The node daemon's socket. Default /run/ippc/isolation.sock. Read by the forwarder, too. */
  socket?: string;
  /** Mesos's NetworkInfo under `args["org.apache.mesos"]` (read by @ippc/mesos). */
  args?: Record<string, unknown>;
  prevResult?: PrevResult;
  'cni.dev/valid-attachments'?: { containerID: string; ifname: string }[];
  'cni.dev/attachments'?: { containerID: string; ifname: string }[];
}

type PrevResult = CniResultAddresses & { cniVersion?: string };

/** The addresses a previous plugin returned, canonical: `ips[]` (CNI >= 0.3) or `ip4`/`ip6` (0.1, 0.2). */
export function addressesOf(prev: PrevResult): string[] {
  return containerAddresses(prev).map((ip) => stripPrefix(ip.address));
}

/** `args["org.apache.mesos"].network_info.groups`, as Mesos writes it (snake_case JSON of NetworkInfo). */
export function groupsOf(config: IsolationPluginConfig): string[] {
  try {
    return networkInfoOfCniArgs(config.args)?.groups ?? [];
  } catch (err) {
    throw new CniError(CNI_SPEC_ERROR_CODES.INVALID_CONFIG, (err as Error).message);
  }
}

function need(value: string | undefined, name: string): string {
  if (!value) throw new CniError(CNI_SPEC_ERROR_CODES.INVALID_ENV, `${name} is required for this command`);
  return value;
}

/**
 * Answers one CNI call. Never throws: failures become CNI error JSON with a code. `trace`, if
 * given, is told when decoding ends and passed on to the backend (the daemon's per-phase timing).
 */
export async function handleCni(req: CniRequest, backend: CniBackend, agentId: string, trace?: CniTrace): Promise<CniResponse> {
  let version = '1.0.0';
  try {
    const config = decode(req);
    if (typeof config.cniVersion === 'string') version = config.cniVersion;
    if (req.command === 'VERSION') return { status: 200, body: JSON.stringify({ cniVersion: version, supportedVersions: SUPPORTED_CNI_VERSIONS }) };
    if (!(SUPPORTED_CNI_VERSIONS as readonly string[]).includes(version)) {
      throw new CniError(
        CNI_SPEC_ERROR_CODES.INCOMPATIBLE_VERSION,
        `ippc-isolation does not speak CNI ${version}: use one of ${SUPPORTED_CNI_VERSIONS.join(', ')}`,
      );
    }
    return await dispatch(req, config, backend, agentId, trace);
  } catch (err) {
    if (err instanceof CniError) return err.toResponse(version);
    const msg = messageOf(err);
    const details = err instanceof IppcError ? err.code : undefined;
    return new CniError(cniCodeOf(err), `ippc-isolation: ${msg}`, details).toResponse(version);
  }
}

/** The network configuration on stdin. */
function decode(req: CniRequest): IsolationPluginConfig {
  let config: IsolationPluginConfig;
  try {
    config = JSON.parse(req.stdin) as IsolationPluginConfig;
  } catch (cause) {
    throw new CniError(CNI_SPEC_ERROR_CODES.DECODE, `cannot decode the network configuration on stdin: ${(cause as Error).message}`);
  }
  if (typeof config !== 'object' || config === null) throw new CniError(CNI_SPEC_ERROR_CODES.DECODE, 'the network configuration on stdin is not a JSON object');
  return config;
}

/** The member a call is about: the container's addresses from prevResult, its groups from the NetworkInfo. */
function memberOf(req: CniRequest, config: IsolationPluginConfig, agentId: string): Member {
  const prev = config.prevResult;
  if (!prev) {
    throw new CniError(
      CNI_SPEC_ERROR_CODES.INVALID_CONFIG,
      'ippc-isolation is a chained plugin: list it after an interface plugin (bridge, ptp) in a conflist so it gets prevResult with the container addresses',
    );
  }
  const addresses = addressesOf(prev);
  if (addresses.length === 0)
    throw new CniError(
      CNI_SPEC_ERROR_CODES.INVALID_CONFIG,
      'prevResult has no IP addresses: the plugin before ippc-isolation must assign the container an address (check its ipam section)',
    );
  return normalizeMember({
    agentId,
    containerId: need(req.containerId, 'CNI_CONTAINERID'),
    ifName: need(req.ifName, 'CNI_IFNAME'),
    network: config.name,
    addresses,
    groups: groupsOf(config),
  });
}

/** One verb of the spec, answered by the backend. */
async function dispatch(req: CniRequest, config: IsolationPluginConfig, backend: CniBackend, agentId: string, trace?: CniTrace): Promise<CniResponse> {
  switch (req.command) {
    case 'ADD': {
      need(req.netns, 'CNI_NETNS');
      const m = memberOf(req, config, agentId);
      trace?.mark('decode');
      await backend.attach(m, trace);
      // A chained plugin passes the previous result on; ippc-isolation changes nothing in it.
      return { status: 200, body: JSON.stringify(config.prevResult) };
    }
    case 'DEL':
      // No CNI_NETNS and no prevResult needed: the member is known by its key.
      trace?.mark('decode');
      await backend.detach({ agentId, containerId: need(req.containerId, 'CNI_CONTAINERID'), ifName: need(req.ifName, 'CNI_IFNAME') }, trace);
      return { status: 200, body: '' };
    case 'CHECK':
      await backend.check(memberOf(req, config, agentId));
      return { status: 200, body: '' };
    case 'GC': {
      const valid = config['cni.dev/valid-attachments'] ?? config['cni.dev/attachments'] ?? [];
      await backend.gc(
        config.name,
        valid.map((v) => ({ containerId: v.containerID, ifName: v.ifname })),
      );
      return { status: 200, body: '' };
    }
    case 'STATUS':
      try {
        await backend.status();
      } catch (err) {
        throw new CniError(CNI_SPEC_ERROR_CODES.STATUS_NOT_AVAILABLE, (err as Error).message);
      }
      return { status: 200, body: '' };
    default:
      throw new CniError(
        CNI_SPEC_ERROR_CODES.INVALID_ENV,
        `unknown CNI_COMMAND '${req.command}': ippc-isolation knows ADD, DEL, CHECK, GC, STATUS and VERSION`,
      );
  }
}
