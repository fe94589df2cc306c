import type { ClusterHandle } from '../../../cluster-handle.js';
import type { NodeHandle } from '../../../node.js';
import type { CreateContext } from '../../context.js';
import { settleAll } from '../../settle-all.js';

// Readiness by protocol, never by sleeping: each daemon's probe (gRPC health or `/health`), then
// every agent active in `/master/state`.

/** The `services` phase: the master, the IPAM, the isolation provider and DNS answer their protocols. */
export async function waitForServices(ctx: CreateContext, cluster: ClusterHandle): Promise<void> {
  const { deadline, mark } = ctx;
  await settleAll(
    [cluster.master, cluster.ipam, cluster.isolation, cluster.dns].map((svc) =>
      (svc.node as NodeHandle).waitReady(svc.daemon, deadline).then(() => mark(`${svc.daemon} ready at`)),
    ),
  );
}

/** The `agents` phase: every agent answers and is registered and active at the master. */
export async function waitForAgents(ctx: CreateContext, cluster: ClusterHandle): Promise<void> {
  const { deadline, mark } = ctx;
  await settleAll(cluster.agents.map((a) => (a as unknown as NodeHandle).waitReady('agent', deadline).then(() => mark(`${a.name} ready at`))));
  await cluster.waitForAgents({ timeoutMs: Math.max(1000, deadline - Date.now()) });
}
