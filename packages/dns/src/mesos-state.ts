/**
 * The part of the Mesos master's `GET /master/state` JSON (mesos-reference.md §5) that service
 * discovery reads. Every field is optional here because the master omits unset fields and older
 * masters (0.25) used other shapes; the record builder copes with whatever is missing.
 */
import { DnsError } from './errors.js';

export interface MesosLabel {
  key?: string;
  value?: string;
}

export interface MesosIpAddress {
  /** `"IPv4"` (always written, it is the proto2 default) or `"IPv6"`. Not needed to classify. */
  protocol?: string;
  ip_address?: string;
}

export interface MesosNetworkInfo {
  ip_addresses?: MesosIpAddress[];
  /** Mesos 0.25 wrote one address here; removed in 1.0 but still read as a fallback. */
  ip_address?: string;
  name?: string;
  groups?: string[];
  labels?: MesosLabel[];
}

export interface MesosTaskStatus {
  state?: string;
  /** Seconds since the epoch, a double. */
  timestamp?: number;
  labels?: MesosLabel[];
  container_status?: { network_infos?: MesosNetworkInfo[] };
}

export interface MesosDiscoveryPort {
  number?: number;
  name?: string;
  protocol?: string;
}

export interface MesosDiscoveryInfo {
  visibility?: string;
  name?: string;
  ports?: { ports?: MesosDiscoveryPort[] };
}

export interface MesosTask {
  id?: string;
  name?: string;
  framework_id?: string;
  slave_id?: string;
  state?: string;
  /** `ports` is Mesos's range text, e.g. `"[31000-31001, 31005-31005]"`. */
  resources?: { ports?: string };
  statuses?: MesosTaskStatus[];
  discovery?: MesosDiscoveryInfo;
}

export interface MesosFramework {
  id?: string;
  name?: string;
  /** `scheduler-<uuid>@<ip>:<port>`. */
  pid?: string;
  hostname?: string;
  tasks?: MesosTask[];
}

export interface MesosAgent {
  id?: string;
  hostname?: string;
  /** `slave(1)@<ip>:<port>`: the agent's address comes from here, as in mesos-dns. */
  pid?: string;
}

export interface MesosState {
  /** `master@<ip>:<port>` of the leading master. */
  leader?: string;
  frameworks?: MesosFramework[];
  slaves?: MesosAgent[];
}

/**
 * Checks that `json` is a master state document (an object whose `frameworks` and `slaves`, when
 * present, are arrays) and returns it typed. Deeper fields are not validated: the builder treats
 * anything of the wrong type as absent, so one odd task never hides the others.
 *
 * @throws DnsError `DNS_STATE_INVALID` when the document is not a state at all.
 */
export function parseMesosState(json: unknown, source = 'the master'): MesosState {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new DnsError('DNS_STATE_INVALID', `${source} did not answer with a JSON object: is --master the master's URL (http://host:5050)?`);
  }
  const doc = json as Record<string, unknown>;
  for (const key of ['frameworks', 'slaves'] as const) {
    if (doc[key] !== undefined && !Array.isArray(doc[key])) {
      throw new DnsError('DNS_STATE_INVALID', `${source} sent a state whose '${key}' is not an array: expected the Mesos /master/state model`);
    }
  }
  if (doc.frameworks === undefined && doc.slaves === undefined) {
    throw new DnsError('DNS_STATE_INVALID', `${source} sent JSON without 'frameworks' or 'slaves': expected the Mesos /master/state model`);
  }
  return doc as MesosState;
}
