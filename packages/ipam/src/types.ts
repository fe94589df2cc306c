import type { IpFamily } from '@ippc/core';

/** One range of a pool, in host-local's shape (see PoolSpec for defaults). */
export interface RangeSpec {
  /** CIDR, e.g. "10.210.1.0/24" (host bits are cleared). */
  subnet: string;
  /** First assignable address. Default: network + 1. */
  rangeStart?: string;
  /** Last assignable address. Default: IPv4 broadcast - 1; IPv6 the last address. */
  rangeEnd?: string;
  /** Never handed out; returned as `gateway` in results. Default: network + 1. */
  gateway?: string;
}

/** A pool: one address family, one or more ranges, in one network. */
export interface PoolSpec {
  network: string;
  /** Default: the first range's canonical subnet, e.g. "10.210.1.0/24". */
  id?: string;
  ranges: RangeSpec[];
  /** Node affinity: requests from this node (that name no pool) draw from it; others do not. */
  node?: string;
  /** Addresses or CIDRs never handed out. */
  exclude?: string[];
  /** Cool-down before a released address is reused. Default: the service's `cooldownMs`. */
  cooldownSeconds?: number;
}

export interface PoolUsage {
  spec: PoolSpec & { id: string };
  family: IpFamily;
  /** Assignable addresses: the ranges minus reserved ones. */
  size: bigint;
  /** Assigned (including in-flight assignments). */
  used: number;
  /** Released and not yet reusable (or not yet swept). */
  cooling: number;
  /** Network/gateway/excluded addresses inside the ranges. */
  reserved: bigint;
}

/** The attachment identity of CNI: (network, CNI_CONTAINERID, CNI_IFNAME). */
export interface Handle {
  network: string;
  containerId: string;
  ifName: string;
}

export interface Label {
  key: string;
  value: string;
}

/** One wanted address: from a pool, of a family, or exactly `address`. */
export interface AddressRequest {
  pool?: string;
  family?: IpFamily;
  address?: string;
}

export interface AllocateRequest {
  handle: Handle;
  /** For ReleaseByOwner. Default: `node`. */
  owner?: string;
  /** The asking agent: chooses pools by affinity when `requests` name none. */
  node?: string;
  /** Default: one address per family served by the network. */
  requests?: AddressRequest[];
  groups?: string[];
  labels?: Label[];
}

export interface AssignedAddress {
  pool: string;
  family: IpFamily;
  /** Without prefix, canonical text. */
  address: string;
  prefixLength: number;
  gateway?: string;
}

export interface Lease {
  handle: Handle;
  owner: string;
  node: string;
  addresses: AssignedAddress[];
  /** Fencing token (the store revision of the assignment); strictly grows. */
  epoch: number;
  createdAtMs: number;
  groups: string[];
  labels: Label[];
}

export interface AllocateResult {
  lease: Lease;
  /** True when the handle already held this lease. */
  existing: boolean;
}

export interface ReleaseResult {
  released: Lease[];
  /** An epoch was given and the lease found has another: nothing freed. */
  stale: boolean;
}

export interface LeaseFilter {
  network?: string;
  owner?: string;
  node?: string;
}

export interface GarbageCollectRequest {
  network: string;
  /** Only this node's leases are considered. Default: the whole network. */
  node?: string;
  /** Attachments still in use (containerId + ifName; network is the request's). */
  valid: Array<Pick<Handle, 'containerId' | 'ifName'>>;
}

export interface GarbageCollectResult {
  reclaimed: Lease[];
  suspected: Lease[];
}

/**
 * What the IPAM offers, in process (`createIpamService`) and over gRPC (`createIpamClient`) alike:
 * the node daemon and tests work against either.
 */
export interface IpamApi {
  ensurePool(spec: PoolSpec): Promise<{ pool: PoolUsage; created: boolean }>;
  listPools(network?: string): Promise<PoolUsage[]>;
  allocate(request: AllocateRequest): Promise<AllocateResult>;
  release(handle: Handle, epoch?: number): Promise<ReleaseResult>;
  releaseByOwner(owner: string, network?: string): Promise<ReleaseResult>;
  releaseAddress(network: string, address: string, epoch: number): Promise<ReleaseResult>;
  getLease(handle: Handle): Promise<Lease>;
  listLeases(filter?: LeaseFilter): Promise<Lease[]>;
  garbageCollect(request: GarbageCollectRequest): Promise<GarbageCollectResult>;
}
