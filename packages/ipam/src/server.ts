import type { handleUnaryCall, sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { createGrpcServer, startHttpServer, toServiceError, type AuthConfig, type IppcGrpcServer, type Logger, type StartedHttpServer } from '@ippc/core';
import { ipamv1 } from '@ippc/proto';
import { allocateRequestFromWire, gcRequestFromWire, handleFromWire, leaseToWire, poolSpecFromWire, poolUsageToWire } from './convert.js';
import type { IpamService } from './service.js';
import type { ReleaseResult } from './types.js';

export interface IpamServerOptions {
  service: IpamService;
  auth: AuthConfig;
  logger?: Logger;
}

export interface IpamServer {
  grpc: IppcGrpcServer;
  /** Binds gRPC (e.g. "127.0.0.1:0"); resolves the port. Health turns SERVING once the state is loaded. */
  listen(address: string): Promise<number>;
  /** Serves `/metrics` (Prometheus) and `/health` over HTTP; resolves the port. */
  listenHttp(host: string, port: number): Promise<number>;
  close(): Promise<void>;
}

/** The gRPC service name, as reported by the health service. */
export const IPAM_SERVICE_NAME = 'ippc.ipam.v1.Ipam';

function unary<Req, Res>(fn: (req: Req) => Promise<Res>): handleUnaryCall<Req, Res> {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    fn(call.request).then(
      (res) => callback(null, res),
      (err: unknown) => callback(toServiceError(err)),
    );
  };
}

const releaseToWire = (r: ReleaseResult): ipamv1.ReleaseResponse => ({ released: r.released.map(leaseToWire), stale: r.stale });

/** Exposes an {@link IpamService} over gRPC (auth + health from @ippc/core) and metrics over HTTP. */
export function createIpamServer(options: IpamServerOptions): IpamServer {
  const { service } = options;
  const grpc = createGrpcServer({ auth: options.auth, healthServices: [IPAM_SERVICE_NAME] });
  const impl: ipamv1.IpamServer = {
    ensurePool: unary(async (req: ipamv1.EnsurePoolRequest) => {
      const r = await service.ensurePool(poolSpecFromWire(req.spec));
      return { pool: poolUsageToWire(r.pool), created: r.created };
    }),
    listPools: unary(async (req: ipamv1.ListPoolsRequest) => ({ pools: (await service.listPools(req.network || undefined)).map(poolUsageToWire) })),
    allocate: unary(async (req: ipamv1.AllocateRequest) => {
      const r = await service.allocate(allocateRequestFromWire(req));
      return { lease: leaseToWire(r.lease), existing: r.existing };
    }),
    release: unary(async (req: ipamv1.ReleaseRequest) => releaseToWire(await service.release(handleFromWire(req.handle), req.epoch || undefined))),
    releaseByOwner: unary(async (req: ipamv1.ReleaseByOwnerRequest) => releaseToWire(await service.releaseByOwner(req.owner ?? '', req.network || undefined))),
    releaseAddress: unary(async (req: ipamv1.ReleaseAddressRequest) =>
      releaseToWire(await service.releaseAddress(req.network ?? '', req.address ?? '', req.epoch ?? 0)),
    ),
    getLease: unary(async (req: ipamv1.GetLeaseRequest) => leaseToWire(await service.getLease(handleFromWire(req.handle)))),
    listLeases: unary(async (req: ipamv1.ListLeasesRequest) => ({
      leases: (await service.listLeases({ network: req.network || undefined, owner: req.owner || undefined, node: req.node || undefined })).map(leaseToWire),
    })),
    garbageCollect: unary(async (req: ipamv1.GarbageCollectRequest) => {
      const r = await service.garbageCollect(gcRequestFromWire(req));
      return { reclaimed: r.reclaimed.map(leaseToWire), suspected: r.suspected.map(leaseToWire) };
    }),
  };
  grpc.server.addService(ipamv1.IpamService, impl);
  let http: StartedHttpServer | undefined;
  return {
    grpc,
    async listen(address) {
      const port = await grpc.listen(address);
      service.ready().then(
        () => grpc.setHealth(IPAM_SERVICE_NAME, 'SERVING'),
        (err: unknown) => options.logger?.error({ err: (err as Error).message }, 'IPAM state could not be loaded; staying NOT_SERVING'),
      );
      return port;
    },
    async listenHttp(host, port) {
      http = await startHttpServer(host, port, {
        metrics: service.metrics,
        health: async () => {
          await service.ready();
          return { status: 'ok', store: service.store.kind };
        },
      });
      return http.port;
    },
    async close() {
      await grpc.close();
      await http?.close();
    },
  };
}
