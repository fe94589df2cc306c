#!/usr/bin/env -S node --import tsx
// ippc-isolation-node: the node daemon on every agent. Enforces the isolation policy in the
// agent's network namespace (nftables + routes), serves the `ippc-isolation` CNI plugin on a unix
// socket, and keeps the agent's members in step with the isolation service.
import { Command } from 'commander';
import { createLogger, startHttpServer } from '@ippc/core';
import { createIsolationNodeDaemon } from '../node-daemon/node-daemon.js';
import { DEFAULT_NODE_DAEMON_SOCKET } from '../cni/handler.js';
import { installIsolationPlugin, type IsolationPluginFlavor } from '../cni/plugin.js';
import { createIsolationClient } from '../client.js';
import { authFrom, collect, hostPort } from './options.js';

const program = new Command('ippc-isolation-node')
  .description('the isolation node daemon: nftables and routes for this agent, and the ippc-isolation CNI endpoint')
  .requiredOption('--service <address>', 'the isolation service (host:port or unix:/path)')
  .requiredOption('--agent-id <id>', 'this agent (the Mesos agent id or hostname)')
  .option('--node-address <address>', "this agent's address on the cluster network (once per family)", collect, [])
  .option('--subnet <cidr>', 'a container subnet of this agent (repeatable)', collect, [])
  .option('--socket <path>', 'unix socket for the CNI plugin', DEFAULT_NODE_DAEMON_SOCKET)
  .option('--data-dir <dir>', 'checkpoint folder', '/var/lib/ippc/isolation')
  .option('--table <name>', 'nftables table (family inet) of ippc', 'ippc_isolation')
  .option('--route-protocol <n>', 'routing protocol number marking ippc routes', '241')
  .option('--no-routes', 'do not install routes to other agents')
  .option('--netns <path>', 'enforce in this network namespace instead of our own')
  .option('--apply-timeout-ms <ms>', 'how long a CNI ADD waits for local enforcement', '5000')
  .option('--install-plugin <dir>', 'install the ippc-isolation CNI plugin executable into this folder first')
  .option('--plugin-flavor <flavor>', "with --install-plugin: 'native' (static C, needs cc) or 'sh' (sh + curl); default native when cc compiles it")
  .option('--metrics-listen <host:port>', 'also serve /metrics and /health over TCP')
  .option('--token <token>', 'cluster token (default: IPPC_TOKEN)')
  .option('--no-auth', 'call the service without a token (local play only)')
  .action(async (opts: {
    service: string; agentId: string; nodeAddress: string[]; subnet: string[]; socket: string; dataDir: string; table: string;
    routeProtocol: string; routes: boolean; netns?: string; applyTimeoutMs: string; metricsListen?: string; token?: string; auth?: boolean;
    installPlugin?: string; pluginFlavor?: string;
  }) => {
    const log = createLogger({ component: 'isolation-node', base: { agentId: opts.agentId } });
    if (opts.installPlugin) {
      if (opts.pluginFlavor !== undefined && opts.pluginFlavor !== 'native' && opts.pluginFlavor !== 'sh') throw new Error(`--plugin-flavor ${opts.pluginFlavor}: use native or sh`);
      const installed = installIsolationPlugin({ dir: opts.installPlugin, flavor: opts.pluginFlavor as IsolationPluginFlavor | undefined });
      log.info(installed, 'installed the ippc-isolation CNI plugin');
    }
    const client = createIsolationClient({ address: opts.service, auth: authFrom(opts), logger: log });
    const daemon = createIsolationNodeDaemon({
      agent: { id: opts.agentId, nodeAddresses: opts.nodeAddress, subnets: opts.subnet },
      client,
      enforcer: { netns: opts.netns, table: opts.table, routeProtocol: Number(opts.routeProtocol), manageRoutes: opts.routes, logger: log },
      socketPath: opts.socket,
      dataDir: opts.dataDir,
      applyTimeoutMs: Number(opts.applyTimeoutMs),
      logger: log,
    });
    await daemon.start();
    let http: Awaited<ReturnType<typeof startHttpServer>> | undefined;
    if (opts.metricsListen) {
      const [host, port] = hostPort(opts.metricsListen);
      http = await startHttpServer(host, port, { metrics: daemon.metrics, routes: { '/status': () => daemon.status() } });
    }
    // Ready = enforcing: the service's state, or after a restart the state cached from it, is
    // applied (with the checkpoint's members). The socket serves meanwhile, and ADD and DEL work
    // locally while the service is away; a first start waits for the service.
    for (;;) {
      try {
        await daemon.waitForEnforcing(10_000);
        break;
      } catch {
        log.warn('not enforcing yet: no cached state, waiting for the isolation service');
      }
    }
    const st = daemon.status();
    console.log(JSON.stringify({ ready: true, socket: daemon.socketPath, revision: st.appliedRevision, connected: st.connected }));
    const stop = async () => {
      await daemon.close();
      client.close();
      await http?.close();
      process.exit(0);
    };
    process.on('SIGTERM', () => void stop());
    process.on('SIGINT', () => void stop());
  });

program.parseAsync().catch((err: unknown) => {
  console.error(`ippc-isolation-node: ${(err as Error).message}`);
  process.exit(1);
});
