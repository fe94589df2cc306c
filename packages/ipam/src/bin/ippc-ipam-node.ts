#!/usr/bin/env -S node --max-semi-space-size=1 --import tsx
// ippc-ipam-node: the node daemon behind the `ippc-ipam` CNI IPAM plugin, run alone (the agent
// embeds the same library, createIpamNodeDaemon).
//
//   node --max-semi-space-size=1 --import tsx packages/ipam/src/bin/ippc-ipam-node.ts --service HOST:PORT [--socket PATH]
//        [--node NAME] [--install-plugin DIR [--flavor native|sh]] [--no-auth]
//
// --max-semi-space-size=1 (also in the hashbang): V8's default 16 MiB young generation makes each
// scavenge pause a call for 5-12 ms on a small VM, 1 MiB makes it 0.6-0.9 ms at the same total GC
// time; the CNI ADD path's tail is what this daemon is for (figures: packages/ipam/README.md).
//
// Token: IPPC_TOKEN. Prints one JSON line {"socket"} on standard output once listening.
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { createLogger } from '@ippc/core';
import { createIpamClient } from '../client.js';
import { DEFAULT_DAEMON_SOCKET, createIpamNodeDaemon } from '../cni/node-daemon.js';
import { installIpamPlugin, type PluginFlavor } from '../cni/plugin.js';

const log = createLogger({ component: 'ipam-node' });

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      service: { type: 'string' },
      socket: { type: 'string', default: DEFAULT_DAEMON_SOCKET },
      node: { type: 'string', default: hostname() },
      'install-plugin': { type: 'string' },
      flavor: { type: 'string' },
      'no-auth': { type: 'boolean' },
    },
  });
  if (!values.service) throw new Error('--service HOST:PORT (the ippc-ipam-server address) is required');
  const auth = values['no-auth'] ? { disabled: true as const } : process.env.IPPC_TOKEN ? { token: process.env.IPPC_TOKEN } : undefined;
  if (!auth) throw new Error('no credentials: set IPPC_TOKEN, or pass --no-auth for local play');
  if (values['install-plugin']) {
    const installed = installIpamPlugin({ dir: values['install-plugin'], flavor: values.flavor as PluginFlavor | undefined });
    log.info(installed, 'installed the ippc-ipam CNI plugin');
  }
  const ipam = createIpamClient({ address: values.service, auth });
  const daemon = createIpamNodeDaemon({ ipam, socketPath: values.socket, node: values.node, logger: log });
  await daemon.start();
  process.stdout.write(JSON.stringify({ socket: daemon.socketPath, node: values.node }) + '\n');
  const stop = async () => {
    await daemon.close();
    ipam.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

main().catch((err: unknown) => {
  process.stderr.write(`ippc-ipam-node: ${(err as Error).message}\n`);
  process.exit(1);
});
