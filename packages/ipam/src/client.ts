import * as grpc from '@grpc/grpc-js';
import { clientOptions, type AuthConfig } from '@ippc/core';
import { ipamv1 } from '@ippc/proto';
import { allocateRequestToWire, gcRequestToWire, handleToWire, leaseFromWire, poolSpecToWire, poolUsageFromWire } from './convert.js';
import { toIpamError } from './errors.js';
import type { IpamApi, ReleaseResult } from './types.js';

export interface IpamClientOptions {
  /** "host:port" of ippc-ipam-server. */
  address: string;
  auth: AuthConfig;
  /** Deadline per call. Default 5000 ms. */
  timeoutMs?: number;
  /**
   * Wait (within the deadline) for the channel to connect instead of failing at once while it is
   * reconnecting. Default true: a CNI ADD or DEL during an IPAM restart then succeeds once the
   * service is back, rather than failing a launch or leaving a DEL undone.
   */
  waitForReady?: boolean;
  /** Extra grpc-js channel options. Default: reconnect backoff from 100 ms up to 1 s (grpc-js: 1 s up to 120 s). */
  channelOptions?: grpc.ClientOptions;
}

export interface IpamClient extends IpamApi {
  close(): void;
}

type Callback<Res> = (err: grpc.ServiceError | null, res: Res) => void;

/**
 * A typed client of the IPAM service. Every method rejects with an {@link IpamError} whose code is
 * the service's (IPAM_POOL_EXHAUSTED, ...), or IPAM_UNAVAILABLE when the service cannot be reached.
 */
export function createIpamClient(options: IpamClientOptions): IpamClient {
  // A restarted service is found again within a second, not after grpc-js's growing backoff.
  const channel = {
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 1000,
    'grpc.min_reconnect_backoff_ms': 1000,
    ...options.channelOptions,
  };
  const client = new ipamv1.IpamClient(options.address, grpc.credentials.createInsecure(), clientOptions(options.auth, channel));
  const timeout = options.timeoutMs ?? 5_000;
  const waitForReady = options.waitForReady ?? true;
  function call<Req, Res>(
    method: (req: Req, md: grpc.Metadata, opts: Partial<grpc.CallOptions>, cb: Callback<Res>) => grpc.ClientUnaryCall,
    req: Req,
  ): Promise<Res> {
    return new Promise((resolve, reject) => {
      method.call(client, req, new grpc.Metadata({ waitForReady }), { deadline: Date.now() + timeout }, (err, res) =>
        err ? reject(toIpamError(err)) : resolve(res),
      );
    });
  }
  const released = (r: ipamv1.ReleaseResponse): ReleaseResult => ({ released: r.released.map(leaseFromWire), stale: r.stale ?? false });
  return {
    async ensurePool(spec) {
      const r = await call(client.ensurePool, { spec: poolSpecToWire(spec) });
      return { pool: poolUsageFromWire(r.pool ?? {}), created: r.created ?? false };
    },
    async listPools(network) {
      return (await call(client.listPools, { network: network ?? '' })).pools.map(poolUsageFromWire);
    },
    async allocate(request) {
      const r = await call(client.allocate, allocateRequestToWire(request));
      return { lease: leaseFromWire(r.lease), existing: r.existing ?? false };
    },
    async release(handle, epoch) {
      return released(await call(client.release, { handle: handleToWire(handle), epoch: epoch ?? 0 }));
    },
    async releaseByOwner(owner, network) {
      return released(await call(client.releaseByOwner, { owner, network: network ?? '' }));
    },
    async releaseAddress(network, address, epoch) {
      return released(await call(client.releaseAddress, { network, address, epoch }));
    },
    async getLease(handle) {
      return leaseFromWire(await call(client.getLease, { handle: handleToWire(handle) }));
    },
    async listLeases(filter = {}) {
      return (await call(client.listLeases, { network: filter.network ?? '', owner: filter.owner ?? '', node: filter.node ?? '' })).leases.map(leaseFromWire);
    },
    async garbageCollect(request) {
      const r = await call(client.garbageCollect, gcRequestToWire(request));
      return { reclaimed: r.reclaimed.map(leaseFromWire), suspected: r.suspected.map(leaseFromWire) };
    },
    close: () => client.close(),
  };
}
