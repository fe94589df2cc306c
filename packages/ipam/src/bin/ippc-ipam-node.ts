#!/usr/bin/env -S node --max-semi-space-size=1 --import tsx
// ippc-ipam-node: the node daemon behind the `ippc-ipam` CNI IPAM plugin, run alone (the agent
// embeds the same library, createIpamNodeDaemon).
//
//   node --max-semi-space-size=1 --import tsx packages/ipam/src/bin/ippc-ipam-node.ts --service=HOST:PORT [--socket=PATH]
//        [--node=NAME] [--install_plugin=DIR [--flavor=native|sh]] [--token_file=PATH | --no_auth] [--logging_level=INFO]
//
// --max-semi-space-size=1 (also in the hashbang): V8's default 16 MiB young generation makes each
// scavenge pause a call for 5-12 ms on a small VM, 1 MiB makes it 0.6-0.9 ms at the same total GC
// time; the CNI ADD path's tail is what this daemon is for (figures: packages/ipam/README.md).
//
// Token: --token_file, else IPPC_TOKEN. Prints one JSON line {"socket"} on standard output once listening.
import { hostname } from 'node:os';
import { Option } from 'commander';
import {
  FlagError,
  createDaemonCommand,
  createLogger,
  daemonAuth,
  exitBadFlag,
  loggerLevel,
  loggingLevelOption,
  noAuthOption,
  tokenFileOption,
} from '@ippc/core';
import { createIpamClient } from '../client.js';
import { DEFAULT_DAEMON_SOCKET, createIpamNodeDaemon } from '../cni/node-daemon.js';
import { installIpamPlugin, type PluginFlavor } from '../cni/plugin.js';

const program = createDaemonCommand('ippc-ipam-node', 'The IPAM node daemon: serves the ippc-ipam CNI plugin on a unix socket, leasing from the IPAM service.')
  .addOption(new Option('--service <host:port>', 'the ippc-ipam-server address').makeOptionMandatory())
  .addOption(new Option('--socket <path>', 'unix socket of the ippc-ipam plugin').default(DEFAULT_DAEMON_SOCKET))
  .addOption(new Option('--node <name>', 'this node on leases').default(hostname(), "this machine's host name"))
  .addOption(new Option('--install_plugin <dir>', 'install the ippc-ipam CNI plugin executable into this folder first'))
  .addOption(
    new Option('--flavor <flavor>', "with --install_plugin: 'native' (static C, needs cc) or 'sh' (sh + curl); default native when cc compiles it").choices([
      'native',
      'sh',
    ]),
  )
  .addOption(tokenFileOption())
  .addOption(noAuthOption('call the service without the shared secret (local play only)'))
  .addOption(loggingLevelOption());

interface Flags {
  service: string;
  socket: string;
  node: string;
  install_plugin?: string;
  flavor?: PluginFlavor;
  token_file?: string;
  no_auth: boolean;
  logging_level: string;
}

program.parse();
const flags = program.opts<Flags>();
const log = createLogger({ component: 'ipam-node', level: loggerLevel(flags.logging_level) });

async function main(): Promise<void> {
  const auth = daemonAuth(flags);
  if (flags.install_plugin) {
    const installed = installIpamPlugin({ dir: flags.install_plugin, flavor: flags.flavor });
    log.info(installed, 'installed the ippc-ipam CNI plugin');
  }
  const ipam = createIpamClient({ address: flags.service, auth });
  const daemon = createIpamNodeDaemon({ ipam, socketPath: flags.socket, node: flags.node, logger: log });
  await daemon.start();
  process.stdout.write(JSON.stringify({ socket: daemon.socketPath, node: flags.node }) + '\n');
  const stop = async () => {
    await daemon.close();
    ipam.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

main().catch((err: unknown) => {
  if (err instanceof FlagError) exitBadFlag(program, err.message);
  process.stderr.write(`ippc-ipam-node: ${(err as Error).message}\n`);
  process.exit(1);
});
