import type { ipamv1 } from '@ippc/proto';
import type { IpFamily } from '@ippc/core';
import type { AddressRequest, AllocateRequest, AssignedAddress, GarbageCollectRequest, Handle, Label, Lease, PoolSpec, PoolUsage, RangeSpec } from './types.js';

// Domain <-> wire. proto3 strings arrive as '' or undefined; the domain uses undefined for "not given".

const opt = (s: string | undefined): string | undefined => (s === undefined || s === '' ? undefined : s);

export function rangeToWire(r: RangeSpec): ipamv1.Range {
  return { subnet: r.subnet, rangeStart: r.rangeStart ?? '', rangeEnd: r.rangeEnd ?? '', gateway: r.gateway ?? '' };
}

export function rangeFromWire(r: ipamv1.Range): RangeSpec {
  return { subnet: r.subnet ?? '', rangeStart: opt(r.rangeStart), rangeEnd: opt(r.rangeEnd), gateway: opt(r.gateway) };
}

export function poolSpecToWire(s: PoolSpec): ipamv1.PoolSpec {
  return {
    network: s.network,
    id: s.id ?? '',
    ranges: s.ranges.map(rangeToWire),
    node: s.node ?? '',
    exclude: s.exclude ?? [],
    ...(s.cooldownSeconds !== undefined ? { cooldownSeconds: s.cooldownSeconds } : {}),
  };
}

export function poolSpecFromWire(s: ipamv1.PoolSpec | undefined): PoolSpec {
  return {
    network: s?.network ?? '',
    id: opt(s?.id),
    ranges: (s?.ranges ?? []).map(rangeFromWire),
    node: opt(s?.node),
    exclude: s?.exclude && s.exclude.length > 0 ? s.exclude : undefined,
    cooldownSeconds: s?.cooldownSeconds,
  };
}

export function poolUsageToWire(u: PoolUsage): ipamv1.PoolUsage {
  return { spec: poolSpecToWire(u.spec), family: u.family, size: u.size.toString(), used: u.used, cooling: u.cooling, reserved: Number(u.reserved) };
}

export function poolUsageFromWire(u: ipamv1.PoolUsage): PoolUsage {
  const spec = poolSpecFromWire(u.spec);
  return {
    spec: { ...spec, id: spec.id ?? '' },
    family: (u.family ?? 4) as IpFamily,
    size: BigInt(u.size || '0'),
    used: u.used ?? 0,
    cooling: u.cooling ?? 0,
    reserved: BigInt(u.reserved ?? 0),
  };
}

export function handleToWire(h: Handle): ipamv1.Handle {
  return { network: h.network, containerId: h.containerId, ifName: h.ifName };
}

export function handleFromWire(h: ipamv1.Handle | undefined): Handle {
  return { network: h?.network ?? '', containerId: h?.containerId ?? '', ifName: h?.ifName ?? '' };
}

const labelFromWire = (l: ipamv1.Label): Label => ({ key: l.key ?? '', value: l.value ?? '' });

export function addressToWire(a: AssignedAddress): ipamv1.AssignedAddress {
  return { pool: a.pool, family: a.family, address: a.address, prefixLength: a.prefixLength, gateway: a.gateway ?? '' };
}

export function addressFromWire(a: ipamv1.AssignedAddress): AssignedAddress {
  return { pool: a.pool ?? '', family: (a.family ?? 4) as IpFamily, address: a.address ?? '', prefixLength: a.prefixLength ?? 0, gateway: opt(a.gateway) };
}

export function leaseToWire(l: Lease): ipamv1.Lease {
  return {
    handle: handleToWire(l.handle),
    owner: l.owner,
    node: l.node,
    addresses: l.addresses.map(addressToWire),
    epoch: l.epoch,
    createdAtMs: l.createdAtMs,
    groups: l.groups,
    labels: l.labels,
  };
}

export function leaseFromWire(l: ipamv1.Lease | undefined): Lease {
  return {
    handle: handleFromWire(l?.handle),
    owner: l?.owner ?? '',
    node: l?.node ?? '',
    addresses: (l?.addresses ?? []).map(addressFromWire),
    epoch: l?.epoch ?? 0,
    createdAtMs: l?.createdAtMs ?? 0,
    groups: l?.groups ?? [],
    labels: (l?.labels ?? []).map(labelFromWire),
  };
}

const addressRequestFromWire = (r: ipamv1.AddressRequest): AddressRequest => ({
  pool: opt(r.pool),
  family: r.family ? (r.family as IpFamily) : undefined,
  address: opt(r.address),
});

export function allocateRequestToWire(r: AllocateRequest): ipamv1.AllocateRequest {
  return {
    handle: handleToWire(r.handle),
    owner: r.owner ?? '',
    node: r.node ?? '',
    requests: (r.requests ?? []).map((q) => ({ pool: q.pool ?? '', family: q.family ?? 0, address: q.address ?? '' })),
    groups: r.groups ?? [],
    labels: r.labels ?? [],
  };
}

export function allocateRequestFromWire(r: ipamv1.AllocateRequest): AllocateRequest {
  return {
    handle: handleFromWire(r.handle),
    owner: opt(r.owner),
    node: opt(r.node),
    requests: (r.requests ?? []).map(addressRequestFromWire),
    groups: r.groups ?? [],
    labels: (r.labels ?? []).map(labelFromWire),
  };
}

export function gcRequestToWire(r: GarbageCollectRequest): ipamv1.GarbageCollectRequest {
  return { network: r.network, node: r.node ?? '', valid: r.valid.map((v) => ({ network: r.network, containerId: v.containerId, ifName: v.ifName })) };
}

export function gcRequestFromWire(r: ipamv1.GarbageCollectRequest): GarbageCollectRequest {
  return { network: r.network ?? '', node: opt(r.node), valid: (r.valid ?? []).map((v) => ({ containerId: v.containerId ?? '', ifName: v.ifName ?? '' })) };
}
