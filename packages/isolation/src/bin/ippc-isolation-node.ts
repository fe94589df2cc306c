#!/usr/bin/env -S node --import tsx
// ippc-isolation-node: the node daemon on every agent. Enforces the isolation policy in the
// agent's network namespace (nftables + routes), serves the `ippc-isolation` CNI plugin on a unix
// socket, and keeps the agent's members in step with the isolation service.
import { Option } from 'commander';
import {
  FlagError,
  checkedOption,
  createDaemonCommand,
  createLogger,
  daemonAuth,
  exitBadFlag,
  listenAddress,
  listenOption,
  loggerLevel,
  loggingLevelOption,
  noAuthOption,
  startHttpServer,
  tokenFileOption,
} from '@ippc/core';
import { parseDuration } from '@ippc/mesos';
import { createIsolationNodeDaemon } from '../node-daemon/node-daemon.js';
import { DEFAULT_NODE_DAEMON_SOCKET } from '../cni/handler.js';
import { installIsolationPlugin, type IsolationPluginFlavor } from '../cni/plugin.js';
import { createIsolationClient } from '../client.js';

/** Collects a repeatable flag into a list. */
const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

interface Flags {
  service: string;
  agent_id: string;
  node_address: string[];
  subnet: string[];
  socket: string;
  data_dir: string;
  table: string;
  route_protocol: string;
  no_routes: boolean;
  netns?: string;
  apply_timeout: string;
  install_plugin?: string;
  plugin_flavor?: IsolationPluginFlavor;
  metrics_listen?: string;
  token_file?: string;
  no_auth: boolean;
  logging_level: string;
}

const program = createDaemonCommand('ippc-isolation-node', 'the isolation node daemon: nftables and routes for this agent, and the ippc-isolation CNI endpoint')
  .addOption(new Option('--service <address>', 'the isolation service (host:port or unix:/path)').makeOptionMandatory())
  .addOption(new Option('--agent_id <id>', 'this agent (the Mesos agent id or hostname)').makeOptionMandatory())
  .addOption(new Option('--node_address <address>', "this agent's address on the cluster network (once per family)").argParser(collect).default([]))
  .addOption(new Option('--subnet <cidr>', 'a container subnet of this agent (repeatable)').argParser(collect).default([]))
  .addOption(new Option('--socket <path>', 'unix socket for the CNI plugin').default(DEFAULT_NODE_DAEMON_SOCKET))
  .addOption(new Option('--data_dir <dir>', 'checkpoint folder').default('/var/lib/ippc/isolation'))
  .addOption(new Option('--table <name>', 'nftables table (family inet) of ippc').default('ippc_isolation'))
  .addOption(new Option('--route_protocol <n>', 'routing protocol number marking ippc routes').default('241'))
  .addOption(new Option('--no_routes', 'do not install routes to other agents').default(false))
  .addOption(new Option('--netns <path>', 'enforce in this network namespace instead of our own'))
  .addOption(checkedOption('--apply_timeout <duration>', 'how long a CNI ADD waits for local enforcement', parseDuration).default('5secs'))
  .addOption(new Option('--install_plugin <dir>', 'install the ippc-isolation CNI plugin executable into this folder first'))
  .addOption(
    new Option(
      '--plugin_flavor <flavor>',
      "with --install_plugin: 'native' (static C, needs cc) or 'sh' (sh + curl); default native when cc compiles it",
    ).choices(['native', 'sh']),
  )
  .addOption(listenOption('--metrics_listen <host:port>', 'also serve /metrics and /health over TCP'))
  .addOption(tokenFileOption())
  .addOption(noAuthOption('call the service without the shared secret (local play only)'))
  .addOption(loggingLevelOption())
  .action(async (opts: Flags) => {
    const log = createLogger({ component: 'isolation-node', level: loggerLevel(opts.logging_level), base: { agentId: opts.agent_id } });
    const auth = daemonAuth(opts);
    if (opts.install_plugin) {
      const installed = installIsolationPlugin({ dir: opts.install_plugin, flavor: opts.plugin_flavor });
      log.info(installed, 'installed the ippc-isolation CNI plugin');
    }
    const client = createIsolationClient({ address: opts.service, auth, logger: log });
    const daemon = createIsolationNodeDaemon({
      agent: { id: opts.agent_id, nodeAddresses: opts.node_address, subnets: opts.subnet },
      client,
      enforcer: { netns: opts.netns, table: opts.table, routeProtocol: Number(opts.route_protocol), manageRoutes: !opts.no_routes, logger: log },
      socketPath: opts.socket,
      dataDir: opts.data_dir,
      applyTimeoutMs: parseDuration(opts.apply_timeout),
      logger: log,
    });
    await daemon.start();
    let http: Awaited<ReturnType<typeof startHttpServer>> | undefined;
    const metricsListen = listenAddress(opts.metrics_listen);
    if (metricsListen) {
      http = await startHttpServer(metricsListen.host, metricsListen.port, { metrics: daemon.metrics, routes: { '/status': () => daemon.status() } });
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
  if (err instanceof FlagError) exitBadFlag(program, err.message);
  console.error(`ippc-isolation-node: ${(err as Error).message}`);
  process.exit(1);
});
