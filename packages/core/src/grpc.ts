import { timingSafeEqual } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { HealthImplementation, protoPath as healthProtoPath, type ServingStatus } from 'grpc-health-check';
import { IppcError } from './errors.js';

/**
 * How a component authenticates its gRPC peers: a shared secret sent as
 * `authorization: Bearer <token>`. Authentication is on unless explicitly disabled for local play
 * (`{ disabled: true }`); a component started without either refuses to start.
 */
export type AuthConfig = { token: string } | { disabled: true };

/** Methods anyone may call: health checks must work before a peer has credentials. */
const OPEN_METHODS = ['/grpc.health.v1.Health/'];

/**
 * Whether an `authorization` header carries the cluster's shared secret (`Bearer <token>`); always
 * true when authentication is disabled. Compared in constant time. gRPC and HTTP edges share it.
 */
export function bearerAuthorizes(auth: AuthConfig, header: string | undefined): boolean {
  return 'disabled' in auth || tokenMatches(auth.token, header);
}

function tokenMatches(expected: string, header: string | undefined): boolean {
  if (!header?.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice('Bearer '.length));
  const want = Buffer.from(expected);
  return given.length === want.length && timingSafeEqual(given, want);
}

/** A server interceptor that refuses calls without the shared secret (UNAUTHENTICATED). */
export function authServerInterceptor(auth: AuthConfig): grpc.ServerInterceptor {
  return (methodDescriptor, call) => {
    if ('disabled' in auth || OPEN_METHODS.some((m) => methodDescriptor.path.startsWith(m))) return new grpc.ServerInterceptingCall(call);
    return new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, mdNext) => {
            const header = metadata.get('authorization')[0];
            if (!tokenMatches(auth.token, typeof header === 'string' ? header : undefined)) {
              call.sendStatus({
                code: grpc.status.UNAUTHENTICATED,
                details: 'missing or wrong credentials: pass the cluster token (authorization: Bearer <token>)',
                metadata: new grpc.Metadata(),
              });
              return;
            }
            mdNext(metadata);
          },
        });
      },
    });
  };
}

/** A client interceptor that sends the shared secret on every call. */
export function authClientInterceptor(auth: AuthConfig): grpc.Interceptor {
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start: (metadata, listener, next) => {
        if (!('disabled' in auth)) metadata.set('authorization', `Bearer ${auth.token}`);
        next(metadata, listener);
      },
    });
}

/** Client options carrying credentials, for any ts-proto generated client constructor. */
export function clientOptions(auth: AuthConfig, extra: grpc.ClientOptions = {}): grpc.ClientOptions {
  return { ...extra, interceptors: [...(extra.interceptors ?? []), authClientInterceptor(auth)] };
}

export interface GrpcServerOptions {
  auth: AuthConfig;
  /** Service names reported by the health service; '' (the whole server) is always included. */
  healthServices?: string[];
  options?: grpc.ServerOptions;
}

/** A gRPC server with authentication and the standard health service (`grpc.health.v1`). */
export interface IppcGrpcServer {
  server: grpc.Server;
  /** Set the health of a service ('' = the whole server). */
  setHealth(service: string, status: ServingStatus): void;
  /** Binds and starts; returns the bound port (useful with port 0). */
  listen(address: string): Promise<number>;
  /** Graceful stop, then forced after `graceMs`. */
  close(graceMs?: number): Promise<void>;
}

export function createGrpcServer(options: GrpcServerOptions): IppcGrpcServer {
  if (!options.auth) throw new IppcError('CONFIG_INVALID', grpc.status.INVALID_ARGUMENT, 'gRPC server needs auth: a token, or { disabled: true } explicitly');
  const server = new grpc.Server({ ...options.options, interceptors: [authServerInterceptor(options.auth), ...(options.options?.interceptors ?? [])] });
  const statusMap: Record<string, ServingStatus> = { '': 'NOT_SERVING' };
  for (const s of options.healthServices ?? []) statusMap[s] = 'NOT_SERVING';
  const health = new HealthImplementation(statusMap);
  health.addToServer(server);
  return {
    server,
    setHealth: (service, status) => health.setStatus(service, status),
    listen: (address) =>
      new Promise((resolve, reject) => {
        server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) => {
          if (err) reject(new IppcError('LISTEN_FAILED', grpc.status.UNAVAILABLE, `cannot listen on ${address}: ${err.message}`, { cause: err }));
          else {
            health.setStatus('', 'SERVING');
            resolve(port);
          }
        });
      }),
    close: (graceMs = 2_000) =>
      new Promise((resolve) => {
        health.setStatus('', 'NOT_SERVING');
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

interface HealthClient extends grpc.Client {
  check(req: { service: string }, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void): void;
}
let healthCtor: (new (address: string, creds: grpc.ChannelCredentials) => HealthClient) | undefined;

/** Asks a server's standard health service; resolves 'SERVING', 'NOT_SERVING', ... or rejects. */
export async function checkHealth(address: string, service = '', deadlineMs = 2_000): Promise<string> {
  if (!healthCtor) {
    const def = protoLoader.loadSync(healthProtoPath, { enums: String, keepCase: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { health: { v1: { Health: typeof healthCtor } } } };
    healthCtor = pkg.grpc.health.v1.Health;
  }
  const client = new healthCtor!(address, grpc.credentials.createInsecure());
  try {
    return await new Promise((resolve, reject) =>
      client.check({ service }, { deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(err) : resolve(res?.status ?? 'UNKNOWN'))),
    );
  } finally {
    client.close();
  }
}
