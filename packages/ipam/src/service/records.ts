import { key, type StoreEntry } from '../store/store.js';
import type { AssignedAddress, Handle, Label, Lease } from '../types.js';

// The stored records: what the service keeps in its IpamStore, under which keys, and how a record
// reads back as a lease.

export interface LeaseRecord {
  handle: Handle;
  owner: string;
  node: string;
  addresses: AssignedAddress[];
  createdAtMs: number;
  groups: string[];
  labels: Label[];
}

export type AddrRecord = { state: 'assigned'; holder: string } | { state: 'cooling'; holder: string; releasedAtMs: number; coolUntilMs: number };

export interface NetRecord {
  pools: string[];
}

export const netKey = (network: string) => key('net', network);
export const poolKey = (network: string, id: string) => key('pool', network, id);
export const leaseKey = (h: Handle) => key('lease', h.network, h.containerId, h.ifName);
export const addrKey = (network: string, pool: string, address: string) => key('addr', network, pool, address);

export function handleText(h: Handle): string {
  return `${h.network}/${h.containerId}/${h.ifName}`;
}

/** "lease/blue/c1/eth0" (URI-encoded segments) -> "blue/c1/eth0", for messages. */
export function holderText(leaseKeyText: string | undefined): string {
  if (!leaseKeyText) return '';
  return leaseKeyText.split('/').slice(1).map(decodeURIComponent).join('/');
}

export function toLease(e: StoreEntry<LeaseRecord>): Lease {
  const r = e.value;
  return {
    handle: r.handle,
    owner: r.owner,
    node: r.node,
    addresses: r.addresses,
    epoch: e.modRevision,
    createdAtMs: r.createdAtMs,
    groups: r.groups,
    labels: r.labels,
  };
}
