import type { AuthConfig } from '@ippc/core';
import type { StartedCluster } from '../cluster.js';
import { ClusterHandle } from '../cluster-handle.js';
import { createNetworks } from './actions/networks/networks.js';
import { startNodes } from './actions/nodes/nodes.js';
import { prepare } from './actions/prepare/prepare.js';
import { startSessionReaper } from './actions/reaper/session-reaper.js';
import { waitForAgents, waitForServices } from './actions/wait-for-ready/wait-for-ready.js';
import { createContext } from './context.js';
import type { StartClusterOptions } from './options.js';
import { removeStarted, rollBack } from './rollback.js';

/**
 * Starts a cluster: a master, `agents` agents (NET_ADMIN + SYS_ADMIN, the Docker socket, CNI
 * configs), the IPAM service, the isolation provider and DNS, each in a container of the node
 * image on a cluster network of its own, each running its bundled daemon from the workspace
 * mounted read-only. Resolves once every component answers its protocol and every agent is
 * registered; a failed start leaves nothing behind (unless `retainOnFailure`).
 *
 * @example
 * ```ts
 * await using cluster = await startCluster({ agents: 3 });
 * const scheduler = await cluster.connectScheduler({ framework: { name: 'my-tests' } });
 * ```
 */
export async function startCluster(options: StartClusterOptions = {}): Promise<StartedCluster> {
  // Ryuk cannot be pulled here; the session reaper below plays its part.
  if (!process.env.RYUK_CONTAINER_IMAGE) process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  const ctx = createContext(options);
  const { image, plan } = await ctx.phase('prepare', () => prepare(ctx));

  // The reaper first: from here on, whatever this session creates goes if this process dies.
  const reaper = startSessionReaper(ctx, image);
  try {
    const net = await ctx.phase('network', () => createNetworks(ctx, plan));
    const nodes = await startNodes(ctx, image, plan);
    await reaper.ready;
    const auth: AuthConfig = ctx.token ? { token: ctx.token } : { disabled: true };
    const cluster = new ClusterHandle({
      docker: ctx.docker,
      config: ctx.config,
      nodes,
      agentLayout: new Map(plan.nodes.filter((n) => n.role === 'agent').map((n) => [n.index ?? 0, n])),
      network: net.cluster,
      dockerNetworks: net.docker,
      auth,
    });
    await ctx.phase('services', () => waitForServices(ctx, cluster));
    await ctx.phase('agents', () => waitForAgents(ctx, cluster));
    const readyAfterMs = Math.round(performance.now() - ctx.t0);
    options.log?.info({ cluster: ctx.config.name, readyAfterMs, timings: ctx.timings }, 'cluster ready');
    const stop = () => removeStarted(ctx, reaper);
    return Object.assign(cluster, {
      readyAfterMs,
      timings: ctx.timings,
      stop,
      [Symbol.asyncDispose]: async () => {
        await stop();
      },
    }) as unknown as StartedCluster;
  } catch (err) {
    // Keep the nodes for debugging; the reaper connection goes with this process unless released.
    if (options.retainOnFailure) throw err;
    throw await rollBack(ctx, reaper, err);
  }
}
